-- Webhook endpoints for notifications: a projection of the `webhook_registered`
-- and `webhook_deactivated` entries (whose facts hold the id, the target and
-- the URL's origin only). `secret` is the Standard Webhooks shared secret
-- (the base64 after `whsec_`): the receiver holds the same bytes, so it is
-- stored as is, like a password the two sides share, never in the ledger.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('agency', 'role')),
    target TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    registered_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    deactivated_seq BIGINT REFERENCES ledger_entries (seq),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_target ON webhooks (target_kind, target);

-- The outbox: one row per delivery (ledger entry x endpoint), written in the
-- entry's transaction. `id` is the Standard Webhooks `webhook-id`, stable
-- across retries. Rows are claimed with `lease_until` by the sender.
CREATE TABLE outbox (
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
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
