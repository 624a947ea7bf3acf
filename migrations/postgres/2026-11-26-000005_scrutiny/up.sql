-- The scrutineer's work outside (and beside) the ladder: mediations, independent
-- reviews and formal recommendations to the SLG (seed 4.3, 5.2). Projections of
-- the ledger's mediation_*, review_* and recommendation_* entries, rebuilt and
-- compared by `verify`. No free text here: topics, notes, outcomes, concerns,
-- reasons, findings, recommendation texts and responses live only in the
-- payload of the entry whose seq a row holds.
CREATE TABLE mediations (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT REFERENCES disputes (id),
    -- true: the mediation of the ladder's `scrutineer` rung for dispute_id.
    ladder BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    opened_at TIMESTAMP NOT NULL,
    closed_seq BIGINT REFERENCES ledger_entries (seq),
    -- For a ladder mediation: the scrutineer-rung proposal that is its outcome.
    outcome_proposal_id TEXT,
    CHECK (NOT ladder OR dispute_id IS NOT NULL),
    CHECK ((status = 'closed') = (closed_seq IS NOT NULL))
);
CREATE INDEX mediations_dispute ON mediations (dispute_id);

CREATE TABLE mediation_agencies (
    mediation_id TEXT NOT NULL REFERENCES mediations (id),
    position INTEGER NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    PRIMARY KEY (mediation_id, position)
);

CREATE TABLE mediation_sessions (
    seq BIGINT PRIMARY KEY NOT NULL REFERENCES ledger_entries (seq),
    mediation_id TEXT NOT NULL REFERENCES mediations (id),
    held_on TEXT NOT NULL,
    -- Canonical JSON [{"role", "agency"}]: roles and registry ids only.
    attendees TEXT NOT NULL
);
CREATE INDEX mediation_sessions_mediation ON mediation_sessions (mediation_id, seq);

CREATE TABLE reviews (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    status TEXT NOT NULL CHECK (status IN ('requested', 'accepted', 'declined', 'closed')),
    on_behalf BOOLEAN NOT NULL,
    requested_by_role TEXT NOT NULL,
    requested_by_agency TEXT REFERENCES agencies (id),
    requested_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    requested_at TIMESTAMP NOT NULL,
    decided_seq BIGINT REFERENCES ledger_entries (seq),
    findings_seq BIGINT REFERENCES ledger_entries (seq)
);

CREATE TABLE recommendations (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT REFERENCES disputes (id),
    response_due TEXT NOT NULL,
    issued_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    issued_at TIMESTAMP NOT NULL,
    response_seq BIGINT REFERENCES ledger_entries (seq),
    accepted BOOLEAN,
    CHECK ((response_seq IS NULL) = (accepted IS NULL))
);
