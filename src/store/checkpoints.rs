//! The `checkpoints` table: every checkpoint the log signed, by size.

use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::checkpoints;

/// A checkpoint as stored: its size, root and the signed note.
#[derive(Debug, Clone, Queryable)]
pub struct Signed {
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub signed_at: chrono::NaiveDateTime,
}

/// The newest signed checkpoint, if any.
pub fn latest(conn: &mut DbConn) -> StoreResult<Option<Signed>> {
    Ok(checkpoints::table
        .order(checkpoints::size.desc())
        .first(conn)
        .optional()?)
}

/// Store a newly signed checkpoint.
pub fn insert(conn: &mut DbConn, signed: &Signed) -> StoreResult<()> {
    diesel::insert_into(checkpoints::table)
        .values((
            checkpoints::size.eq(signed.size),
            checkpoints::root.eq(&signed.root),
            checkpoints::note.eq(&signed.note),
            checkpoints::signed_at.eq(signed.signed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The signed note of the checkpoint of `size`, if one was signed.
pub fn note_at(conn: &mut DbConn, size: i64) -> StoreResult<Option<String>> {
    Ok(checkpoints::table
        .find(size)
        .select(checkpoints::note)
        .first(conn)
        .optional()?)
}

/// Every signed (size, root), smallest size first.
pub fn roots(conn: &mut DbConn) -> StoreResult<Vec<(i64, Vec<u8>)>> {
    Ok(checkpoints::table
        .select((checkpoints::size, checkpoints::root))
        .order(checkpoints::size.asc())
        .load(conn)?)
}

/// Every signed checkpoint (size, root, note), smallest size first.
pub fn all_signed(conn: &mut DbConn) -> StoreResult<Vec<(i64, Vec<u8>, String)>> {
    Ok(checkpoints::table
        .select((checkpoints::size, checkpoints::root, checkpoints::note))
        .order(checkpoints::size.asc())
        .load(conn)?)
}
