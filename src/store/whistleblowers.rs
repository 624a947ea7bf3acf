//! The `whistleblower_identities` table: who is behind a pseudonym. Not a
//! ledger table; only the scrutineer reads it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::whistleblower_identities as wi;

/// A `whistleblower_identities` row: who is behind a pseudonym.
#[derive(Debug, Queryable)]
pub struct IdentityRow {
    pub pseudonym: String,
    pub sub: String,
    pub agency: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Whether a row exists for `pseudonym`.
pub fn exists(conn: &mut DbConn, pseudonym: &str) -> StoreResult<bool> {
    let n: i64 = wi::table
        .filter(wi::pseudonym.eq(pseudonym))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Insert the row for `pseudonym`.
pub fn insert(
    conn: &mut DbConn,
    pseudonym: &str,
    sub: &str,
    agency: &Option<String>,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(wi::table)
        .values((
            wi::pseudonym.eq(pseudonym),
            wi::sub.eq(sub),
            wi::agency.eq(agency),
            wi::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The row for `pseudonym`, if any.
pub fn find(conn: &mut DbConn, pseudonym: &str) -> StoreResult<Option<IdentityRow>> {
    Ok(wi::table
        .find(pseudonym)
        .select((wi::pseudonym, wi::sub, wi::agency, wi::created_at))
        .first::<IdentityRow>(conn)
        .optional()?)
}
