//! Disputes: raising one, the ladder actions on it, migrating it, and reading
//! it (one, a page of them, its history). Each use case opens its own
//! transaction.
//!
//! Who may reach a dispute is not decided here. A use case about one dispute
//! takes `admit`, which sees the dispute as loaded inside the transaction (with
//! the policy it follows) and hands back the actor, or its refusal in the
//! caller's own error type (the HTTP edge's access table answers 404 or 403).

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::core::input::{self, InvalidInput};
use crate::core::ladder::{self, Actor, Command, Dispute, LadderError, Policy, Rung, Status};
use crate::service::deadline;
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::policy_store;
use crate::service::record::{record, record_raised};
use crate::service::scrutiny::text;
use crate::service::whistleblowing::{self as wb, WhistleKey};
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::disputes::{DisputeRecord, DisputeText, ListFilter};
use crate::store::error::StoreError;
use crate::store::ledger::{self as store, StoredEntry};

/// Decides whether the caller may reach a dispute: the actor, or the refusal.
pub trait Admit<E>: FnOnce(&Dispute, &Policy) -> Result<Actor, E> {}
impl<E, F: FnOnce(&Dispute, &Policy) -> Result<Actor, E>> Admit<E> for F {}

/// A failure inside a transaction about a dispute: the service's own, or the
/// caller's refusal to admit the actor (passed through untouched).
#[derive(Debug)]
pub(crate) enum Failed<E> {
    Service(ServiceError),
    Refused(E),
}

impl<E> From<ServiceError> for Failed<E> {
    fn from(e: ServiceError) -> Self {
        Failed::Service(e)
    }
}

impl<E> From<StoreError> for Failed<E> {
    fn from(e: StoreError) -> Self {
        Failed::Service(e.into())
    }
}

impl<E> From<diesel::result::Error> for Failed<E> {
    fn from(e: diesel::result::Error) -> Self {
        Failed::Service(e.into())
    }
}

impl<E> From<LadderError> for Failed<E> {
    fn from(e: LadderError) -> Self {
        Failed::Service(e.into())
    }
}

impl<E> From<InvalidInput> for Failed<E> {
    fn from(e: InvalidInput) -> Self {
        Failed::Service(e.into())
    }
}

impl<E: From<ServiceError>> Failed<E> {
    pub(crate) fn into_caller(self) -> E {
        match self {
            Failed::Service(e) => e.into(),
            Failed::Refused(e) => e,
        }
    }
}

/// Load dispute `id` with the policy it follows and let `admit` decide on it.
pub(crate) fn load_admitted<E>(
    conn: &mut DbConn,
    id: &str,
    admit: impl Admit<E>,
) -> Result<(Actor, DisputeRecord, Arc<Policy>), Failed<E>> {
    let rec =
        crate::store::disputes::load_dispute(conn, id)?.ok_or_else(ServiceError::not_found)?;
    let policy = policy_store::of(conn, &rec.state.policy)?;
    let actor = admit(&rec.state, &policy).map_err(Failed::Refused)?;
    Ok((actor, rec, policy))
}

/// A dispute with what its view shows beside the projection: the free text
/// of its `raised` entry and of each proposal (`None` once erased; the caller
/// decides who reads them) and its current deadline.
#[derive(Debug, Clone)]
pub struct DisputeRead {
    pub record: DisputeRecord,
    /// The `raised` entry's payload (`summary`, `child_ref`).
    pub raised: Option<Value>,
    /// Each proposal's payload (`resolution`), in `record.state.proposals` order.
    pub proposal_payloads: Vec<Option<Value>>,
    /// When the current rung's target falls; `None` when closed or untargeted.
    pub due_at: Option<NaiveDateTime>,
    /// Open and past `due_at` now.
    pub overdue: bool,
    /// The `seq` of the (last) ledger entry the request that answers with
    /// this wrote; `None` on a read.
    pub written_seq: Option<i64>,
}

/// The dispute as its views show it (payloads, deadline) from its record.
pub(crate) fn read_record(conn: &mut DbConn, rec: DisputeRecord) -> ServiceResult<DisputeRead> {
    read(conn, rec)
}

