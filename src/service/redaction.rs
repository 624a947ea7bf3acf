//! Erasing a ledger payload (personal data) without breaking verification.
//!
//! Two steps, each its own ledger entry in the transaction that has its effect:
//! a `partnership_admin` records `redaction_requested`, then a `scrutineer`
//! who is not the requester records `redaction_approved`, and the same
//! transaction sets the target's `ledger_payloads.payload` to NULL. The target
//! entry and its `payload_hash` stay, so the chain and the tree still verify.
//! The `redactions` table is the projection of the two events; `verify`
//! rebuilds it with [`Replay`] and requires every NULL payload to be explained
//! by an approved redaction.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Role};
use crate::core::ledger::NewEntry;
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger::{self as store, StoredEntry};
use crate::store::redactions::{self, RedactionRow};

/// One row of `redactions`: the target entry, its request and (once done) approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Redaction {
    /// The entry whose payload is (to be) erased.
    pub target_seq: i64,
    /// The newest entry of this redaction: the approval once there is one,
    /// else the request (what an action's `seq` is everywhere).
    pub seq: i64,
    /// The `redaction_requested` entry.
    pub requested_seq: i64,
    /// The `redaction_approved` entry; null while the request is pending.
    pub approved_seq: Option<i64>,
}

impl From<RedactionRow> for Redaction {
    fn from(r: RedactionRow) -> Self {
        Redaction::new(r.seq, r.requested_seq, r.approved_seq)
    }
}

impl Redaction {
    fn new(target_seq: i64, requested_seq: i64, approved_seq: Option<i64>) -> Self {
        Redaction {
            target_seq,
            seq: approved_seq.unwrap_or(requested_seq),
            requested_seq,
            approved_seq,
        }
    }
}

/// An erased payload, as `verify` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Redacted {
    pub seq: i64,
    /// The `seq` of the `redaction_approved` entry that erased it.
    pub redacted_by: i64,
}

/// Which step a caller's role takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Request,
    Approve,
}

/// `partnership_admin` requests, `scrutineer` approves. (Who may call the
/// redaction route at all is `http::authz`'s table, which lets only these
/// two roles through; any other is refused here too.)
pub fn step_for(actor: &Actor) -> Result<Step, ServiceError> {
    match actor.role {
        Role::PartnershipAdmin => Ok(Step::Request),
        Role::Scrutineer => Ok(Step::Approve),
        other => Err(ServiceError::Denied(format!(
            "{other} takes no redaction step"
        ))),
    }
}

/// Every redaction, pending or done, by target seq.
/// A page of redactions: targets after `after`, at most `fetch`.
pub fn page(
    conn: &mut DbConn,
    after: Option<i64>,
    fetch: i64,
) -> Result<Vec<Redaction>, ServiceError> {
    Ok(redactions::page(conn, after, fetch)?
        .into_iter()
        .map(Redaction::from)
        .collect())
}

pub fn list(conn: &mut DbConn) -> Result<Vec<Redaction>, ServiceError> {
    Ok(redactions::list(conn)?
        .into_iter()
        .map(Redaction::from)
        .collect())
}

