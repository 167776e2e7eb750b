-- Sync: resolutions, what the server refused and why, the conflicts it reports, uploads.

-- The conflict a change resolves, when it is a resolution.
ALTER TABLE change_log ADD COLUMN resolves TEXT;
-- Why the server refused this device's change (sync_state 'quarantined').
ALTER TABLE change_log ADD COLUMN refusal TEXT;

-- The open conflicts the server reported on the last pull (a ConflictView as JSON).
CREATE TABLE conflict (
    id   TEXT PRIMARY KEY,
    view TEXT NOT NULL
) STRICT;

-- Evidence files the server has confirmed, whole and verified.
CREATE TABLE evidence_upload (
    hash        TEXT PRIMARY KEY,
    uploaded_at TEXT NOT NULL
) STRICT;
