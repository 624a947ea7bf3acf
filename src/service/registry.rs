//! The agency registry as the use cases see it: listing and reading it, the
//! one check that every agency a request names is in it and not retired, and
//! the partnership's changes to it (add, change, retire), each one ledger
//! entry with its row in one write transaction. The rules are
//! `core::registry`'s; [`replay`] is how `verify` applies the same ones.
//!
//! Facts hold the agency's id and kind; its name is in the payload, so that
//! it can be erased (a childminder registered under `childcare` is a person).

use serde::Deserialize;
use serde_json::json;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Role};
use crate::core::ledger::{format_time, NewEntry};
use crate::core::registry::{
    agency_id, agency_name, check_active, check_new, check_retire, check_update, Agency,
    AgencyKind, Registry, RegistryError,
};
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::agencies;
use crate::store::db::{write_tx, DbConn};
use crate::store::ledger::{append, StoredEntry};

fn refused(e: RegistryError) -> ServiceError {
    match e {
        RegistryError::Invalid(m) => ServiceError::BadRequest(m),
        e @ RegistryError::NotFound(_) => ServiceError::NotFound(e.to_string()),
        RegistryError::Conflict(m) => ServiceError::Conflict(m),
        RegistryError::Unprocessable(m) => ServiceError::Unprocessable(m),
    }
}

fn admin_only(actor: &Actor) -> ServiceResult<()> {
    if actor.role == Role::PartnershipAdmin {
        Ok(())
    } else {
        Err(ServiceError::Denied(
            "only partnership_admin changes the registry".into(),
        ))
    }
}

/// Up to `limit` agencies of the registry with ids after `after`, by id.
/// The registry is a few hundred rows at most, read whole and cut here.
pub fn agencies(conn: &mut DbConn, after: Option<&str>, limit: i64) -> ServiceResult<Vec<Agency>> {
    let mut all = agencies::list_agencies(conn)?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all
        .into_iter()
        .filter(|a| after.is_none_or(|k| a.id.as_str() > k))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

/// One agency, retired or not; 400 for an id that could not be one.
pub fn agency(conn: &mut DbConn, id: &str) -> ServiceResult<Agency> {
    agency_id(id).map_err(refused)?;
    agencies::get_agency(conn, id)?.ok_or_else(|| refused(RegistryError::NotFound(id.to_string())))
}

/// Refuse (422) unless every id in `ids` names an agency in the registry that
/// is not retired: anything new (a dispute, a mediation, a review, a webhook)
/// names active agencies only.
pub fn require_known(conn: &mut DbConn, ids: &[String]) -> ServiceResult<()> {
    let found = agencies::agencies_among(conn, ids)?;
    check_active(ids, |id| found.iter().find(|a| a.id == id)).map_err(refused)
}

/// What adding an agency needs.
#[derive(Debug, Clone)]
pub struct NewAgency {
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
}

/// Add an agency (`agency_registered`): the agency and its entry's `seq`.
pub fn register(conn: &mut DbConn, actor: &Actor, new: NewAgency) -> ServiceResult<(Agency, i64)> {
    admin_only(actor)?;
    agency_id(&new.id).map_err(refused)?;
    let name = agency_name(&new.name).map_err(refused)?;
    write_tx(conn, |conn| {
        let existing = agencies::get_agency(conn, &new.id)?;
        check_new(existing.as_ref(), &new.id).map_err(refused)?;
        let entry = append(
            conn,
            NewEntry {
                dispute_id: None,
                event: LedgerEvent::AgencyRegistered.as_str().into(),
                actor: actor.clone(),
                facts: json!({ "agency": new.id, "kind": new.kind }),
                payload: json!({ "name": name }),
            },
        )?;
        let a = Agency {
            id: new.id.clone(),
            name,
            kind: new.kind,
            statutory_partner: None,
            retired_at: None,
        };
        agencies::insert_agency(conn, &a)?;
        Ok((a, entry.seq))
    })
}

/// Rename an agency or change its kind (`agency_updated`, holding both as
/// they are after it): the agency and the entry's `seq`.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    name: Option<String>,
    kind: Option<AgencyKind>,
) -> ServiceResult<(Agency, i64)> {
    admin_only(actor)?;
    agency_id(id).map_err(refused)?;
    if name.is_none() && kind.is_none() {
        return Err(ServiceError::BadRequest(
            "give a new name, a new kind, or both".into(),
        ));
    }
    let name = name
        .as_deref()
        .map(agency_name)
        .transpose()
        .map_err(refused)?;
    write_tx(conn, |conn| {
        let current = agencies::get_agency(conn, id)?;
        let next = check_update(id, current.as_ref(), name, kind).map_err(refused)?;
        let entry = append(
            conn,
            NewEntry {
                dispute_id: None,
                event: LedgerEvent::AgencyUpdated.as_str().into(),
                actor: actor.clone(),
                facts: json!({ "agency": id, "kind": next.kind }),
                payload: json!({ "name": next.name }),
            },
        )?;
        agencies::update_agency(conn, id, &next.name, next.kind)?;
        Ok((next, entry.seq))
    })
}

