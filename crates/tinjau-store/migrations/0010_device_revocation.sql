-- Devices the organiser revoked (a lost or stolen laptop), as the server's pulls carry them:
-- their changes from `from_seq` on are refused here, whatever path they take (a pull, a sheet
-- file).
CREATE TABLE device_revocation (
    device_id TEXT PRIMARY KEY,
    from_seq  INTEGER NOT NULL
);
