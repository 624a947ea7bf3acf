//! The outbox: one row per notification to deliver, on any channel (a
//! webhook endpoint or an email address), written in its ledger entry's
//! transaction, claimed under a lease and settled by that channel's worker.
//!
//! Both channels share one table and one code path: [`claim`] (by channel),
//! [`settle`] (the outcome of one attempt, and when to retry), and [`page`]
//! (the deliveries listing). Only queueing differs: a webhook row stores the
//! signed body it will POST ([`queue`]), an email row the address and the
//! dispute its body is rendered from at sending time ([`queue_email`]).

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

/// How a row is delivered (the `channel` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A Standard Webhooks POST to an active endpoint.
    Webhook,
    /// An email to one address.
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
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
            outbox::channel.eq(Channel::Webhook.as_str()),
            outbox::webhook_id.eq(Some(webhook_id)),
            outbox::seq.eq(entry.seq),
            outbox::event.eq(&entry.event),
            outbox::body.eq(Some(body)),
            outbox::status.eq(DeliveryStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(entry.recorded_at),
            outbox::created_at.eq(entry.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queue one email of `entry` (about `dispute_id`) to `recipient`, in the
/// entry's transaction.
pub fn queue_email(
    conn: &mut DbConn,
    id: &str,
    entry: &Entry,
    dispute_id: &str,
    recipient: &str,
) -> StoreResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::channel.eq(Channel::Email.as_str()),
            outbox::recipient.eq(Some(recipient)),
            outbox::dispute_id.eq(Some(dispute_id)),
            outbox::seq.eq(entry.seq),
            outbox::event.eq(&entry.event),
            outbox::status.eq(DeliveryStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(entry.recorded_at),
            outbox::created_at.eq(entry.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Where a claimed delivery goes, and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// POST `body`, signed with `secret` (base64), to `url`.
    Webhook {
        url: String,
        secret: String,
        body: String,
    },
    /// Email `recipient` about `dispute_id`.
    Email {
        recipient: String,
        dispute_id: String,
    },
}

/// A claimed delivery, ready to send.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub seq: i64,
    pub event: String,
    pub to: Destination,
}

/// A due row as [`claim`] reads it (the endpoint's columns are empty for email).
#[derive(Queryable)]
struct DueRow {
    id: String,
    attempts: i32,
    seq: i64,
    event: String,
    body: Option<String>,
    recipient: Option<String>,
    dispute_id: Option<String>,
    url: Option<String>,
    secret: Option<String>,
}

impl DueRow {
    /// The destination, if the row has its channel's columns (the table's
    /// CHECK makes sure it does).
    fn destination(self, channel: Channel) -> Option<Claimed> {
        let to = match channel {
            Channel::Webhook => Destination::Webhook {
                url: self.url?,
                secret: self.secret?,
                body: self.body?,
            },
            Channel::Email => Destination::Email {
                recipient: self.recipient?,
                dispute_id: self.dispute_id?,
            },
        };
        Some(Claimed {
            id: self.id,
            attempts: self.attempts,
            seq: self.seq,
            event: self.event,
            to,
        })
    }
}

/// Claim up to `batch` due deliveries of `channel` (for webhooks, of active
/// endpoints only), oldest entry first. A row is ours only if our conditional
/// `UPDATE` changed it: another worker's lease stops us.
pub fn claim(
    conn: &mut DbConn,
    channel: Channel,
    batch: i64,
    t: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<Claimed>> {
    let mut q = outbox::table
        .left_join(webhooks::table)
        .filter(outbox::channel.eq(channel.as_str()))
        .filter(outbox::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(outbox::next_attempt_at.le(t))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
        .select((
            outbox::id,
            outbox::attempts,
            outbox::seq,
            outbox::event,
            outbox::body,
            outbox::recipient,
            outbox::dispute_id,
            webhooks::url.nullable(),
            webhooks::secret.nullable(),
        ))
        .order((outbox::seq.asc(), outbox::id.asc()))
        .limit(batch)
        .into_boxed();
    if channel == Channel::Webhook {
        q = q.filter(webhooks::active.nullable().eq(true));
    }
    let due: Vec<DueRow> = q.load(conn)?;
    let mut out = Vec::new();
    for row in due {
        let Some(c) = row.destination(channel) else {
            continue;
        };
        let won = diesel::update(outbox::table.find(&c.id))
            .filter(outbox::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
            .set(outbox::lease_until.eq(Some(until)))
            .execute(conn)?;
        if won == 1 {
            out.push(c);
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

/// One row of a deliveries listing, on either channel.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryRow {
    pub id: String,
    pub channel: String,
    pub webhook_id: Option<String>,
    pub recipient: Option<String>,
    pub dispute_id: Option<String>,
    pub seq: i64,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub next_attempt_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Which deliveries [`page`] lists.
#[derive(Debug, Clone)]
pub enum Deliveries {
    /// One endpoint's, after entry `after`, by `seq`.
    Webhook { id: String, after: Option<i64> },
    /// Every email with an id after `after`, by id (email ids begin with the
    /// zero-padded `seq`, so this is also the order of the ledger).
    Email { after: Option<String> },
}

/// Up to `limit` deliveries of `which`.
pub fn page(conn: &mut DbConn, which: Deliveries, limit: i64) -> StoreResult<Vec<DeliveryRow>> {
    let mut q = outbox::table
        .select((
            outbox::id,
            outbox::channel,
            outbox::webhook_id,
            outbox::recipient,
            outbox::dispute_id,
            outbox::seq,
            outbox::event,
            outbox::status,
            outbox::attempts,
            outbox::last_error,
            outbox::last_attempt_at,
            outbox::next_attempt_at,
            outbox::delivered_at,
            outbox::created_at,
        ))
        .limit(limit)
        .into_boxed();
    match which {
        Deliveries::Webhook { id, after } => {
            q = q
                .filter(outbox::channel.eq(Channel::Webhook.as_str()))
                .filter(outbox::webhook_id.eq(id))
                .filter(outbox::seq.gt(after.unwrap_or(-1)))
                .order(outbox::seq.asc());
        }
        Deliveries::Email { after } => {
            q = q
                .filter(outbox::channel.eq(Channel::Email.as_str()))
                .order(outbox::id.asc());
            if let Some(after) = after {
                q = q.filter(outbox::id.gt(after));
            }
        }
    }
    Ok(q.load(conn)?)
}
