-- Sync bookkeeping: the change log doubles as the outbox.
-- pending: not yet acknowledged by a server; inflight: sent, answer not yet recorded
-- (reset to pending when the store opens); acked: the server has it; quarantined: refused.
ALTER TABLE change_log ADD COLUMN sync_state TEXT NOT NULL DEFAULT 'pending'
    CHECK (sync_state IN ('pending', 'inflight', 'acked', 'quarantined'));
CREATE INDEX change_log_unsynced ON change_log (sync_state) WHERE sync_state <> 'acked';

-- How far this store has pulled each sync space.
CREATE TABLE sync_cursor (
    space  TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL
) STRICT;
