//! Email: who gets it (`email_recipients`, the projection of the
//! `email_recipients_set` entries) and the outbox's email side
//! (`email_outbox`): rows written in their entry's transaction, claimed under
//! a lease and settled by the mailer, as `store::outbox` does for webhooks.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::core::ledger::Entry;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::outbox::{DeliveryStatus, Outcome};
use crate::store::schema::{email_outbox, email_recipients};

/// One target's address list as stored: kind, target, addresses (JSON), the
/// `seq` of the entry that set it.
pub type RecipientRow = (String, String, String, i64);

/// Set (insert or replace) one target's list.
pub fn set_recipients(
    conn: &mut DbConn,
    kind: &str,
    target: &str,
    addresses_json: &str,
    seq: i64,
) -> StoreResult<()> {
    let n = diesel::update(
        email_recipients::table
            .filter(email_recipients::target_kind.eq(kind))
            .filter(email_recipients::target.eq(target)),
    )
    .set((
        email_recipients::addresses.eq(addresses_json),
        email_recipients::set_seq.eq(seq),
    ))
    .execute(conn)?;
    if n == 0 {
        diesel::insert_into(email_recipients::table)
            .values((
                email_recipients::target_kind.eq(kind),
                email_recipients::target.eq(target),
                email_recipients::addresses.eq(addresses_json),
                email_recipients::set_seq.eq(seq),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Empty the list that entry `seq` set, if it is still the current one (its
/// payload was erased). How many lists were emptied.
pub fn erase_list(conn: &mut DbConn, seq: i64) -> StoreResult<usize> {
    Ok(
        diesel::update(email_recipients::table.filter(email_recipients::set_seq.eq(seq)))
            .set(email_recipients::addresses.eq("[]"))
            .execute(conn)?,
    )
}

/// Every target's list, by kind and target.
pub fn all_recipients(conn: &mut DbConn) -> StoreResult<Vec<RecipientRow>> {
    Ok(email_recipients::table
        .select((
            email_recipients::target_kind,
            email_recipients::target,
            email_recipients::addresses,
            email_recipients::set_seq,
        ))
        .order((email_recipients::target_kind, email_recipients::target))
        .load(conn)?)
}

/// The lists of these agencies and roles (addresses as JSON, one per target).
pub fn recipients_of(
    conn: &mut DbConn,
    agencies: &[String],
    roles: &[String],
) -> StoreResult<Vec<String>> {
    Ok(email_recipients::table
        .filter(
            email_recipients::target_kind
                .eq("agency")
                .and(email_recipients::target.eq_any(agencies))
                .or(email_recipients::target_kind
                    .eq("role")
                    .and(email_recipients::target.eq_any(roles))),
        )
        .select(email_recipients::addresses)
        .load(conn)?)
}

/// Queue one email of `entry` (about `dispute_id`) to `recipient`, in the
/// entry's transaction.
pub fn queue(
    conn: &mut DbConn,
    id: &str,
    entry: &Entry,
    dispute_id: &str,
    recipient: &str,
) -> StoreResult<()> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::id.eq(id),
            email_outbox::seq.eq(entry.seq),
            email_outbox::dispute_id.eq(dispute_id),
            email_outbox::event.eq(&entry.event),
            email_outbox::recipient.eq(recipient),
            email_outbox::status.eq(DeliveryStatus::Pending.as_str()),
            email_outbox::attempts.eq(0),
            email_outbox::next_attempt_at.eq(entry.recorded_at),
            email_outbox::created_at.eq(entry.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A claimed email, ready to send.
#[derive(Debug, Clone)]
pub struct ClaimedMail {
    pub id: String,
    pub attempts: i32,
    pub seq: i64,
    pub dispute_id: String,
    pub event: String,
    pub recipient: String,
}

/// Claim up to `batch` due emails. A row is ours only if our conditional
/// `UPDATE` changed it: another mailer's lease stops us.
pub fn claim(
    conn: &mut DbConn,
    batch: i64,
    t: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<ClaimedMail>> {
    type DueRow = (String, i32, i64, String, String, String);
    let due: Vec<DueRow> = email_outbox::table
        .filter(email_outbox::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(email_outbox::next_attempt_at.le(t))
        .filter(
            email_outbox::lease_until
                .is_null()
                .or(email_outbox::lease_until.lt(t)),
        )
        .select((
            email_outbox::id,
            email_outbox::attempts,
            email_outbox::seq,
            email_outbox::dispute_id,
            email_outbox::event,
            email_outbox::recipient,
        ))
        .order((email_outbox::seq.asc(), email_outbox::id.asc()))
        .limit(batch)
        .load(conn)?;
    let mut out = Vec::new();
    for (id, attempts, seq, dispute_id, event, recipient) in due {
        let won = diesel::update(email_outbox::table.find(&id))
            .filter(email_outbox::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(
                email_outbox::lease_until
                    .is_null()
                    .or(email_outbox::lease_until.lt(t)),
            )
            .set(email_outbox::lease_until.eq(Some(until)))
            .execute(conn)?;
        if won == 1 {
            out.push(ClaimedMail {
                id,
                attempts,
                seq,
                dispute_id,
                event,
                recipient,
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
    let q = diesel::update(email_outbox::table.find(id));
    match outcome {
        Outcome::Delivered => q
            .set((
                email_outbox::status.eq(DeliveryStatus::Delivered.as_str()),
                email_outbox::attempts.eq(attempts),
                email_outbox::last_attempt_at.eq(Some(t)),
                email_outbox::delivered_at.eq(Some(t)),
                email_outbox::lease_until.eq(None::<NaiveDateTime>),
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
                email_outbox::status.eq(status.as_str()),
                email_outbox::attempts.eq(attempts),
                email_outbox::last_attempt_at.eq(Some(t)),
                email_outbox::last_error.eq(Some(error)),
                email_outbox::next_attempt_at.eq(retry_at),
                email_outbox::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?
        }
    };
    Ok(())
}

/// One row of the email deliveries listing.
pub type MailRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// Up to `limit` emails with ids after `after`, by id (ids begin with the
/// zero-padded `seq`, so this is also the order of the ledger).
pub fn page(conn: &mut DbConn, after: Option<String>, limit: i64) -> StoreResult<Vec<MailRow>> {
    let mut q = email_outbox::table
        .select((
            email_outbox::id,
            email_outbox::seq,
            email_outbox::dispute_id,
            email_outbox::event,
            email_outbox::recipient,
            email_outbox::status,
            email_outbox::attempts,
            email_outbox::last_error,
            email_outbox::last_attempt_at,
            email_outbox::next_attempt_at,
            email_outbox::delivered_at,
            email_outbox::created_at,
        ))
        .order(email_outbox::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(email_outbox::id.gt(after));
    }
    Ok(q.load(conn)?)
}
