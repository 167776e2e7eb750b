-- The organiser's console: sign-ins and the history of published revisions.

-- A console sign-in. The cookie holds a random secret; only its BLAKE3 hash is kept, beside the
-- token it was opened with (revoking the token ends the session) and the secret a page must echo
-- in a header on every change it asks for (CSRF). Kept in the database so that every instance
-- knows every session.
CREATE TABLE console_session (
    hash        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL REFERENCES token (hash),
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- Every revision of a package ever published (the competition row holds the current one).
CREATE TABLE package_revision (
    competition  TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    package      TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (competition, revision)
);

-- Revisions published before this table existed: the current one, time unknown.
INSERT INTO package_revision (competition, revision, package, published_at)
SELECT id, revision, package, '' FROM competition;
