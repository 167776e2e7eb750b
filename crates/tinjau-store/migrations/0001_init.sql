-- The juror's store, first schema. Append-only: never edit a migration that has shipped.

-- Device identity, this store's juror, the hybrid logical clock.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The validated competition package, as imported (one competition per store).
CREATE TABLE competition (
    id          TEXT PRIMARY KEY,
    revision    INTEGER NOT NULL CHECK (revision > 0),
    package     TEXT NOT NULL,
    imported_at TEXT NOT NULL
) STRICT;

-- Field records. Each is owned by one juror; the lead's store holds everyone's.
CREATE TABLE score (
    id           TEXT PRIMARY KEY,
    juror_id     TEXT NOT NULL,
    visit_id     TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    value        REAL NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    updated_at   TEXT NOT NULL,
    UNIQUE (juror_id, visit_id, indicator_id)
) STRICT;

CREATE TABLE verification (
    id            TEXT PRIMARY KEY,
    juror_id      TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    innovation_id TEXT NOT NULL,
    verdict       TEXT CHECK (verdict IN ('found', 'partial', 'not_found')),
    note          TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL,
    UNIQUE (juror_id, visit_id, innovation_id)
) STRICT;

CREATE TABLE sheet (
    id           TEXT PRIMARY KEY,
    juror_id     TEXT NOT NULL,
    visit_id     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('draft', 'submitted')),
    updated_at   TEXT NOT NULL,
    UNIQUE (juror_id, visit_id)
) STRICT;

CREATE TABLE conflict_of_interest (
    id             TEXT PRIMARY KEY,
    juror_id       TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    reason         TEXT NOT NULL,
    declared_at    TEXT NOT NULL,
    UNIQUE (juror_id, participant_id)
) STRICT;

CREATE TABLE observation (
    id            TEXT PRIMARY KEY,
    juror_id      TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    innovation_id TEXT,
    text          TEXT NOT NULL,
    observed_at   TEXT NOT NULL
) STRICT;
CREATE INDEX observation_by_visit ON observation (visit_id, observed_at);

-- A file stored once, by content hash, under evidence/<first two hex digits>/<hash>.
CREATE TABLE evidence_file (
    hash        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    captured_at TEXT,
    gps_lat     REAL,
    gps_lon     REAL,
    stored_at   TEXT NOT NULL
) STRICT;

-- A file attached to a verification or an observation.
CREATE TABLE evidence (
    id                 TEXT PRIMARY KEY,
    hash               TEXT NOT NULL REFERENCES evidence_file (hash),
    juror_id           TEXT NOT NULL,
    visit_id           TEXT NOT NULL,
    owner_entity       TEXT NOT NULL CHECK (owner_entity IN ('verification', 'observation')),
    owner_id           TEXT NOT NULL,
    original_name      TEXT NOT NULL,
    outside_visit_date INTEGER NOT NULL,
    attached_at        TEXT NOT NULL
) STRICT;
CREATE INDEX evidence_by_owner ON evidence (owner_id);

-- The version of each field, so a change can say which version it was based on.
CREATE TABLE field_version (
    entity  TEXT NOT NULL,
    row_id  TEXT NOT NULL,
    field   TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (entity, row_id, field)
) STRICT, WITHOUT ROWID;

-- The change log: the audit trail and what sync pushes. Each device's entries form a hash chain.
CREATE TABLE change_log (
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    change_id    TEXT NOT NULL UNIQUE,
    author       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    row_id       TEXT NOT NULL,
    visit_id     TEXT,
    target_id    TEXT,
    field        TEXT NOT NULL,
    value        TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    hlc          TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
