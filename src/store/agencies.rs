//! The agency registry: seeded once from the seed's lists, as one ledger entry.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Role};
use crate::core::ledger::NewEntry;
use crate::core::registry::Agency;
use crate::store::db::DbConn;
use crate::store::error::StoreError;
use crate::store::ledger::append;
use crate::store::schema::agencies;

pub fn list_agencies(conn: &mut DbConn) -> Result<Vec<Agency>, StoreError> {
    let rows: Vec<(String, String, String, Option<String>)> =
        agencies::table.order(agencies::id.asc()).load(conn)?;
    rows.into_iter()
        .map(|(id, name, kind, p)| {
            Ok(Agency {
                id,
                name,
                kind,
                statutory_partner: p
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(StoreError::Internal)?,
            })
        })
        .collect()
}

/// The registry is seeded by the system actor.
pub fn system_actor() -> Actor {
    Actor {
        sub: "system".into(),
        role: Role::PartnershipAdmin,
        agency: None,
        partner: None,
    }
}

/// Seed the registry once, as one ledger entry. Call inside a write transaction.
pub fn seed_registry(conn: &mut DbConn, seed: &[Agency]) -> Result<bool, StoreError> {
    let present: i64 = agencies::table.count().get_result(conn)?;
    if present > 0 {
        return Ok(false);
    }
    append(
        conn,
        NewEntry {
            dispute_id: None,
            event: LedgerEvent::RegistrySeeded.as_str().into(),
            actor: system_actor(),
            facts: serde_json::json!({ "agencies": seed }),
            payload: serde_json::json!({}),
        },
    )?;
    insert_agencies(conn, seed)?;
    Ok(true)
}

/// The registry's rows, as a `registry_seeded` entry lists them (also `restore`).
pub fn insert_agencies(conn: &mut DbConn, list: &[Agency]) -> QueryResult<()> {
    for a in list {
        diesel::insert_into(agencies::table)
            .values((
                agencies::id.eq(&a.id),
                agencies::name.eq(&a.name),
                agencies::kind.eq(&a.kind),
                agencies::statutory_partner.eq(a.statutory_partner.map(|p| p.as_str())),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Which of these ids are not in the registry.
pub fn unknown_agencies(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<String>> {
    let known: BTreeSet<String> = agencies::table
        .filter(agencies::id.eq_any(ids))
        .select(agencies::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .filter(|i| !known.contains(*i))
        .cloned()
        .collect())
}