fn read(conn: &mut DbConn, rec: DisputeRecord) -> ServiceResult<DisputeRead> {
    let mut seqs = vec![rec.raised_seq];
    seqs.extend(rec.proposal_meta.iter().map(|(_, seq)| *seq));
    let mut texts = crate::store::disputes::payloads_of(conn, &seqs)?;
    let raised = texts.remove(&rec.raised_seq).flatten();
    let proposal_payloads = rec
        .proposal_meta
        .iter()
        .map(|(_, seq)| texts.get(seq).cloned().flatten())
        .collect();
    read_text(
        conn,
        DisputeText {
            record: rec,
            raised,
            proposal_payloads,
        },
    )
}

/// The dispute as its views show it, from a record loaded with its text:
/// no statement beyond the policy's (cached) lookup.
fn read_text(conn: &mut DbConn, text: DisputeText) -> ServiceResult<DisputeRead> {
    let DisputeText {
        record: rec,
        raised,
        proposal_payloads,
    } = text;
    let open = deadline::Open {
        id: rec.state.id.clone(),
        policy: rec.state.policy.clone(),
        status: rec.state.status,
        rung: rec.state.rung,
        urgent: rec.state.urgent,
        rung_entered_at: rec.rung_entered_at,
    };
    let policy = policy_store::of(conn, &rec.state.policy)?;
    let due_at = deadline::due_of(&[policy], &open);
    let overdue = due_at.is_some_and(|due| crate::core::clock::now().naive_utc() > due);
    Ok(DisputeRead {
        record: rec,
        raised,
        proposal_payloads,
        due_at,
        overdue,
        written_seq: None,
    })
}

/// Dispute `id` as its views show it, read in one statement.
fn reload(conn: &mut DbConn, id: &str) -> ServiceResult<DisputeRead> {
    let text =
        crate::store::disputes::load_dispute_text(conn, id)?.ok_or_else(ServiceError::not_found)?;
    read_text(conn, text)
}

/// A new dispute as asked for.
#[derive(Debug, Clone)]
pub struct NewDispute {
    pub parties: Vec<String>,
    pub summary: String,
    pub child_ref: Option<String>,
    pub urgent: bool,
    pub complex: bool,
    /// Record the raiser under a keyed pseudonym, keeping who it is aside.
    pub whistleblowing: bool,
}

/// Raise a dispute under the policy active now (for good); the dispute after it.
pub fn raise(
    conn: &mut DbConn,
    key: &WhistleKey,
    raiser: &Actor,
    new: NewDispute,
) -> ServiceResult<DisputeRead> {
    let whistleblower = new.whistleblowing.then(|| raiser.clone());
    let actor = match &whistleblower {
        Some(real) => key.masked(real),
        None => raiser.clone(),
    };
    let payload = json!({
        "summary": text("summary", &new.summary)?,
        "child_ref": input::child_ref(new.child_ref.as_deref())?,
    });
    let id = uuid::Uuid::new_v4().to_string();
    write_tx(conn, |conn| {
        let policy = policy_store::active(conn)?;
        let event = ladder::raise(
            &policy,
            raiser,
            &new.parties,
            new.urgent,
            new.complex,
            new.whistleblowing,
        )?;
        crate::service::registry::require_known(conn, &new.parties)?;
        let (entry, _) = record_raised(conn, &policy, &id, &actor, &event, payload)?;
        if let Some(real) = &whistleblower {
            wb::record_identity(conn, &actor.sub, real, entry.recorded_at)?;
        }
        let text = crate::store::disputes::load_dispute_text(conn, &id)?
            .ok_or_else(|| ServiceError::Internal("raised dispute vanished".into()))?;
        Ok(DisputeRead {
            written_seq: Some(entry.seq),
            ..read_text(conn, text)?
        })
    })
}

/// One ladder action on a dispute, as asked for.
#[derive(Debug, Clone)]
pub enum Action {
    Propose { resolution: String },
    Accept { proposal_id: String },
    Reject { proposal_id: String, reason: String },
    Escalate { reason: String },
    Withdraw { reason: String },
}

