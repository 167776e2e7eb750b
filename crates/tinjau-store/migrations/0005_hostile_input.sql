-- Changes received from elsewhere that cannot join the change log: their content does not match
-- their hash, or another change of their device already holds their place in its chain (a data
-- folder copied to another laptop). Kept with the reason, never dropped; `applied` says whether
-- the change was still applied to the records (a copy's change the server accepted is).
CREATE TABLE set_aside (
    change_id   TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    entry       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    applied     INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

-- Devices this data folder has been: when the server says the folder was copied, the store
-- continues as a new device; the earlier ones stay here (their changes stay in the log).
CREATE TABLE retired_device (
    device_id  TEXT PRIMARY KEY,
    retired_at TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;

-- The kind of refusal the server gave (a stable code; `refusal` holds the message).
ALTER TABLE change_log ADD COLUMN refusal_code TEXT;
