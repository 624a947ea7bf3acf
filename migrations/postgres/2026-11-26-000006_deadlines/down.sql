DROP TABLE deadline_misses;
ALTER TABLE disputes DROP COLUMN rung_entered_at;
