-- When a dispute entered the rung it is on: its `raised` entry, or its latest
-- `escalated` entry. Deadlines count from here.
ALTER TABLE disputes ADD COLUMN rung_entered_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE disputes SET rung_entered_at = COALESCE(
    (SELECT e.recorded_at FROM ledger_entries e
      WHERE e.dispute_id = disputes.id AND e.event = 'escalated'
      ORDER BY e.seq DESC LIMIT 1),
    opened_at);

-- Missed deadlines: the projection of `deadline_missed` entries. The primary
-- key records each miss once per dispute and rung, whatever races the sweeper.
CREATE TABLE deadline_misses (
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    rung TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    seq BIGINT NOT NULL UNIQUE REFERENCES ledger_entries (seq),
    PRIMARY KEY (dispute_id, rung)
);