impl Action {
    /// The ladder command and its free text, checked.
    fn command(self) -> ServiceResult<(Command, Value)> {
        let reason =
            |r: &str| -> ServiceResult<Value> { Ok(json!({ "reason": text("reason", r)? })) };
        Ok(match self {
            Action::Propose { resolution } => {
                let resolution = text("resolution", &resolution)?;
                let cmd = Command::Propose {
                    proposal_id: uuid::Uuid::new_v4().to_string(),
                };
                (cmd, json!({ "resolution": resolution }))
            }
            Action::Accept { proposal_id } => (Command::Accept { proposal_id }, json!({})),
            Action::Reject {
                proposal_id,
                reason: r,
            } => (Command::Reject { proposal_id }, reason(&r)?),
            Action::Escalate { reason: r } => (Command::Escalate, reason(&r)?),
            Action::Withdraw { reason: r } => (Command::Withdraw, reason(&r)?),
        })
    }
}

/// Apply one ladder action to dispute `id` under the rules it follows; the
/// actor as recorded and the dispute after it.
pub fn act<E: From<ServiceError>>(
    conn: &mut DbConn,
    key: &WhistleKey,
    id: &str,
    action: Action,
    admit: impl Admit<E>,
) -> Result<(Actor, DisputeRead), E> {
    let (cmd, payload) = action.command()?;
    write_tx(conn, |conn| {
        // A dispute keeps the rules it was raised (or last migrated) under.
        let (actor, rec, rules) = load_admitted(conn, id, admit)?;
        // A whistleblower keeps acting under their pseudonym on their concern.
        let actor = key.mask_for(&rec.state, actor);
        let events = ladder::decide(&rules, &rec.state, &actor, &cmd)?;
        let mut d = rec.state;
        let mut last = None;
        for (i, event) in events.iter().enumerate() {
            // The command's free text belongs to its first event only.
            let p = if i == 0 { payload.clone() } else { json!({}) };
            last = Some(record(conn, &rules, &mut d, &actor, event, p)?.seq);
        }
        let read = DisputeRead {
            written_seq: last,
            ..reload(conn, id)?
        };
        Ok((actor, read))
    })
    .map_err(Failed::into_caller)
}

/// Moving a dispute onto another policy, as asked for.
#[derive(Debug, Clone)]
pub struct Migration {
    pub policy: String,
    pub rung: Option<String>,
    pub reason: String,
}

/// Move dispute `id` onto the active policy: only onto the active one. Open
/// proposals lapse and the rung's clock restarts.
pub fn migrate<E: From<ServiceError>>(
    conn: &mut DbConn,
    id: &str,
    to: Migration,
    admit: impl Admit<E>,
) -> Result<(Actor, DisputeRead), E> {
    let reason = text("reason", &to.reason)?;
    write_tx(conn, |conn| {
        let (actor, rec, _) = load_admitted(conn, id, admit)?;
        let active = policy_store::active(conn)?;
        if to.policy != active.version {
            return Err(ServiceError::Conflict(format!(
                "a dispute can move only onto the active policy, {}",
                active.version
            ))
            .into());
        }
        let event = ladder::migrate(&active, &rec.state, &actor, to.rung.as_deref())?;
        let mut d = rec.state;
        let entry = record(
            conn,
            &active,
            &mut d,
            &actor,
            &event,
            json!({ "reason": reason }),
        )?;
        let read = DisputeRead {
            written_seq: Some(entry.seq),
            ..reload(conn, id)?
        };
        Ok((actor, read))
    })
    .map_err(Failed::into_caller)
}

/// Dispute `id` as `admit` lets the caller see it.
pub fn get<E: From<ServiceError>>(
    conn: &mut DbConn,
    id: &str,
    admit: impl Admit<E>,
) -> Result<(Actor, DisputeRead), E> {
    // One statement, so one snapshot without a transaction around it (the
    // policy it follows never changes under its version, and is cached).
    let get = || -> Result<(Actor, DisputeRead), Failed<E>> {
        let text = crate::store::disputes::load_dispute_text(conn, id)?
            .ok_or_else(ServiceError::not_found)?;
        let policy = policy_store::of(conn, &text.record.state.policy)?;
        let actor = admit(&text.record.state, &policy).map_err(Failed::Refused)?;
        Ok((actor, read_text(conn, text)?))
    };
    get().map_err(Failed::into_caller)
}

