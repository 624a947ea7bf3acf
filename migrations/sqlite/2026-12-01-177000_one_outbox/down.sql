-- Split the outbox again: email rows back into `email_outbox`, the webhook
-- rows into an `outbox` as 2026-11-26-062500_notifications made it.
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
INSERT INTO email_outbox (id, seq, dispute_id, event, recipient, status,
        attempts, next_attempt_at, lease_until, last_error, last_attempt_at,
        delivered_at, created_at)
    SELECT id, seq, dispute_id, event, recipient, status,
        attempts, next_attempt_at, lease_until, last_error, last_attempt_at,
        delivered_at, created_at
    FROM outbox WHERE channel = 'email';

CREATE TABLE outbox_old (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (webhook_id, seq)
);
INSERT INTO outbox_old (id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at)
    SELECT id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at
    FROM outbox WHERE channel = 'webhook';
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
