//! The `witnesses` and `cosignatures` tables: registered partner witnesses and
//! the cosignature lines they sent back (append-only, not ledger entries).

use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{cosignatures, witness_pushes, witnesses};

/// A `witnesses` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct WitnessRow {
    pub name: String,
    pub key: String,
    pub registered_seq: i64,
    /// The tlog-witness submission prefix, if the witness takes pushes.
    pub url: Option<String>,
}

/// A `cosignatures` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CosignatureRow {
    pub size: i64,
    pub witness: String,
    pub timestamp: i64,
    pub line: String,
}

/// Whether a witness with this name or this key is registered.
pub fn name_or_key_taken(conn: &mut DbConn, name: &str, key: &str) -> StoreResult<bool> {
    let taken: i64 = witnesses::table
        .filter(witnesses::name.eq(name).or(witnesses::key.eq(key)))
        .count()
        .get_result(conn)?;
    Ok(taken > 0)
}

pub fn insert_witness(conn: &mut DbConn, w: &WitnessRow) -> StoreResult<()> {
    diesel::insert_into(witnesses::table)
        .values((
            witnesses::name.eq(&w.name),
            witnesses::key.eq(&w.key),
            witnesses::registered_seq.eq(w.registered_seq),
            witnesses::url.eq(&w.url),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every registered witness, by name.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<WitnessRow>> {
    Ok(witnesses::table.order(witnesses::name.asc()).load(conn)?)
}

/// Up to `limit` witnesses named after `after`, by name.
pub fn page(conn: &mut DbConn, after: Option<&str>, limit: i64) -> StoreResult<Vec<WitnessRow>> {
    let mut q = witnesses::table
        .order(witnesses::name.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(witnesses::name.gt(after.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The witness named `name`, if registered.
pub fn find(conn: &mut DbConn, name: &str) -> StoreResult<Option<WitnessRow>> {
    Ok(witnesses::table.find(name).first(conn).optional()?)
}

/// The stored line of `witness`'s cosignature on the checkpoint of `size`.
pub fn cosignature_line(
    conn: &mut DbConn,
    size: i64,
    witness: &str,
) -> StoreResult<Option<String>> {
    Ok(cosignatures::table
        .find((size, witness))
        .select(cosignatures::line)
        .first(conn)
        .optional()?)
}

pub fn insert_cosignature(conn: &mut DbConn, c: &CosignatureRow) -> StoreResult<()> {
    diesel::insert_into(cosignatures::table)
        .values((
            cosignatures::size.eq(c.size),
            cosignatures::witness.eq(&c.witness),
            cosignatures::timestamp.eq(c.timestamp),
            cosignatures::line.eq(&c.line),
        ))
        .execute(conn)?;
    Ok(())
}

/// The cosignatures of the checkpoint of `size`, by witness name.
pub fn cosignatures_of(conn: &mut DbConn, size: i64) -> StoreResult<Vec<CosignatureRow>> {
    Ok(cosignatures::table
        .filter(cosignatures::size.eq(size))
        .order(cosignatures::witness.asc())
        .load(conn)?)
}

/// Every cosignature, by size then witness name.
pub fn all_cosignatures(conn: &mut DbConn) -> StoreResult<Vec<CosignatureRow>> {
    Ok(cosignatures::table
        .order((cosignatures::size.asc(), cosignatures::witness.asc()))
        .load(conn)?)
}

/// A `witness_pushes` row: what a pushed-to witness last answered.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = witness_pushes, treat_none_as_null = true)]
pub struct PushRow {
    pub witness: String,
    pub old_size: Option<i64>,
    pub attempts: i32,
    pub retry_at: Option<chrono::NaiveDateTime>,
    pub alert_size: Option<i64>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub updated_at: chrono::NaiveDateTime,
}

/// The push row of `witness`, if it was ever pushed to.
pub fn push_row(conn: &mut DbConn, witness: &str) -> StoreResult<Option<PushRow>> {
    Ok(witness_pushes::table.find(witness).first(conn).optional()?)
}

/// Every push row, by witness name.
pub fn push_rows(conn: &mut DbConn) -> StoreResult<Vec<PushRow>> {
    Ok(witness_pushes::table
        .order(witness_pushes::witness.asc())
        .load(conn)?)
}

/// Insert or replace the push row of `row.witness`.
pub fn save_push_row(conn: &mut DbConn, row: &PushRow) -> StoreResult<()> {
    let n = diesel::update(witness_pushes::table.find(&row.witness))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(witness_pushes::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The largest size `witness` has a stored cosignature of (0 for none).
pub fn last_cosigned(conn: &mut DbConn, witness: &str) -> StoreResult<i64> {
    let max: Option<i64> = cosignatures::table
        .filter(cosignatures::witness.eq(witness))
        .select(diesel::dsl::max(cosignatures::size))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}
