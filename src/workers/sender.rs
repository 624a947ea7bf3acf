//! The webhook sender: polls the outbox for due webhook deliveries, claims
//! each with a lease (so two processes never send one row at once), POSTs it
//! by the Standard Webhooks conventions, and records the outcome; failures are
//! retried with exponential backoff and jitter, then marked `failed`.
//!
//! The claim, send and settle of one [`round`] is shared with the mailer
//! (`workers::mailer`): the two differ only in the channel they claim and in
//! how one delivery is sent.

use std::future::Future;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{NaiveDateTime, Utc};

use crate::core::ledger::ledger_time;
use crate::service::notify;
use crate::store::db::{run, Pool};
use crate::store::error::StoreError;
use crate::store::outbox::{self, Channel, Claimed, Destination, Outcome};

/// How the sender polls and retries.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// How often to look for due deliveries (`OUTBOX_POLL`).
    pub poll: Duration,
    /// The first retry delay; doubled on each failure (`OUTBOX_BACKOFF`).
    pub backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
    /// Attempts before a delivery is `failed` (`OUTBOX_MAX_ATTEMPTS`).
    pub max_attempts: i32,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How long a claimed row is reserved for one sender.
    pub lease: Duration,
    /// Rows claimed per poll.
    pub batch: i64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            poll: Duration::from_secs(1),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 12,
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            batch: 32,
        }
    }
}

fn now() -> NaiveDateTime {
    ledger_time(crate::core::clock::now())
}

fn after(d: Duration) -> NaiveDateTime {
    now() + chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(3600))
}

/// The delay before attempt `attempts + 1`: exponential, capped, with jitter
/// (a random factor between 1/2 and 1).
pub fn backoff(cfg: &SenderConfig, attempts: i32) -> Duration {
    backoff_between(cfg.backoff, cfg.max_backoff, attempts)
}

/// [`backoff`] from `first`, capped at `max` (shared with the witness pusher).
pub fn backoff_between(first: Duration, max: Duration, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 31) as u32 - 1;
    let full = first
        .checked_mul(1u32 << exp.min(20))
        .unwrap_or(max)
        .min(max);
    let mut r = [0u8; 2];
    let jitter = match getrandom::fill(&mut r) {
        Ok(()) => f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    full.mul_f64(0.5 + jitter / 2.0)
}

async fn send(client: &awc::Client, c: Claimed) -> Result<(), String> {
    let Destination::Webhook { url, secret, body } = &c.to else {
        return Err("not a webhook delivery".into());
    };
    let secret = B64
        .decode(secret)
        .map_err(|_| "the stored secret is not base64".to_string())?;
    let ts = Utc::now().timestamp();
    let sig = notify::sign(&secret, &c.id, ts, body.as_bytes());
    let res = client
        .post(url.as_str())
        .insert_header(("content-type", "application/json"))
        .insert_header(("webhook-id", c.id.as_str()))
        .insert_header(("webhook-timestamp", ts.to_string()))
        .insert_header(("webhook-signature", sig))
        .send_body(body.clone())
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", res.status().as_u16()))
    }
}

/// What attempt number `attempts` (counting this one) leads to: delivered,
/// or failed and retried after [`backoff`], or failed for good once
/// `max_attempts` are spent.
pub fn outcome(cfg: &SenderConfig, attempts: i32, result: Result<(), String>) -> Outcome {
    match result {
        Ok(()) => Outcome::Delivered,
        Err(e) => Outcome::Failed {
            error: e.chars().take(500).collect(),
            last: attempts >= cfg.max_attempts,
            retry_at: after(backoff(cfg, attempts)),
        },
    }
}

/// One round of `channel`, the same for every channel: claim its due rows,
/// send them concurrently with `send`, and settle each by [`outcome`].
/// Returns how many were attempted.
pub async fn round<F, Fut>(
    pool: &Pool,
    channel: Channel,
    cfg: &SenderConfig,
    send: F,
) -> Result<usize, StoreError>
where
    F: Fn(Claimed) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let c = cfg.clone();
    let claimed = run(pool, move |conn| {
        outbox::claim(conn, channel, c.batch, now(), after(c.lease))
    })
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let results = futures_util::future::join_all(claimed.iter().cloned().map(send)).await;
    let n = claimed.len();
    let c = cfg.clone();
    run(pool, move |conn| -> Result<(), StoreError> {
        for (d, r) in claimed.iter().zip(results) {
            if let Err(e) = &r {
                tracing::warn!(
                    channel = channel.as_str(),
                    delivery = %d.id,
                    error = %e,
                    "{} delivery failed",
                    channel.as_str()
                );
            }
            let attempts = d.attempts + 1;
            outbox::settle(conn, &d.id, attempts, now(), outcome(&c, attempts, r))?;
        }
        Ok(())
    })
    .await?;
    Ok(n)
}

/// One round of webhook deliveries. Returns how many were attempted.
pub async fn send_due(
    pool: &Pool,
    client: &awc::Client,
    cfg: &SenderConfig,
) -> Result<usize, StoreError> {
    round(pool, Channel::Webhook, cfg, |c| send(client, c)).await
}

/// Deliver the outbox in the background (call inside the actix system).
pub fn spawn_sender(pool: Pool, cfg: SenderConfig) {
    actix_web::rt::spawn(async move {
        let client = awc::Client::builder().timeout(cfg.timeout).finish();
        loop {
            // Stops between rounds once shutdown begins.
            let Some(busy) = crate::workers::shutdown::busy() else {
                return;
            };
            match send_due(&pool, &client, &cfg).await {
                Ok(n) if n as i64 >= cfg.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox round failed"),
            }
            drop(busy);
            actix_web::rt::time::sleep(cfg.poll).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let cfg = SenderConfig::default();
        for n in 1..40 {
            let d = backoff(&cfg, n);
            let full = Duration::from_secs(1u64 << (n - 1).min(20)).min(cfg.max_backoff);
            assert!(d <= full && d >= full / 2, "{n}: {d:?}");
        }
    }
}
