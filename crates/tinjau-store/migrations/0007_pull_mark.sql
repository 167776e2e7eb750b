-- The server's mark of the position pulled up to: sent back with the next pull, it shows a server
-- restored from a backup (its log no longer holds what this laptop saw there).
ALTER TABLE sync_cursor ADD COLUMN mark TEXT;
