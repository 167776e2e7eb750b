-- Devices the organiser revoked (a lost or stolen laptop): their changes from `from_seq` on are
-- refused here and, carried in every pull, by every laptop (docs/signing.md).
CREATE TABLE device_revocation (
    competition TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    from_seq    BIGINT NOT NULL,
    revoked_at  TEXT NOT NULL,
    PRIMARY KEY (competition, device_id)
);
