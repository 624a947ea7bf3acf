//! The `policies` (a version's document, stored once) and
//! `policy_activations` tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{policies, policy_activations};

/// A stored policy document.
#[derive(Debug, Clone, Queryable)]
pub struct PolicyRow {
    pub version: String,
    pub sha256: String,
    pub document: String,
}

/// A `policy_activations` row: the entry that activated a version.
#[derive(Debug, Clone, Queryable)]
pub struct ActivationRow {
    pub seq: i64,
    pub version: String,
    pub activated_at: NaiveDateTime,
}

/// The stored document of `version`, if any.
pub fn get(conn: &mut DbConn, version: &str) -> StoreResult<Option<PolicyRow>> {
    Ok(policies::table
        .find(version)
        .select((policies::version, policies::sha256, policies::document))
        .first(conn)
        .optional()?)
}

/// Every stored document (or only `version`'s), by version.
pub fn list(conn: &mut DbConn, only: Option<&str>) -> StoreResult<Vec<PolicyRow>> {
    let mut q = policies::table
        .order(policies::version.asc())
        .select((policies::version, policies::sha256, policies::document))
        .into_boxed();
    if let Some(v) = only {
        q = q.filter(policies::version.eq(v));
    }
    Ok(q.load(conn)?)
}

/// The stored versions.
pub fn versions(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    Ok(policies::table.select(policies::version).load(conn)?)
}

/// Store a document under its version. Call inside the activation's transaction.
pub fn insert(conn: &mut DbConn, version: &str, sha256: &str, document: &str) -> StoreResult<()> {
    diesel::insert_into(policies::table)
        .values((
            policies::version.eq(version),
            policies::sha256.eq(sha256),
            policies::document.eq(document),
        ))
        .execute(conn)?;
    Ok(())
}

/// The version activated last, if any was.
/// Inside a write transaction it is read once (`store::tail`).
pub fn latest_activation(conn: &mut DbConn) -> StoreResult<Option<String>> {
    crate::store::tail::policy(conn, read_latest_activation)
}

fn read_latest_activation(conn: &mut DbConn) -> StoreResult<Option<String>> {
    Ok(policy_activations::table
        .order(policy_activations::seq.desc())
        .select(policy_activations::version)
        .first(conn)
        .optional()?)
}

/// Every activation, oldest first.
pub fn activations(conn: &mut DbConn) -> StoreResult<Vec<ActivationRow>> {
    Ok(policy_activations::table
        .order(policy_activations::seq.asc())
        .select((
            policy_activations::seq,
            policy_activations::version,
            policy_activations::activated_at,
        ))
        .load(conn)?)
}

/// Record that entry `seq` activated `version`, in that entry's transaction.
pub fn record_activation(
    conn: &mut DbConn,
    seq: i64,
    version: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    crate::store::tail::forget_settings(conn);
    diesel::insert_into(policy_activations::table)
        .values((
            policy_activations::seq.eq(seq),
            policy_activations::version.eq(version),
            policy_activations::activated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
