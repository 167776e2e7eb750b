-- Changes this laptop received by hand (a sheet file from a USB stick) that the server may not
-- have yet: the next sync relays them, each signed by its author's device (docs/signing.md).
CREATE TABLE relay_outbox (
    change_id TEXT PRIMARY KEY
);
