-- Deadline warnings: the projection of `deadline_approaching` entries. The
-- primary key records each warning once per dispute and rung, whatever races
-- the sweeper.
CREATE TABLE deadline_warnings (
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    rung TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    seq BIGINT NOT NULL UNIQUE REFERENCES ledger_entries (seq),
    PRIMARY KEY (dispute_id, rung)
);
