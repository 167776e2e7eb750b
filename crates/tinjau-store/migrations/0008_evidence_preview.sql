-- A photo's preview: a smaller JPEG made when it was attached, which travels before the
-- original. Stored beside the original under its own hash; NULL for files without one.
ALTER TABLE evidence_file ADD COLUMN preview_hash TEXT;
ALTER TABLE evidence_file ADD COLUMN preview_size INTEGER;
CREATE INDEX evidence_file_by_preview ON evidence_file (preview_hash) WHERE preview_hash IS NOT NULL;
