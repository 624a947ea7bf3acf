//! Recording a dispute event: the ledger entry, its projection and its
//! notifications, all in the caller's write transaction.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::core::ladder::{self, Actor, Dispute, Event, Policy};
use crate::core::ledger::facts_of;
use crate::core::ledger::{self, Entry, NewEntry};
use crate::service::error::ServiceError;
use crate::service::{notify, policy_store};
use crate::store::db::DbConn;
use crate::store::disputes;
use crate::store::ledger as store;

/// Record one event of dispute `d` (its state before the event, brought up
/// to date here): the ledger entry, the projection, and the notifications, in
/// the caller's transaction. `policy` is the one `d` follows after the event
/// (the target policy of a migration).
pub fn record(
    conn: &mut DbConn,
    policy: &Policy,
    d: &mut Dispute,
    actor: &Actor,
    event: &Event,
    payload: Value,
) -> Result<Entry, ServiceError> {
    let at = ledger::ledger_time(crate::core::clock::now());
    let entry = append_and_project(conn, &d.id, actor, event, payload, at)?;
    ladder::apply(d, &entry.actor, event).map_err(ServiceError::Internal)?;
    // Notifications go in the same transaction: none without its entry, none lost.
    notify::enqueue(conn, &entry, d, policy)?;
    Ok(entry)
}

/// Record the `raised` event of a new dispute `id`; the entry and the dispute.
pub fn record_raised(
    conn: &mut DbConn,
    policy: &Policy,
    id: &str,
    actor: &Actor,
    event: &Event,
    payload: Value,
) -> Result<(Entry, Dispute), ServiceError> {
    let at = ledger::ledger_time(crate::core::clock::now());
    let entry = append_and_project(conn, id, actor, event, payload, at)?;
    let d = ladder::start(id, &entry.actor, event).map_err(ServiceError::Internal)?;
    notify::enqueue(conn, &entry, &d, policy)?;
    Ok((entry, d))
}

/// A dispute event recorded with `recorded_at` given, not the clock's: for
/// tests that put a dispute on its rung at a chosen instant (deadlines count
/// from there, and `verify` holds `rung_entered_at` to the entry's time). It
/// loads the dispute and its policy itself. The service never calls it;
/// nothing reachable over HTTP does.
#[doc(hidden)]
pub fn record_at(
    conn: &mut DbConn,
    dispute_id: &str,
    actor: &Actor,
    event: &Event,
    payload: Value,
    at: NaiveDateTime,
) -> Result<Entry, ServiceError> {
    let before = disputes::load_dispute(conn, dispute_id)?.map(|r| r.state);
    let entry = append_and_project(conn, dispute_id, actor, event, payload, at)?;
    let after = match before {
        Some(mut d) => {
            ladder::apply(&mut d, &entry.actor, event).map_err(ServiceError::Internal)?;
            d
        }
        None => ladder::start(dispute_id, &entry.actor, event).map_err(ServiceError::Internal)?,
    };
    let policy = policy_store::of(conn, &after.policy)?;
    notify::enqueue(conn, &entry, &after, &policy)?;
    Ok(entry)
}

fn append_and_project(
    conn: &mut DbConn,
    dispute_id: &str,
    actor: &Actor,
    event: &Event,
    payload: Value,
    at: NaiveDateTime,
) -> Result<Entry, ServiceError> {
    let entry = store::append_at(
        conn,
        NewEntry {
            dispute_id: Some(dispute_id.to_string()),
            event: event.name().to_string(),
            actor: actor.clone(),
            facts: facts_of(event),
            payload,
        },
        at,
    )?;
    // The actor as recorded (a whistleblower's pseudonym), never as given.
    disputes::project(conn, dispute_id, &entry.actor, event, &entry)?;
    Ok(entry)
}
