-- Redactions of ledger payloads: a projection of the `redaction_requested` and
-- `redaction_approved` entries, one row per target entry, so the endpoint and
-- the listing need not scan the ledger. `verify` rebuilds it from the ledger.
CREATE TABLE redactions (
    seq BIGINT PRIMARY KEY NOT NULL REFERENCES ledger_entries (seq),
    requested_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    approved_seq BIGINT REFERENCES ledger_entries (seq),
    CHECK (requested_seq > seq),
    CHECK (approved_seq IS NULL OR approved_seq > requested_seq)
);
