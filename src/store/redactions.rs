//! The `redactions` projection, and the few reads and the one write of the
//! ledger tables that erasing a payload needs (the erasure itself: setting a
//! `ledger_payloads.payload` to NULL).

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{ledger_entries, ledger_payloads, redactions};

/// One row of `redactions`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct RedactionRow {
    /// The entry whose payload is (to be) erased.
    pub seq: i64,
    /// The `redaction_requested` entry.
    pub requested_seq: i64,
    /// The `redaction_approved` entry; null while the request is pending.
    pub approved_seq: Option<i64>,
}

/// Every row, by target seq.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<RedactionRow>> {
    Ok(redactions::table
        .select((
            redactions::seq,
            redactions::requested_seq,
            redactions::approved_seq,
        ))
        .order(redactions::seq.asc())
        .load(conn)?)
}

/// A page of rows: targets after `after`, at most `fetch`, in target order.
pub fn page(conn: &mut DbConn, after: Option<i64>, fetch: i64) -> StoreResult<Vec<RedactionRow>> {
    Ok(redactions::table
        .select((
            redactions::seq,
            redactions::requested_seq,
            redactions::approved_seq,
        ))
        .filter(redactions::seq.gt(after.unwrap_or(-1)))
        .order(redactions::seq.asc())
        .limit(fetch)
        .load(conn)?)
}

/// The row for target `seq`, if any.
pub fn find(conn: &mut DbConn, seq: i64) -> StoreResult<Option<RedactionRow>> {
    Ok(redactions::table
        .find(seq)
        .select((
            redactions::seq,
            redactions::requested_seq,
            redactions::approved_seq,
        ))
        .first(conn)
        .optional()?)
}

/// A new pending request.
pub fn insert_request(conn: &mut DbConn, seq: i64, requested_seq: i64) -> StoreResult<()> {
    diesel::insert_into(redactions::table)
        .values((
            redactions::seq.eq(seq),
            redactions::requested_seq.eq(requested_seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// Mark the request for target `seq` approved by entry `approved_seq`.
pub fn set_approved(conn: &mut DbConn, seq: i64, approved_seq: i64) -> StoreResult<()> {
    diesel::update(redactions::table.find(seq))
        .set(redactions::approved_seq.eq(Some(approved_seq)))
        .execute(conn)?;
    Ok(())
}

/// The `dispute_id` of entry `seq`: `None` if there is no such entry.
pub fn entry_dispute(conn: &mut DbConn, seq: i64) -> StoreResult<Option<Option<String>>> {
    Ok(ledger_entries::table
        .find(seq)
        .select(ledger_entries::dispute_id)
        .first::<Option<String>>(conn)
        .optional()?)
}

/// The `sub` of the actor who recorded entry `seq`.
pub fn entry_actor_sub(conn: &mut DbConn, seq: i64) -> StoreResult<String> {
    Ok(ledger_entries::table
        .find(seq)
        .select(ledger_entries::actor_sub)
        .first(conn)?)
}

/// Whether entry `seq` still has its payload (false if erased or absent).
pub fn payload_present(conn: &mut DbConn, seq: i64) -> StoreResult<bool> {
    let payload_now: Option<Option<String>> = ledger_payloads::table
        .find(seq)
        .select(ledger_payloads::payload)
        .first(conn)
        .optional()?;
    Ok(payload_now.flatten().is_some())
}

/// Erase entry `seq`'s payload; returns the number of payload rows changed.
pub fn erase_payload(conn: &mut DbConn, seq: i64) -> StoreResult<usize> {
    Ok(diesel::update(ledger_payloads::table.find(seq))
        .set(ledger_payloads::payload.eq(None::<String>))
        .execute(conn)?)
}

/// The `dispute_id` of each of the entries `seqs` (in chunks, for the
/// databases' parameter limits).
pub fn disputes_of(conn: &mut DbConn, seqs: &[i64]) -> StoreResult<BTreeMap<i64, Option<String>>> {
    let mut of = BTreeMap::new();
    for chunk in seqs.chunks(500) {
        let rows: Vec<(i64, Option<String>)> = ledger_entries::table
            .filter(ledger_entries::seq.eq_any(chunk))
            .select((ledger_entries::seq, ledger_entries::dispute_id))
            .load(conn)?;
        of.extend(rows);
    }
    Ok(of)
}
