//! The agency registry's table: seeded once from the seed's lists, as one
//! ledger entry; then agencies added, changed and retired (the use cases in
//! `service::registry` append their entries and call the writes here).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Role};
use crate::core::ledger::{format_time, NewEntry};
use crate::core::registry::{Agency, AgencyKind, SeedAgency};
use crate::store::db::DbConn;
use crate::store::error::StoreError;
use crate::store::ledger::append;
use crate::store::schema::agencies;

/// One `agencies` row.
#[derive(Debug, Queryable)]
struct Row {
    id: String,
    name: String,
    kind: String,
    statutory_partner: Option<String>,
    retired_at: Option<NaiveDateTime>,
}

fn agency_of(r: Row) -> Result<Agency, StoreError> {
    Ok(Agency {
        kind: AgencyKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Internal(format!("agency {}: kind '{}'", r.id, r.kind)))?,
        statutory_partner: r
            .statutory_partner
            .map(|p| p.parse())
            .transpose()
            .map_err(StoreError::Internal)?,
        retired_at: r.retired_at.as_ref().map(format_time),
        id: r.id,
        name: r.name,
    })
}

const COLUMNS: (
    agencies::id,
    agencies::name,
    agencies::kind,
    agencies::statutory_partner,
    agencies::retired_at,
) = (
    agencies::id,
    agencies::name,
    agencies::kind,
    agencies::statutory_partner,
    agencies::retired_at,
);

/// Every agency, retired ones included, by id.
pub fn list_agencies(conn: &mut DbConn) -> Result<Vec<Agency>, StoreError> {
    let rows: Vec<Row> = agencies::table
        .select(COLUMNS)
        .order(agencies::id.asc())
        .load(conn)?;
    rows.into_iter().map(agency_of).collect()
}

/// One agency, retired or not.
pub fn get_agency(conn: &mut DbConn, id: &str) -> Result<Option<Agency>, StoreError> {
    let row: Option<Row> = agencies::table
        .select(COLUMNS)
        .filter(agencies::id.eq(id))
        .first(conn)
        .optional()?;
    row.map(agency_of).transpose()
}

/// The agencies among `ids` (retired ones included). Inside a write
/// transaction the registry is read once (`store::tail`).
pub fn agencies_among(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Agency>, StoreError> {
    let all = crate::store::tail::agencies(conn, list_agencies)?;
    Ok(all.into_iter().filter(|a| ids.contains(&a.id)).collect())
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
pub fn seed_registry(conn: &mut DbConn, seed: &[SeedAgency]) -> Result<bool, StoreError> {
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
    for a in seed {
        insert_agency(conn, &a.clone().into())?;
    }
    Ok(true)
}

/// Add one agency's row. Call in the transaction of its entry.
pub fn insert_agency(conn: &mut DbConn, a: &Agency) -> Result<(), StoreError> {
    crate::store::tail::forget_settings(conn);
    diesel::insert_into(agencies::table)
        .values((
            agencies::id.eq(&a.id),
            agencies::name.eq(&a.name),
            agencies::kind.eq(a.kind.as_str()),
            agencies::statutory_partner.eq(a.statutory_partner.map(|p| p.as_str())),
        ))
        .execute(conn)?;
    Ok(())
}

/// The registry's rows, as a `registry_seeded` entry lists them (also `restore`).
pub fn insert_agencies(conn: &mut DbConn, list: &[Agency]) -> Result<(), StoreError> {
    for a in list {
        insert_agency(conn, a)?;
    }
    Ok(())
}

/// Set an agency's name and kind. Call in the transaction of its entry.
pub fn update_agency(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    kind: AgencyKind,
) -> Result<(), StoreError> {
    crate::store::tail::forget_settings(conn);
    let n = diesel::update(agencies::table.filter(agencies::id.eq(id)))
        .set((agencies::name.eq(name), agencies::kind.eq(kind.as_str())))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Mark an agency retired at its entry's `recorded_at`. Call in that entry's transaction.
pub fn retire_agency(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    crate::store::tail::forget_settings(conn);
    let n = diesel::update(agencies::table.filter(agencies::id.eq(id)))
        .set(agencies::retired_at.eq(Some(at)))
        .execute(conn)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
