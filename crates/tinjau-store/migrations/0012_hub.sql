-- A visit's hub (docs/hub.md): which of this laptop's changes each hub has answered. The
-- central server's own record stays in change_log.sync_state, so a change a hub took is still
-- sent to the central server (the hub relays it too; the second copy is a duplicate).
CREATE TABLE hub_push (
    hub       TEXT NOT NULL,
    change_id TEXT NOT NULL,
    PRIMARY KEY (hub, change_id)
) WITHOUT ROWID;
