-- What no single laptop may break: device chains, refusal codes, evidence scope.

-- Every accepted place in each device's hash chain (quarantined changes included). Changes may
-- arrive in any order, but a position holds one change and neighbours must link: a change that
-- does not fit comes from a copy of a data folder. A device belongs to the juror whose token
-- first pushed it (`device.juror`).
CREATE TABLE device_entry (
    competition TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    PRIMARY KEY (competition, device_id, seq)
);

-- The kind of refusal (a stable code a client acts on), beside its message.
ALTER TABLE quarantine ADD COLUMN code TEXT NOT NULL DEFAULT 'refused';

-- Evidence files the log's records reference: who attached each (the only one who may upload
-- it), at which size, and for which visit (who may see it).
CREATE TABLE evidence_ref (
    competition TEXT NOT NULL,
    hash        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    visit_id    TEXT NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (competition, hash, owner, visit_id)
);
CREATE INDEX evidence_ref_by_hash ON evidence_ref (hash);
