//! Recording a dispute event: the ledger entry, its projection and its
//! notifications, all in the caller's write transaction.

use chrono::{NaiveDateTime, Utc};
use serde_json::Value;

use crate::core::event::facts_of;
use crate::core::ladder::{Actor, Event};
use crate::core::ledger::{self, Entry, NewEntry};
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger as store;

/// Record one dispute event: the ledger entry, then the projection, in the caller's transaction.
pub fn record(
    conn: &mut DbConn,
    dispute_id: &str,
    actor: &Actor,
    event: &Event,
    payload: Value,
) -> Result<Entry, ServiceError> {
    record_at(
        conn,
        dispute_id,
        actor,
        event,
        payload,
        ledger::ledger_time(Utc::now()),
    )
}

/// [`record`] with the entry's `recorded_at` given, not the clock's: for tests
/// that put a dispute on its rung at a chosen instant (deadlines count from
/// there, and `verify` holds `rung_entered_at` to the entry's time). The
/// service never calls it; nothing reachable over HTTP does.
#[doc(hidden)]
pub fn record_at(
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
    crate::store::disputes::project(conn, dispute_id, actor, event, &entry)?;
    // Notifications go in the same transaction: none without its entry, none lost.
    crate::service::notify::enqueue(conn, &entry)?;
    Ok(entry)
}