/// Retire an agency (`agency_retired`): it stays in the disputes that name
/// it; new ones cannot. The agency and the entry's `seq`.
pub fn retire(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<(Agency, i64)> {
    admin_only(actor)?;
    agency_id(id).map_err(refused)?;
    write_tx(conn, |conn| {
        let current = agencies::get_agency(conn, id)?;
        check_retire(id, current.as_ref()).map_err(refused)?;
        let entry = append(
            conn,
            NewEntry {
                dispute_id: None,
                event: LedgerEvent::AgencyRetired.as_str().into(),
                actor: actor.clone(),
                facts: json!({ "agency": id }),
                payload: json!({}),
            },
        )?;
        agencies::retire_agency(conn, id, entry.recorded_at)?;
        let a = agencies::get_agency(conn, id)?
            .ok_or_else(|| refused(RegistryError::NotFound(id.to_string())))?;
        Ok((a, entry.seq))
    })
}

// ---- replay, for verify ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Facts {
    agency: String,
    #[serde(default)]
    kind: Option<AgencyKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
}

/// Apply one `agency_registered`, `agency_updated` or `agency_retired` entry
/// to the registry replayed so far, by the rules the use cases follow.
pub fn replay(reg: &mut Registry, kind: LedgerEvent, s: &StoredEntry) -> Result<(), String> {
    let e = &s.entry;
    if e.actor.role != Role::PartnershipAdmin {
        return Err(format!(
            "an '{kind}' entry by someone other than partnership_admin"
        ));
    }
    let f: Facts = serde_json::from_value(e.facts.clone())
        .map_err(|err| format!("unreadable '{kind}' facts: {err}"))?;
    // The name, unless an approved redaction erased it.
    let name = || -> Result<Option<String>, String> {
        let Some(p) = &s.payload else { return Ok(None) };
        let n: Named =
            serde_json::from_str(p).map_err(|err| format!("unreadable '{kind}' payload: {err}"))?;
        agency_name(&n.name)
            .map(Some)
            .map_err(|err| err.to_string())
    };
    let kind_of = || {
        f.kind
            .ok_or_else(|| format!("an '{kind}' entry without a kind"))
    };
    let done = match kind {
        LedgerEvent::AgencyRegistered => reg.register(&f.agency, kind_of()?, name()?),
        LedgerEvent::AgencyUpdated => reg.update(&f.agency, kind_of()?, name()?),
        LedgerEvent::AgencyRetired if f.kind.is_none() => {
            reg.retire(&f.agency, format_time(&e.recorded_at))
        }
        _ => return Err(format!("a '{kind}' entry is not a registry change")),
    };
    done.map_err(|err| err.to_string())
}
