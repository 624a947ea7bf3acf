CREATE TABLE agencies (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    statutory_partner TEXT CHECK (statutory_partner IN ('la', 'icb', 'police'))
);

CREATE TABLE ledger_entries (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 0),
    recorded_at TIMESTAMP NOT NULL,
    dispute_id TEXT,
    event TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_agency TEXT,
    actor_partner TEXT,
    facts TEXT NOT NULL,
    payload_hash BLOB NOT NULL CHECK (length(payload_hash) = 32),
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash BLOB NOT NULL UNIQUE CHECK (length(entry_hash) = 32)
);
CREATE INDEX ledger_entries_dispute ON ledger_entries (dispute_id, seq);

-- Append-only: the database itself refuses to change or remove an entry.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

-- Payloads live apart so that personal data can be erased (payload set to NULL)
-- while the entry, and its payload_hash, stay.
CREATE TABLE ledger_payloads (
    seq BIGINT PRIMARY KEY NOT NULL REFERENCES ledger_entries (seq),
    payload TEXT
);

CREATE TABLE disputes (
    id TEXT PRIMARY KEY NOT NULL,
    policy TEXT NOT NULL,
    status TEXT NOT NULL,
    rung TEXT NOT NULL,
    raised_by_sub TEXT NOT NULL,
    raised_by_agency TEXT REFERENCES agencies (id),
    urgent BOOLEAN NOT NULL,
    complex BOOLEAN NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    raised_seq BIGINT NOT NULL REFERENCES ledger_entries (seq)
);
CREATE INDEX disputes_status_rung ON disputes (status, rung);

CREATE TABLE dispute_parties (
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (dispute_id, agency_id)
);
CREATE INDEX dispute_parties_agency ON dispute_parties (agency_id);

CREATE TABLE proposals (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    rung TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TIMESTAMP NOT NULL,
    seq BIGINT NOT NULL REFERENCES ledger_entries (seq)
);
CREATE INDEX proposals_dispute ON proposals (dispute_id);

CREATE TABLE proposal_acceptances (
    proposal_id TEXT NOT NULL REFERENCES proposals (id),
    acceptor TEXT NOT NULL,
    seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    PRIMARY KEY (proposal_id, acceptor)
);

-- Used only by the load generator, to measure a raw single-row commit.
CREATE TABLE bench_inserts (
    id BIGINT PRIMARY KEY NOT NULL,
    note TEXT NOT NULL
);
