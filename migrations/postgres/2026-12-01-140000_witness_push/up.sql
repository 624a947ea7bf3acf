-- tlog-witness push: a witness may be registered with its submission URL
-- (the prefix of <url>/add-checkpoint). Old registrations have none and are
-- cosigned through the pull path only.
ALTER TABLE witnesses ADD COLUMN url TEXT;

-- The push worker's working state per witness: not a ledger projection (the
-- pending work itself is recomputed from "last cosigned size < newest
-- checkpoint"), only what the witness last answered.
CREATE TABLE witness_pushes (
    witness TEXT PRIMARY KEY NOT NULL REFERENCES witnesses(name),
    -- The size the witness said it last cosigned (a 409 text/x.tlog.size answer).
    old_size BIGINT CHECK (old_size >= 0),
    -- Failed attempts in a row (transport errors, 5xx, ...), for the backoff.
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Not before this instant (UTC) after a failure.
    retry_at TIMESTAMP,
    -- The checkpoint size a 403/422 (or a bad answer) was raised at: not
    -- pushed again until a newer checkpoint is signed.
    alert_size BIGINT,
    last_status INTEGER,
    last_error TEXT,
    updated_at TIMESTAMP NOT NULL
);
