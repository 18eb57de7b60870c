-- When each snooze row was last written (Unix milliseconds, the writing
-- replica's clock), so that a Recorder can refresh its in-memory copy of
-- the snoozes in force with only the rows written since its last look.
-- Rows from before this migration read 0: the full load at start sees them.

ALTER TABLE snoozes ADD COLUMN written_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX snoozes_by_write ON snoozes (written_at);
