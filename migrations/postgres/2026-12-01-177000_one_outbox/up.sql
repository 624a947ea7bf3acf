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
-- Every row of `email_outbox` moves (pending ones keep their lease, attempts
-- and due time, so none is lost or sent twice; settled ones keep their
-- status, so the deliveries listing is unchanged). Diesel runs this file in
-- one transaction. The columns are added at the end, as the SQLite rebuild
-- orders them too.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook'
    CHECK (channel IN ('webhook', 'email'));
ALTER TABLE outbox ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE outbox ADD COLUMN recipient TEXT;
ALTER TABLE outbox ADD COLUMN dispute_id TEXT;
ALTER TABLE outbox ALTER COLUMN webhook_id DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN body DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_columns CHECK (
    (channel = 'webhook' AND webhook_id IS NOT NULL AND body IS NOT NULL
        AND recipient IS NULL AND dispute_id IS NULL)
    OR (channel = 'email' AND webhook_id IS NULL AND body IS NULL
        AND recipient IS NOT NULL AND dispute_id IS NOT NULL)
);
ALTER TABLE outbox ADD CONSTRAINT outbox_seq_recipient_key UNIQUE (seq, recipient);

INSERT INTO outbox (id, webhook_id, seq, event, body, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, channel, recipient, dispute_id)
    SELECT id, NULL, seq, event, NULL, status, attempts,
        next_attempt_at, lease_until, last_error, last_attempt_at, delivered_at,
        created_at, 'email', recipient, dispute_id
    FROM email_outbox;
DROP TABLE email_outbox;

-- Each worker claims its own channel's due rows.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at);
