//! The deadline tables the sweeper reads and writes: the open disputes'
//! deadline facts, `deadline_misses` and `deadline_warnings`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::disputes::OpenRow;
use crate::store::error::StoreResult;
use crate::store::schema::{deadline_misses, deadline_warnings, disputes};

/// A `deadline_warnings` row.
#[derive(Debug, Clone, Queryable)]
pub struct WarningRow {
    pub dispute_id: String,
    pub rung: String,
    pub due_at: NaiveDateTime,
    pub seq: i64,
}

/// The deadline facts of every open dispute (see [`OpenRow`]), by id.
pub fn open(conn: &mut DbConn, open_status: &str) -> StoreResult<Vec<OpenRow>> {
    Ok(disputes::table
        .filter(disputes::status.eq(open_status))
        .select((
            disputes::id,
            disputes::policy,
            disputes::status,
            disputes::rung,
            disputes::urgent,
            disputes::rung_entered_at,
        ))
        .order(disputes::id.asc())
        .load(conn)?)
}

/// (dispute id, rung) of every recorded miss.
pub fn missed(conn: &mut DbConn) -> StoreResult<Vec<(String, String)>> {
    Ok(deadline_misses::table
        .select((deadline_misses::dispute_id, deadline_misses::rung))
        .load(conn)?)
}

/// (dispute id, rung) of every recorded warning.
pub fn warned(conn: &mut DbConn) -> StoreResult<Vec<(String, String)>> {
    Ok(deadline_warnings::table
        .select((deadline_warnings::dispute_id, deadline_warnings::rung))
        .load(conn)?)
}

/// Record a warning, in its `deadline_approaching` entry's transaction.
pub fn insert_warning(conn: &mut DbConn, row: &WarningRow) -> StoreResult<()> {
    diesel::insert_into(deadline_warnings::table)
        .values((
            deadline_warnings::dispute_id.eq(&row.dispute_id),
            deadline_warnings::rung.eq(&row.rung),
            deadline_warnings::due_at.eq(row.due_at),
            deadline_warnings::seq.eq(row.seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every warning, by dispute and rung.
pub fn warnings(conn: &mut DbConn) -> StoreResult<Vec<WarningRow>> {
    Ok(deadline_warnings::table
        .select((
            deadline_warnings::dispute_id,
            deadline_warnings::rung,
            deadline_warnings::due_at,
            deadline_warnings::seq,
        ))
        .order((deadline_warnings::dispute_id, deadline_warnings::rung))
        .load(conn)?)
}