/// Take `step` on entry `target`. Call inside [`crate::store::db::write_tx`]: the
/// entry, the projection row and (on approval) the erasure commit together.
pub fn redact(
    conn: &mut DbConn,
    actor: &Actor,
    step: Step,
    target: i64,
    payload: Value,
) -> Result<Redaction, ServiceError> {
    let dispute_id: Option<String> = redactions::entry_dispute(conn, target)?
        .ok_or_else(|| ServiceError::NotFound(format!("no ledger entry {target}")))?;
    let existing = redactions::find(conn, target)?.map(Redaction::from);
    if let Some(Redaction {
        approved_seq: Some(by),
        ..
    }) = existing
    {
        return Err(ServiceError::Conflict(format!(
            "the payload of entry {target} was already erased (approved at seq {by})"
        )));
    }
    match step {
        Step::Request => {
            if let Some(r) = existing {
                return Err(ServiceError::Conflict(format!(
                    "a redaction of entry {target} is already pending (requested at seq {})",
                    r.requested_seq
                )));
            }
            if !redactions::payload_present(conn, target)? {
                return Err(ServiceError::Conflict(format!(
                    "the payload of entry {target} is already erased"
                )));
            }
            let entry = store::append(
                conn,
                NewEntry {
                    dispute_id,
                    event: LedgerEvent::RedactionRequested.as_str().into(),
                    actor: actor.clone(),
                    facts: json!({ "seq": target }),
                    payload,
                },
            )?;
            let row = Redaction::new(target, entry.seq, None);
            redactions::insert_request(conn, row.target_seq, row.requested_seq)?;
            Ok(row)
        }
        Step::Approve => {
            let Some(pending) = existing else {
                return Err(ServiceError::Conflict(format!(
                    "no pending redaction request for entry {target}"
                )));
            };
            let requester = redactions::entry_actor_sub(conn, pending.requested_seq)?;
            if requester == actor.sub {
                return Err(ServiceError::Forbidden(
                    "a redaction must be approved by someone other than its requester".into(),
                ));
            }
            let entry = store::append(
                conn,
                NewEntry {
                    dispute_id,
                    event: LedgerEvent::RedactionApproved.as_str().into(),
                    actor: actor.clone(),
                    facts: json!({ "seq": target, "request_seq": pending.requested_seq }),
                    payload,
                },
            )?;
            redactions::set_approved(conn, target, entry.seq)?;
            let erased = redactions::erase_payload(conn, target)?;
            if erased != 1 {
                return Err(ServiceError::Internal(format!(
                    "entry {target} has no payload row to erase"
                )));
            }
            // An erased address list is erased where email reads it, too.
            crate::store::email::erase_list(conn, target)?;
            Ok(Redaction::new(
                target,
                pending.requested_seq,
                Some(entry.seq),
            ))
        }
    }
}

// ---- replay, for `verify` ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFacts {
    seq: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalFacts {
    seq: i64,
    request_seq: i64,
}

struct Open {
    requested_seq: i64,
    requester: String,
    approved_seq: Option<i64>,
}

/// The redaction state replayed from the ledger, fed every entry in order.
#[derive(Default)]
pub struct Replay {
    by_target: BTreeMap<i64, Open>,
    /// Entries seen with no payload.
    erased: BTreeSet<i64>,
    /// (redaction entry, its dispute_id, target), to check the dispute_ids match.
    links: Vec<(i64, Option<String>, i64)>,
}

impl Replay {
    pub fn is_redaction(event: &str) -> bool {
        matches!(
            LedgerEvent::parse(event),
            Some(LedgerEvent::RedactionRequested | LedgerEvent::RedactionApproved)
        )
    }

    /// Note whether an entry's payload is present; call for every entry, in order.
    pub fn saw(&mut self, s: &StoredEntry) {
        if s.payload.is_none() {
            self.erased.insert(s.entry.seq);
        }
    }

