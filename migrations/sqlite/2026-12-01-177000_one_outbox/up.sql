-- One outbox for every channel. Email used to have its own table
-- (`email_outbox`) with a copy of the outbox's claim and settle logic; now an
-- email is an `outbox` row with `channel = 'email'`, claimed, retried and
-- settled by the same code as a webhook delivery (`store::outbox`).
--
-- * `channel`: `webhook` (a Standard Webhooks POST to `webhook_id`, its
--   signed `body` stored) or `email` (to `recipient`, about `dispute_id`; the
--   body is rendered at sending time from `event` and `dispute_id` only, so
--   `body` is NULL).
-- * `webhook_id` and `body` become nullable; the CHECK keeps each channel's
--   columns filled and the other channel's empty.
--
-- SQLite cannot drop a NOT NULL or add a table CHECK in place, so the table
-- is rebuilt: create the new one, copy, drop, rename, recreate the index.
-- Diesel runs this file in one transaction: a failure leaves both tables as
-- they were. Nothing references `outbox`, so the rename rewrites no foreign
-- key. Every row of `email_outbox` moves (pending ones keep their lease,
-- attempts and due time, so none is lost or sent twice; settled ones keep
-- their status, so the deliveries listing is unchanged).
CREATE TABLE outbox_new (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT REFERENCES webhooks (id),
    seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    event TEXT NOT NULL,
    body TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    recipient TEXT,
    dispute_id TEXT,
    UNIQUE (webhook_id, seq),
    UNIQUE (seq, recipient),
    CONSTRAINT outbox_channel_columns CHECK (
        (channel = 'webhook' AND webhook_id IS NOT NULL AND body IS NOT NULL
            AND recipient IS NULL AND dispute_id IS NULL)
        OR (channel = 'email' AND webhook_id IS NULL AND body IS NULL
            AND recipient IS NOT NULL AND dispute_id IS NOT NULL)
    )
);

INSERT INTO outbox_new (id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, channel, recipient, dispute_id)
    SELECT id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, 'webhook', NULL, NULL
    FROM outbox;

INSERT INTO outbox_new (id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, channel, recipient, dispute_id)
    SELECT id, NULL, seq, event, NULL, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, 'email', recipient, dispute_id
    FROM email_outbox;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
DROP TABLE email_outbox;

-- Each worker claims its own channel's due rows.
CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at);
