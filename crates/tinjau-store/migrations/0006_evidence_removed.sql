-- A juror can take an attached file off its record before submitting (and put it back): the
-- evidence row and the file stay (the audit trail names them); `removed` hides it from views.
ALTER TABLE evidence ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
