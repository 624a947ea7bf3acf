//! The console's sign-in tables, `console_links` and `console_sessions`: not
//! ledger tables. Only hashes of the link tokens and session ids are stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{console_links as cl, console_sessions as cs};

/// Who a link or a session signs in, as stored (role and partner as their names).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Identity {
    pub sub: String,
    pub role: String,
    pub agency: Option<String>,
    pub partner: Option<String>,
}

/// A `console_sessions` row.
#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    pub identity: Identity,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// Store a new sign-in link.
pub fn insert_link(
    conn: &mut DbConn,
    token_hash: &str,
    who: &Identity,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(cl::table)
        .values((
            cl::token_hash.eq(token_hash),
            cl::sub.eq(&who.sub),
            cl::role.eq(&who.role),
            cl::agency.eq(&who.agency),
            cl::partner.eq(&who.partner),
            cl::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Use the link once: marks it used if it is unused and was made after
/// `not_before`, and gives who it signs in; `None` for an unknown, used or
/// expired link. One `UPDATE`, so two browsers racing for a link cannot both win.
pub fn take_link(
    conn: &mut DbConn,
    token_hash: &str,
    not_before: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<Option<Identity>> {
    let taken = diesel::update(
        cl::table
            .filter(cl::token_hash.eq(token_hash))
            .filter(cl::used_at.is_null())
            .filter(cl::created_at.gt(not_before)),
    )
    .set(cl::used_at.eq(now))
    .execute(conn)?;
    if taken != 1 {
        return Ok(None);
    }
    Ok(cl::table
        .find(token_hash)
        .select((cl::sub, cl::role, cl::agency, cl::partner))
        .first::<Identity>(conn)
        .optional()?)
}

/// Store a new session.
pub fn insert_session(
    conn: &mut DbConn,
    id_hash: &str,
    who: &Identity,
    csrf: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(cs::table)
        .values((
            cs::id_hash.eq(id_hash),
            cs::sub.eq(&who.sub),
            cs::role.eq(&who.role),
            cs::agency.eq(&who.agency),
            cs::partner.eq(&who.partner),
            cs::csrf.eq(csrf),
            cs::created_at.eq(at),
            cs::last_seen_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this id hash, if any.
pub fn session(conn: &mut DbConn, id_hash: &str) -> StoreResult<Option<SessionRow>> {
    Ok(cs::table
        .find(id_hash)
        .select((
            (cs::sub, cs::role, cs::agency, cs::partner),
            cs::csrf,
            cs::created_at,
            cs::last_seen_at,
        ))
        .first::<SessionRow>(conn)
        .optional()?)
}

/// Record that the session was used now (the idle timeout counts from here).
pub fn touch_session(conn: &mut DbConn, id_hash: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(cs::table.find(id_hash))
        .set(cs::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// End the session (sign-out, or a timeout seen).
pub fn delete_session(conn: &mut DbConn, id_hash: &str) -> StoreResult<()> {
    diesel::delete(cs::table.find(id_hash)).execute(conn)?;
    Ok(())
}

/// Test support and housekeeping: move a link's `created_at` (what expiry counts from).
pub fn set_link_created_at(
    conn: &mut DbConn,
    token_hash: &str,
    at: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(diesel::update(cl::table.find(token_hash))
        .set(cl::created_at.eq(at))
        .execute(conn)?)
}
