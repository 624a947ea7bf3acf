//! The log's side of C2SP tlog-witness: which registered witnesses are owed an
//! `add-checkpoint` of the newest signed checkpoint, and what to do with their
//! answers. The worker (`workers::pusher`) does the HTTP; each step here is one
//! transaction.
//!
//! Durable by construction: a witness is owed a push whenever its newest stored
//! cosignature is of a size smaller than the newest signed checkpoint, so the
//! pending work survives a restart without a queue. `witness_pushes` keeps only
//! what the witness last answered: the size it says it cosigned last (a 409),
//! the backoff after a failure, and an alert (403, 422, ...) that stops pushes
//! of that checkpoint until a newer one is signed.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::core::note::NoteSignature;
use crate::core::witness_protocol::{self, Answer};
use crate::service::cosign;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::checkpoints;
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::tree;
use crate::store::witnesses::{self, PushRow};

/// One `add-checkpoint` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushJob {
    pub witness: String,
    /// `<submission prefix>/add-checkpoint`.
    pub endpoint: String,
    /// The checkpoint's size.
    pub size: i64,
    /// The old size claimed in the body.
    pub old: i64,
    /// The request body.
    pub body: String,
}

/// What a witness last answered to a push, as the witnesses API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PushStatus {
    /// The HTTP status of the last answer (null: no answer, e.g. unreachable).
    pub last_status: Option<i32>,
    /// Why the last push did not end in a stored cosignature (null: it did).
    pub last_push_error: Option<String>,
    /// The checkpoint size an alert (403, 422, a bad answer) was raised at; it
    /// is not pushed again until a newer checkpoint is signed.
    pub alert_size: Option<i64>,
    /// Failed attempts in a row.
    pub attempts: i32,
    /// The next attempt not before this instant (UTC).
    pub retry_at: Option<NaiveDateTime>,
    /// The size the witness said it last cosigned (409).
    pub witness_size: Option<i64>,
}

impl From<PushRow> for PushStatus {
    fn from(r: PushRow) -> Self {
        PushStatus {
            last_status: r.last_status,
            last_push_error: r.last_error,
            alert_size: r.alert_size,
            attempts: r.attempts,
            retry_at: r.retry_at,
            witness_size: r.old_size,
        }
    }
}

/// The push status of `witness`, if it was ever pushed to.
pub fn status(conn: &mut DbConn, witness: &str) -> ServiceResult<Option<PushStatus>> {
    Ok(witnesses::push_row(conn, witness)?.map(PushStatus::from))
}

/// Every witness with a URL that is owed the newest signed checkpoint at
/// `now`, with the body to send. One read transaction.
pub fn due(conn: &mut DbConn, now: NaiveDateTime) -> ServiceResult<Vec<PushJob>> {
    read_tx(conn, |conn| {
        let Some(newest) = checkpoints::latest(conn)? else {
            return Ok(Vec::new());
        };
        let mut jobs = Vec::new();
        for w in witnesses::list(conn)? {
            let Some(url) = w.url else { continue };
            let last = witnesses::last_cosigned(conn, &w.name)?;
            if last >= newest.size {
                continue;
            }
            let row = witnesses::push_row(conn, &w.name)?;
            if let Some(r) = &row {
                if r.alert_size == Some(newest.size) || r.retry_at.is_some_and(|t| t > now) {
                    continue;
                }
            }
            let old = row
                .and_then(|r| r.old_size)
                .filter(|&s| s <= newest.size)
                .unwrap_or(last);
            let proof = if old > 0 && old < newest.size {
                tree::consistency(conn, old as u64, newest.size as u64)?.path
            } else {
                Vec::new()
            };
            jobs.push(PushJob {
                witness: w.name,
                endpoint: format!("{url}/{}", witness_protocol::ADD_CHECKPOINT),
                size: newest.size,
                old,
                body: witness_protocol::encode_request(old as u64, &proof, &newest.note),
            });
        }
        Ok(jobs)
    })
}

/// What settling an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Cosignature lines checked and stored (or already there).
    Stored(usize),
    /// Resend at once with this old size.
    Resend(i64),
    /// Raised: not retried for this checkpoint.
    Alert(String),
    /// Retried after the backoff.
    Retry(String),
}

/// Record the answer to `job` (`status` is the HTTP status, `None` when the
/// witness could not be reached). A 200's lines are stored as the pull path
/// stores them (`cosign::add` checks each); lines by other keys are ignored.
/// `backoff` gives the delay before attempt `n + 1` after `n` failures. One
/// write transaction.
pub fn settle(
    conn: &mut DbConn,
    job: &PushJob,
    status: Option<u16>,
    answer: Answer,
    now: NaiveDateTime,
    backoff: &dyn Fn(i32) -> std::time::Duration,
) -> ServiceResult<Settled> {
    write_tx(conn, |conn| {
        let previous = witnesses::push_row(conn, &job.witness)?;
        let attempts = previous.as_ref().map_or(0, |r| r.attempts);
        let mut row = PushRow {
            witness: job.witness.clone(),
            old_size: None,
            attempts: 0,
            retry_at: None,
            alert_size: None,
            last_status: status.map(i32::from),
            last_error: None,
            updated_at: now,
        };
        let settled = match answer {
            Answer::Cosigned(lines) => store_lines(conn, job, &lines)?,
            Answer::Resend(size) => {
                let size = i64::try_from(size).unwrap_or(i64::MAX);
                if size > job.size {
                    Settled::Alert(format!(
                        "the witness says it cosigned size {size}, beyond the log's newest checkpoint {}",
                        job.size
                    ))
                } else if size == job.old {
                    Settled::Alert(format!(
                        "the witness answered 409 with size {size}, the old size sent"
                    ))
                } else {
                    Settled::Resend(size)
                }
            }
            Answer::Alert(why) => Settled::Alert(why),
            Answer::Retry(why) => Settled::Retry(why),
        };
        match &settled {
            Settled::Stored(_) => {}
            Settled::Resend(size) => {
                row.old_size = Some(*size);
                row.last_error = Some(format!("409: the witness is at size {size}; resending"));
            }
            Settled::Alert(why) => {
                row.alert_size = Some(job.size);
                row.last_error = Some(why.clone());
            }
            Settled::Retry(why) => {
                row.old_size = previous.as_ref().and_then(|r| r.old_size);
                row.attempts = attempts.saturating_add(1);
                let delay = chrono::Duration::from_std(backoff(row.attempts))
                    .unwrap_or_else(|_| chrono::Duration::hours(1));
                row.retry_at = Some(now + delay);
                row.last_error = Some(why.clone());
            }
        }
        witnesses::save_push_row(conn, &row)?;
        Ok(settled)
    })
}

/// Check and store the lines of a 200 answer that name `job.witness`.
fn store_lines(conn: &mut DbConn, job: &PushJob, lines: &[String]) -> ServiceResult<Settled> {
    let mut stored = 0;
    let mut refused = Vec::new();
    for line in lines {
        let named = NoteSignature::from_line(line).map(|c| c.name() == job.witness);
        if !matches!(named, Ok(true)) {
            continue;
        }
        match cosign::add(conn, job.size, line) {
            Ok(_) => stored += 1,
            Err(ServiceError::Unprocessable(why) | ServiceError::Conflict(why)) => {
                refused.push(why)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if stored > 0 {
        Settled::Stored(stored)
    } else if refused.is_empty() {
        Settled::Alert(format!(
            "200 without a cosignature line by '{}'",
            job.witness
        ))
    } else {
        Settled::Alert(format!("200 but its cosignature: {}", refused.join("; ")))
    })
}
