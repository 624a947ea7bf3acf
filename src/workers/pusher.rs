//! The witness pusher: C2SP tlog-witness `add-checkpoint` to every registered
//! witness with a URL that has not cosigned the newest signed checkpoint
//! (`service::push::due`), and the answers settled (`service::push::settle`):
//! 200 stores the cosignatures, 409 with a size resends from it at once,
//! 403/422 (and a 400 or a bad answer) raise an alert (a warn log line, the
//! `escalation_ledger_witness_push_alerts_total` counter, `last_push_error`
//! in the witnesses API) and are not retried until a newer checkpoint, any
//! other failure is retried with exponential backoff and jitter.

use std::time::Duration;

use chrono::Utc;

use crate::core::ledger::ledger_time;
use crate::core::metrics::{WITNESS_PUSHES, WITNESS_PUSH_ALERTS};
use crate::core::witness_protocol::{self, Answer};
use crate::service::error::ServiceError;
use crate::service::push::{self, PushJob, Settled};
use crate::store::db::{run, Pool};

/// How the pusher polls and retries.
#[derive(Debug, Clone)]
pub struct PusherConfig {
    /// How often to look for witnesses owed a push (`WITNESS_PUSH_POLL`).
    pub poll: Duration,
    /// The first retry delay after a failure, doubled each time.
    pub backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Resends after 409 within one round, at most.
    pub max_resends: u32,
}

impl Default for PusherConfig {
    fn default() -> Self {
        PusherConfig {
            poll: Duration::from_secs(2),
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            timeout: Duration::from_secs(30),
            max_resends: 3,
        }
    }
}

/// POST the job; the status and the answer (`None` status: not reached).
async fn send(client: &awc::Client, job: &PushJob) -> (Option<u16>, Answer) {
    let res = client
        .post(job.endpoint.as_str())
        .insert_header(("content-type", "text/plain; charset=utf-8"))
        .send_body(job.body.clone())
        .await;
    let mut res = match res {
        Ok(r) => r,
        Err(e) => return (None, Answer::Retry(format!("not reached: {e}"))),
    };
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match res.body().limit(64 * 1024).await {
        Ok(body) => (
            Some(status),
            witness_protocol::classify(status, content_type.as_deref(), &body),
        ),
        Err(e) => (
            Some(status),
            Answer::Retry(format!("{status}, body unreadable: {e}")),
        ),
    }
}

/// Push to one witness until it cosigns, alerts, fails or a resend limit.
async fn push_one(pool: &Pool, client: &awc::Client, cfg: &PusherConfig, mut job: PushJob) {
    for _ in 0..=cfg.max_resends {
        let (status, answer) = send(client, &job).await;
        let c = cfg.clone();
        let j = job.clone();
        let settled = run(pool, move |conn| -> Result<Settled, ServiceError> {
            let backoff =
                |n: i32| crate::workers::sender::backoff_between(c.backoff, c.max_backoff, n);
            push::settle(conn, &j, status, answer, ledger_time(Utc::now()), &backoff)
        })
        .await;
        let outcome = match &settled {
            Ok(Settled::Stored(_)) => "cosigned",
            Ok(Settled::Resend(_)) => "resend",
            Ok(Settled::Alert(_)) => "alert",
            Ok(Settled::Retry(_)) => "retry",
            Err(_) => "error",
        };
        metrics::counter!(WITNESS_PUSHES, "outcome" => outcome).increment(1);
        match settled {
            Ok(Settled::Stored(n)) => {
                tracing::info!(witness = %job.witness, size = job.size, old = job.old, lines = n, "witness cosigned the pushed checkpoint");
                return;
            }
            Ok(Settled::Resend(old)) => {
                tracing::info!(witness = %job.witness, size = job.size, witness_size = old, "witness is at another size; resending from it");
                let again = run(pool, {
                    let name = job.witness.clone();
                    move |conn| {
                        push::due(conn, ledger_time(Utc::now()))
                            .map(|jobs| jobs.into_iter().find(|j| j.witness == name))
                    }
                })
                .await;
                match again {
                    Ok(Some(next)) => job = next,
                    Ok(None) => return,
                    Err(e) => {
                        tracing::error!(witness = %job.witness, error = %e, "witness push: rebuilding the request failed");
                        return;
                    }
                }
            }
            Ok(Settled::Alert(why)) => {
                metrics::counter!(WITNESS_PUSH_ALERTS, "witness" => job.witness.clone())
                    .increment(1);
                tracing::warn!(witness = %job.witness, size = job.size, old = job.old, status = ?status, error = %why,
                    "ALERT: witness refused the pushed checkpoint; not retried until a newer checkpoint");
                return;
            }
            Ok(Settled::Retry(why)) => {
                tracing::warn!(witness = %job.witness, size = job.size, status = ?status, error = %why, "witness push failed; retrying with backoff");
                return;
            }
            Err(e) => {
                tracing::error!(witness = %job.witness, error = %e, "witness push: recording the answer failed");
                return;
            }
        }
    }
}

/// One round: every witness owed a push, concurrently. Returns how many were pushed.
pub async fn push_due(
    pool: &Pool,
    client: &awc::Client,
    cfg: &PusherConfig,
) -> Result<usize, ServiceError> {
    let jobs = run(pool, |conn| push::due(conn, ledger_time(Utc::now()))).await?;
    let n = jobs.len();
    futures_util::future::join_all(jobs.into_iter().map(|j| push_one(pool, client, cfg, j))).await;
    Ok(n)
}

/// Push checkpoints to witnesses in the background (call inside the actix system).
pub fn spawn_pusher(pool: Pool, cfg: PusherConfig) {
    actix_web::rt::spawn(async move {
        let client = awc::Client::builder().timeout(cfg.timeout).finish();
        loop {
            // Stops between rounds once shutdown begins.
            let Some(busy) = crate::workers::shutdown::busy() else {
                return;
            };
            if let Err(e) = push_due(&pool, &client, &cfg).await {
                tracing::error!(error = %e, "witness push round failed");
            }
            drop(busy);
            actix_web::rt::time::sleep(cfg.poll).await;
        }
    });
}
