//! The outbox: one row per notification to deliver, written in its ledger
//! entry's transaction, claimed and settled by the sender.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::core::ledger::Entry;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{outbox, webhooks};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet delivered; retried while attempts remain.
    Pending,
    Delivered,
    /// Attempts exhausted.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered,
    /// Failed with `error`; `last` when no attempt remains, else retried at `retry_at`.
    Failed {
        error: String,
        last: bool,
        retry_at: NaiveDateTime,
    },
}

/// Queue one delivery of `entry` to webhook `webhook_id`, in the entry's transaction.
pub fn queue(
    conn: &mut DbConn,
    id: &str,
    webhook_id: &str,
    entry: &Entry,
    body: &str,
) -> StoreResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::webhook_id.eq(webhook_id),
            outbox::seq.eq(entry.seq),
            outbox::event.eq(&entry.event),
            outbox::body.eq(body),
            outbox::status.eq(DeliveryStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(entry.recorded_at),
            outbox::created_at.eq(entry.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A claimed delivery, ready to send.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub body: String,
}

/// Claim up to `batch` due deliveries of active endpoints. A row is ours only
/// if our conditional `UPDATE` changed it: another sender's lease stops us.
pub fn claim(
    conn: &mut DbConn,
    batch: i64,
    t: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<Claimed>> {
    type DueRow = (String, i32, String, String, String);
    let due: Vec<DueRow> = outbox::table
        .inner_join(webhooks::table)
        .filter(outbox::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(outbox::next_attempt_at.le(t))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
        .filter(webhooks::active.eq(true))
        .select((
            outbox::id,
            outbox::attempts,
            webhooks::url,
            webhooks::secret,
            outbox::body,
        ))
        .order(outbox::seq.asc())
        .limit(batch)
        .load(conn)?;
    let mut out = Vec::new();
    for (id, attempts, url, secret, body) in due {
        let won = diesel::update(outbox::table.find(&id))
            .filter(outbox::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
            .set(outbox::lease_until.eq(Some(until)))
            .execute(conn)?;
        if won == 1 {
            out.push(Claimed {
                id,
                attempts,
                url,
                secret,
                body,
            });
        }
    }
    Ok(out)
}

/// Record one attempt's outcome at `t` and release the lease.
pub fn settle(
    conn: &mut DbConn,
    id: &str,
    attempts: i32,
    t: NaiveDateTime,
    outcome: Outcome,
) -> StoreResult<()> {
    let q = diesel::update(outbox::table.find(id));
    match outcome {
        Outcome::Delivered => q
            .set((
                outbox::status.eq(DeliveryStatus::Delivered.as_str()),
                outbox::attempts.eq(attempts),
                outbox::last_attempt_at.eq(Some(t)),
                outbox::delivered_at.eq(Some(t)),
                outbox::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Outcome::Failed {
            error,
            last,
            retry_at,
        } => {
            let status = if last {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Pending
            };
            q.set((
                outbox::status.eq(status.as_str()),
                outbox::attempts.eq(attempts),
                outbox::last_attempt_at.eq(Some(t)),
                outbox::last_error.eq(Some(error)),
                outbox::next_attempt_at.eq(retry_at),
                outbox::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?
        }
    };
    Ok(())
}
