-- The team lead's decisions, and what is needed to receive other devices' changes.

-- Last-writer-wins order of each field: "<hlc>@<device id>" of the change that set it.
ALTER TABLE field_version ADD COLUMN set_by TEXT NOT NULL DEFAULT '';

-- Why the lead reopened a submitted sheet.
ALTER TABLE sheet ADD COLUMN reopen_reason TEXT;

CREATE TABLE tie_break (
    id         TEXT PRIMARY KEY,
    decision   TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
) STRICT;

-- A visit's locked result: its content hash and the result itself, as JSON.
CREATE TABLE visit_lock (
    visit_id  TEXT PRIMARY KEY,
    lock      TEXT NOT NULL,
    locked_by TEXT NOT NULL,
    locked_at TEXT NOT NULL
) STRICT;

CREATE TABLE lead_note (
    visit_id     TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    note         TEXT NOT NULL,
    PRIMARY KEY (visit_id, indicator_id)
) STRICT;

-- Changes received but refused (not the author's to make, or too late): kept in the change log
-- for the audit trail, never applied, listed here with the reason for the lead to see.
CREATE TABLE quarantine (
    change_id   TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
