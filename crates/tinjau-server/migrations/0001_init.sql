-- The server's schema, one for both backends: written for SQLite; PostgreSQL runs it with
-- BLOB read as BYTEA (see postgres.rs).

-- A competition (sync space): its package and the position of the last change in its log.
CREATE TABLE competition (
    id       TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    package  TEXT NOT NULL,
    counter  BIGINT NOT NULL DEFAULT 0
);

-- Tokens are shown once; only their BLAKE3 hash is kept.
CREATE TABLE token (
    hash        TEXT PRIMARY KEY,
    competition TEXT NOT NULL REFERENCES competition (id),
    juror       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('juror', 'lead', 'organiser')),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Every accepted change, in commit order per competition (seq is gapless).
CREATE TABLE change_log (
    competition TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    change_id   TEXT NOT NULL UNIQUE,
    author      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    entity      TEXT NOT NULL,
    visit_id    TEXT,
    entry       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (competition, seq)
);

-- Per-field state (a FieldState as JSON): version, provisional value, open conflict.
CREATE TABLE field_state (
    competition TEXT NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    field       TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (competition, entity, row_id, field)
);

-- Conflicts with every candidate (a ConflictView as JSON).
CREATE TABLE conflict (
    competition TEXT NOT NULL,
    id          TEXT NOT NULL,
    owner       TEXT NOT NULL,
    resolved    INTEGER NOT NULL DEFAULT 0,
    view        TEXT NOT NULL,
    PRIMARY KEY (competition, id)
);

-- Changes refused, with the reason: never applied, never dropped.
CREATE TABLE quarantine (
    competition TEXT NOT NULL,
    change_id   TEXT NOT NULL,
    author      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    entry       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (competition, change_id)
);

CREATE TABLE visit_lock (
    competition TEXT NOT NULL,
    visit_id    TEXT NOT NULL,
    PRIMARY KEY (competition, visit_id)
);

-- Each device's last contact and the clock skew observed then.
CREATE TABLE device (
    competition  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    juror        TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    skew_ms      BIGINT NOT NULL,
    PRIMARY KEY (competition, device_id)
);

-- Evidence files, content-addressed; stored in the database so every instance sees them.
CREATE TABLE blob (
    hash       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    complete   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE blob_chunk (
    hash   TEXT NOT NULL,
    offset_bytes BIGINT NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (hash, offset_bytes)
);
