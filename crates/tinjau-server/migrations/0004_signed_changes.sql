-- Signed changes (docs/signing.md).

-- The juror identity public key each token derives, learnt the first time the token pushes
-- (the server sees the token then; it keeps only the public key, which cannot sign).
ALTER TABLE token ADD COLUMN identity_key TEXT;

-- Every device registration accepted: the device's key, bound to its juror by the juror's
-- identity key. A device has one registration for ever; changes are checked against it.
CREATE TABLE device_registration (
    competition  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    juror        TEXT NOT NULL,
    registration TEXT NOT NULL,
    PRIMARY KEY (competition, device_id)
);

-- The first log position that had to be signed: what the log held before this upgrade was
-- accepted unsigned, and laptops pulling it are told so (and never accept a later claim that
-- reaches further).
ALTER TABLE competition ADD COLUMN signed_from BIGINT NOT NULL DEFAULT 1;
UPDATE competition SET signed_from = counter + 1;
