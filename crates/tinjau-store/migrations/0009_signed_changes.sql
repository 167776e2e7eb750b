-- Signed changes (docs/signing.md): each entry's device signature (NULL for entries written
-- before signing by devices other than this one; this device's own are signed at the first
-- open after the upgrade).
ALTER TABLE change_log ADD COLUMN signature TEXT;

-- Device registrations this laptop holds: its own (made from its juror's token) and those
-- received with other jurors' changes, each verified before it is kept.
CREATE TABLE device_registration (
    device_id    TEXT PRIMARY KEY,
    juror        TEXT NOT NULL,
    registration TEXT NOT NULL
);

-- Juror identity public keys this laptop trusts: its own juror's (derived from the token) and
-- those the server published.
CREATE TABLE juror_identity (
    juror      TEXT NOT NULL,
    public_key TEXT NOT NULL,
    PRIMARY KEY (juror, public_key)
);
