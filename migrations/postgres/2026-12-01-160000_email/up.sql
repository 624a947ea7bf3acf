-- Who gets email: a projection of the `email_recipients_set` entries. The
-- entry's facts hold the target only; the addresses (staff personal data) are
-- in its erasable payload and here, as a JSON array of strings. An empty
-- array means nobody for that target.
CREATE TABLE email_recipients (
    target_kind TEXT NOT NULL CHECK (target_kind IN ('agency', 'role')),
    target TEXT NOT NULL,
    addresses TEXT NOT NULL,
    set_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    PRIMARY KEY (target_kind, target)
);

-- The outbox's email side: one row per email (ledger entry x address),
-- written in the entry's transaction, claimed under a lease and settled by
-- the mailer exactly as `outbox` rows are by the webhook sender. The body is
-- rendered at sending time from `event` and `dispute_id` only.
CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    dispute_id TEXT NOT NULL,
    event TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (seq, recipient)
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