/// Up to `limit` of dispute `id`'s ledger entries after `after` (a `seq`),
/// oldest first.
pub fn history<E: From<ServiceError>>(
    conn: &mut DbConn,
    id: &str,
    after: Option<i64>,
    limit: i64,
    admit: impl Admit<E>,
) -> Result<(Actor, Vec<StoredEntry>), E> {
    read_tx(conn, |conn| {
        let (actor, _, _) = load_admitted(conn, id, admit)?;
        let from = after.map_or(0, |s| s.saturating_add(1));
        Ok((actor, store::entries(conn, Some(id), from, limit)?))
    })
    .map_err(Failed::into_caller)
}

/// Which disputes a list may hold (the caller's sight, decided by the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    All,
    /// Those this agency is a party to.
    PartyOf(String),
    /// Those on the rungs from which chief officers see disputes.
    ChiefOfficerRungs,
    Nothing,
}

/// A list request: filters, then a keyset page (newest first).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    /// A rung name of any policy here.
    pub rung: Option<String>,
    pub agency: Option<String>,
    pub overdue: Option<bool>,
    /// Only disputes raised before this `raised_seq` (the last one of the page before).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Up to `q.limit` of the disputes `visible` lets the caller see, newest
/// first (by the `raised` entry's `seq`).
pub fn list(conn: &mut DbConn, visible: Visible, q: ListQuery) -> ServiceResult<Vec<DisputeRead>> {
    let mut filter = ListFilter {
        status: q.status,
        rung: None,
        agency: q.agency,
        keep: None,
        visible_to_agency: match &visible {
            Visible::PartyOf(a) => Some(a.clone()),
            _ => None,
        },
        only_rungs: None,
        before: q.before,
        limit: q.limit,
    };
    let items = if visible == Visible::Nothing {
        Vec::new()
    } else {
        read_tx(conn, |conn| {
            // Rung names and chief officers' rungs come from the policies.
            let chief = visible == Visible::ChiefOfficerRungs;
            let policies = if q.rung.is_some() || chief {
                policy_store::all(conn)?
            } else {
                Vec::new()
            };
            // Looked up, not parsed: a query never adds a rung name.
            if let Some(name) = &q.rung {
                let rung: Option<Rung> = policies
                    .iter()
                    .flat_map(|p| p.rungs.iter().map(|r| r.rung))
                    .find(|r| r.as_str() == name);
                filter.rung = Some(rung.ok_or_else(|| {
                    ServiceError::BadRequest(format!("no policy here has a rung '{name}'"))
                })?);
            }
            if let Some(want) = q.overdue {
                let all = policy_store::all(conn)?;
                let now = crate::core::clock::now().naive_utc();
                filter.keep = Some(Arc::new(move |row| {
                    let open = deadline::open_from(row)
                        .map_err(|e| StoreError::Internal(e.to_string()))?;
                    Ok(deadline::is_overdue(&all, &open, now) == want)
                }));
            }
            if chief {
                let only = policies
                    .iter()
                    .map(|p| (p.version.clone(), p.chief_officer_rungs()))
                    .collect();
                filter.only_rungs = Some(only);
            }
            let records = crate::store::disputes::list_disputes(conn, &filter)?;
            // Every payload the page shows, in one statement.
            let seqs: Vec<i64> = records
                .iter()
                .flat_map(|r| {
                    std::iter::once(r.raised_seq).chain(r.proposal_meta.iter().map(|(_, s)| *s))
                })
                .collect();
            let mut texts = crate::store::disputes::payloads_of(conn, &seqs)?;
            records
                .into_iter()
                .map(|rec| {
                    let raised = texts.remove(&rec.raised_seq).flatten();
                    let proposal_payloads = rec
                        .proposal_meta
                        .iter()
                        .map(|(_, seq)| texts.get(seq).cloned().flatten())
                        .collect();
                    read_text(
                        conn,
                        DisputeText {
                            record: rec,
                            raised,
                            proposal_payloads,
                        },
                    )
                })
                .collect::<ServiceResult<Vec<_>>>()
        })?
    };
    Ok(items)
}