    /// Replay one `redaction_requested` or `redaction_approved` entry.
    pub fn apply(&mut self, s: &StoredEntry) -> Result<(), String> {
        let e = &s.entry;
        let target = match LedgerEvent::parse(&e.event) {
            Some(LedgerEvent::RedactionRequested) => {
                let f: RequestFacts = serde_json::from_value(e.facts.clone())
                    .map_err(|err| format!("unreadable 'redaction_requested' facts: {err}"))?;
                if e.actor.role != Role::PartnershipAdmin {
                    return Err(format!(
                        "a redaction requested by {}, not a partnership_admin",
                        e.actor.role.with_article()
                    ));
                }
                self.check_target(f.seq, e.seq)?;
                if let Some(o) = self.by_target.get(&f.seq) {
                    return Err(format!(
                        "a second redaction request for entry {} (the first is at seq {})",
                        f.seq, o.requested_seq
                    ));
                }
                self.by_target.insert(
                    f.seq,
                    Open {
                        requested_seq: e.seq,
                        requester: e.actor.sub.clone(),
                        approved_seq: None,
                    },
                );
                f.seq
            }
            Some(LedgerEvent::RedactionApproved) => {
                let f: ApprovalFacts = serde_json::from_value(e.facts.clone())
                    .map_err(|err| format!("unreadable 'redaction_approved' facts: {err}"))?;
                if e.actor.role != Role::Scrutineer {
                    return Err(format!(
                        "a redaction approved by {}, not a scrutineer",
                        e.actor.role.with_article()
                    ));
                }
                self.check_target(f.seq, e.seq)?;
                let open = self.by_target.get_mut(&f.seq).ok_or_else(|| {
                    format!("redaction of entry {} approved before any request", f.seq)
                })?;
                if open.requested_seq != f.request_seq {
                    return Err(format!(
                        "the approval names request seq {}, the request for entry {} is at seq {}",
                        f.request_seq, f.seq, open.requested_seq
                    ));
                }
                if let Some(by) = open.approved_seq {
                    return Err(format!(
                        "redaction of entry {} approved twice (first at seq {by})",
                        f.seq
                    ));
                }
                if open.requester == e.actor.sub {
                    return Err(format!(
                        "redaction of entry {} approved by its own requester",
                        f.seq
                    ));
                }
                if !self.erased.contains(&f.seq) {
                    return Err(format!(
                        "the payload of entry {} is still present after its approved redaction",
                        f.seq
                    ));
                }
                open.approved_seq = Some(e.seq);
                f.seq
            }
            _ => return Err(format!("'{}' is not a redaction event", e.event)),
        };
        self.links.push((e.seq, e.dispute_id.clone(), target));
        Ok(())
    }

    fn check_target(&self, target: i64, at: i64) -> Result<(), String> {
        if !(0..at).contains(&target) {
            return Err(format!(
                "a redaction may only name an earlier entry, not seq {target}"
            ));
        }
        Ok(())
    }

    /// The first entry with no payload that no approved redaction explains.
    pub fn unexplained(&self) -> Option<i64> {
        self.erased.iter().copied().find(|seq| {
            self.by_target
                .get(seq)
                .is_none_or(|o| o.approved_seq.is_none())
        })
    }

    /// Every approved redaction, by target.
    pub fn redacted(&self) -> Vec<Redacted> {
        self.by_target
            .iter()
            .filter_map(|(seq, o)| {
                o.approved_seq.map(|by| Redacted {
                    seq: *seq,
                    redacted_by: by,
                })
            })
            .collect()
    }

    /// A redaction entry whose `dispute_id` is not its target's: (entry seq, problem).
    pub fn dispute_mismatch(
        &self,
        conn: &mut DbConn,
    ) -> Result<Option<(i64, String)>, ServiceError> {
        let targets: Vec<i64> = self
            .links
            .iter()
            .map(|(_, _, t)| *t)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let of = redactions::disputes_of(conn, &targets)?;
        Ok(self.links.iter().find_map(|(seq, dispute, target)| {
            (of.get(target) != Some(dispute)).then(|| {
                (
                    *seq,
                    format!("the redaction at seq {seq} does not carry the dispute_id of entry {target}"),
                )
            })
        }))
    }

    /// Where the `redactions` table differs from the replay, if it does.
    pub fn table_mismatch(&self, conn: &mut DbConn) -> Result<Option<String>, ServiceError> {
        let stored = list(conn)?;
        let expected: Vec<Redaction> = self
            .by_target
            .iter()
            .map(|(seq, o)| Redaction::new(*seq, o.requested_seq, o.approved_seq))
            .collect();
        if stored == expected {
            return Ok(None);
        }
        let at = stored
            .iter()
            .zip(expected.iter())
            .find(|(a, b)| a != b)
            .map(|(a, b)| a.target_seq.min(b.target_seq))
            .or_else(|| {
                let n = stored.len().min(expected.len());
                stored.get(n).or(expected.get(n)).map(|r| r.target_seq)
            })
            .unwrap_or_default();
        Ok(Some(format!(
            "the redactions table differs from the ledger at entry {at}"
        )))
    }
}
