//! Counts for `/metrics`, read at scrape time: the newest checkpoint and its
//! cosignatures, the outbox by status, and the open disputes' deadline facts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{checkpoints, cosignatures, disputes, outbox};

/// An open dispute's id, policy, status, rung, urgency and when it entered its rung.
pub type OpenRow = (String, String, String, String, bool, NaiveDateTime);

/// The newest checkpoint's size and signing time, if any.
pub fn newest_checkpoint(conn: &mut DbConn) -> StoreResult<Option<(i64, NaiveDateTime)>> {
    Ok(checkpoints::table
        .select((checkpoints::size, checkpoints::signed_at))
        .order(checkpoints::size.desc())
        .first(conn)
        .optional()?)
}

/// Cosignatures stored for the checkpoint of `size`.
pub fn cosignatures_at(conn: &mut DbConn, size: i64) -> StoreResult<i64> {
    Ok(cosignatures::table
        .filter(cosignatures::size.eq(size))
        .count()
        .get_result(conn)?)
}

/// Outbox rows with `status`.
pub fn outbox_with_status(conn: &mut DbConn, status: &str) -> StoreResult<i64> {
    Ok(outbox::table
        .filter(outbox::status.eq(status))
        .count()
        .get_result(conn)?)
}

/// Every dispute with `status` (e.g. `open`), as deadline facts.
pub fn disputes_with_status(conn: &mut DbConn, status: &str) -> StoreResult<Vec<OpenRow>> {
    Ok(disputes::table
        .filter(disputes::status.eq(status))
        .select((
            disputes::id,
            disputes::policy,
            disputes::status,
            disputes::rung,
            disputes::urgent,
            disputes::rung_entered_at,
        ))
        .load(conn)?)
}
