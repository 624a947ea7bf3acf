//! The console's sign-in tables, `console_links`, `console_sessions` and
//! `console_oidc_flows`: not ledger tables. Only hashes of the link tokens,
//! session ids and OpenID Connect flow ids are stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{console_links as cl, console_oidc_flows as cf, console_sessions as cs};

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

/// Store a new sign-in link, with the console page it lands on, if any.
pub fn insert_link(
    conn: &mut DbConn,
    token_hash: &str,
    who: &Identity,
    next: Option<&str>,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(cl::table)
        .values((
            cl::token_hash.eq(token_hash),
            cl::sub.eq(&who.sub),
            cl::role.eq(&who.role),
            cl::agency.eq(&who.agency),
            cl::partner.eq(&who.partner),
            cl::next.eq(next),
            cl::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A link just used: who it signs in and the page it lands on.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct TakenLink {
    pub identity: Identity,
    pub next: Option<String>,
}

/// Use the link once: marks it used if it is unused and was made after
/// `not_before`, and gives who it signs in; `None` for an unknown, used or
/// expired link. One `UPDATE`, so two browsers racing for a link cannot both win.
pub fn take_link(
    conn: &mut DbConn,
    token_hash: &str,
    not_before: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<Option<TakenLink>> {
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
        .select(((cl::sub, cl::role, cl::agency, cl::partner), cl::next))
        .first::<TakenLink>(conn)
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

/// A `console_oidc_flows` row: one OpenID Connect sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct FlowRow {
    /// The `state` sent to the issuer, which the callback must bring back.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier whose S256 challenge was sent.
    pub pkce_verifier: String,
    /// The console page to land on after sign-in.
    pub next: Option<String>,
}

/// Store a flow under the hash of the id its browser's cookie holds.
pub fn insert_flow(
    conn: &mut DbConn,
    id_hash: &str,
    flow: &FlowRow,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(cf::table)
        .values((
            cf::id_hash.eq(id_hash),
            cf::state.eq(&flow.state),
            cf::nonce.eq(&flow.nonce),
            cf::pkce_verifier.eq(&flow.pkce_verifier),
            cf::next.eq(&flow.next),
            cf::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Take the flow once: delete it and give it, if it exists and was made
/// after `not_before`; `None` otherwise. Whoever deletes the row has it, so
/// two callbacks racing for one flow cannot both win.
pub fn take_flow(
    conn: &mut DbConn,
    id_hash: &str,
    not_before: NaiveDateTime,
) -> StoreResult<Option<FlowRow>> {
    let row = cf::table
        .find(id_hash)
        .filter(cf::created_at.gt(not_before))
        .select((cf::state, cf::nonce, cf::pkce_verifier, cf::next))
        .first::<FlowRow>(conn)
        .optional()?;
    let gone = diesel::delete(cf::table.find(id_hash)).execute(conn)?;
    Ok(row.filter(|_| gone == 1))
}

/// How many rows a [`sweep`] deleted, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub links: usize,
    pub sessions: usize,
    pub flows: usize,
}

/// Delete what can no longer sign anyone in: links made at or before
/// `links_before` (used or not), flows made at or before `flows_before`, and,
/// given `(idle_before, absolute_before)`, sessions last used before the one
/// or made before the other: the same bounds past which `take_link`,
/// `take_flow` and the session check refuse them.
pub fn sweep(
    conn: &mut DbConn,
    links_before: NaiveDateTime,
    flows_before: NaiveDateTime,
    sessions: Option<(NaiveDateTime, NaiveDateTime)>,
) -> StoreResult<Swept> {
    let links = diesel::delete(cl::table.filter(cl::created_at.le(links_before))).execute(conn)?;
    let flows = diesel::delete(cf::table.filter(cf::created_at.le(flows_before))).execute(conn)?;
    let sessions = match sessions {
        Some((idle_before, absolute_before)) => diesel::delete(
            cs::table.filter(
                cs::last_seen_at
                    .lt(idle_before)
                    .or(cs::created_at.lt(absolute_before)),
            ),
        )
        .execute(conn)?,
        None => 0,
    };
    Ok(Swept {
        links,
        sessions,
        flows,
    })
}

/// Test support: how many rows each sign-in table holds.
pub fn counts(conn: &mut DbConn) -> StoreResult<Swept> {
    Ok(Swept {
        links: usize::try_from(cl::table.count().get_result::<i64>(conn)?).unwrap_or(0),
        sessions: usize::try_from(cs::table.count().get_result::<i64>(conn)?).unwrap_or(0),
        flows: usize::try_from(cf::table.count().get_result::<i64>(conn)?).unwrap_or(0),
    })
}
