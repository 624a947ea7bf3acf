//! Email: who gets it and what it says.
//!
//! * Who: an address list per agency and per role, set by `partnership_admin`
//!   as a ledgered registry change, one `email_recipients_set` entry each. Its
//!   facts hold the target only (`{"agency": id}` or `{"role": role}`); the
//!   addresses are staff personal data, so they are in the entry's erasable
//!   payload (and in `email_recipients`), never in the hashed facts. An empty
//!   list stops email to that target.
//! * When: [`enqueue`] is called by `service::notify::enqueue` for every
//!   notification event webhooks carry, in the entry's transaction: one
//!   `outbox` row of the `email` channel per distinct address of a party
//!   agency's list or of the list of a role due to act next. The same outbox
//!   as webhooks, so the same no-loss guarantee: the row commits with the
//!   entry or not at all; `workers::mailer` claims the email rows, sends,
//!   retries with backoff and records the status through the same
//!   `store::outbox` code as the webhook sender (`GET /v1/admin/email/deliveries`).
//! * What: [`render`]: the event's name and a link to the dispute's console
//!   page. No summary, no reason, no child reference: the reader signs in.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::core::event::LedgerEvent;
use crate::core::ladder::{Actor, Role};
use crate::core::ledger::{format_time, Entry, NewEntry};
use crate::core::target::Target;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::email as store;
use crate::store::ledger::{append, StoredEntry};
use crate::store::outbox::{self as outbox, Deliveries, DeliveryRow, DeliveryStatus};

/// Most addresses on one list.
pub const MAX_ADDRESSES: usize = 50;

/// One target's address list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recipients {
    pub target: Target,
    /// Lower-cased, sorted, distinct.
    pub addresses: Vec<String>,
    /// The `seq` of the `email_recipients_set` entry that set this list.
    pub seq: i64,
}

/// One email: an entry for one address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailDelivery {
    /// Stable across retries; also the email's `Message-ID` (SMTP) or
    /// `reference` (Notify), so a receiver can drop a repeat.
    pub id: String,
    pub seq: i64,
    pub dispute_id: String,
    pub event: String,
    pub recipient: String,
    /// `pending`, `delivered` or `failed` (attempts exhausted).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

fn columns(t: &Target) -> (&'static str, String) {
    t.columns()
}

fn target_of(kind: &str, value: &str) -> Result<Target, String> {
    Target::from_columns(kind, value)
}

/// Check and normalise a list: each an email address (RFC 5321 as lettre
/// reads it), at most [`MAX_ADDRESSES`], lower-cased, sorted, distinct.
pub fn check_addresses(given: &[String]) -> ServiceResult<Vec<String>> {
    if given.len() > MAX_ADDRESSES {
        return Err(ServiceError::Unprocessable(format!(
            "at most {MAX_ADDRESSES} addresses on one list, not {}",
            given.len()
        )));
    }
    let mut out = BTreeSet::new();
    for a in given {
        let a = a.trim().to_lowercase();
        if a.len() > 254 || lettre::Address::from_str(&a).is_err() {
            return Err(ServiceError::Unprocessable(format!(
                "'{}' is not an email address",
                a.chars().take(80).collect::<String>()
            )));
        }
        out.insert(a);
    }
    Ok(out.into_iter().collect())
}

/// Set `target`'s list (`partnership_admin`): one `email_recipients_set`
/// entry (target in the facts, addresses in the payload) and its row.
pub fn set_recipients(
    conn: &mut DbConn,
    actor: &Actor,
    target: Target,
    addresses: &[String],
) -> ServiceResult<Recipients> {
    if actor.role != Role::PartnershipAdmin {
        return Err(ServiceError::Denied(
            "only partnership_admin sets who gets email".into(),
        ));
    }
    let addresses = check_addresses(addresses)?;
    write_tx(conn, |conn| {
        if let Target::Agency(a) = &target {
            crate::service::registry::require_known(conn, std::slice::from_ref(a))?;
        }
        let entry = append(
            conn,
            NewEntry {
                dispute_id: None,
                event: LedgerEvent::EmailRecipientsSet.as_str().into(),
                actor: actor.clone(),
                facts: json!({ "target": target }),
                payload: json!({ "addresses": addresses }),
            },
        )?;
        let (kind, value) = columns(&target);
        let list =
            serde_json::to_string(&addresses).map_err(|e| ServiceError::Internal(e.to_string()))?;
        store::set_recipients(conn, kind, &value, &list, entry.seq)?;
        Ok(Recipients {
            target: target.clone(),
            addresses: addresses.clone(),
            seq: entry.seq,
        })
    })
}

fn parse_list(s: &str) -> Result<Vec<String>, ServiceError> {
    serde_json::from_str(s).map_err(|e| ServiceError::Internal(format!("email_recipients: {e}")))
}

/// Every target's list, agencies then roles.
pub fn recipients(conn: &mut DbConn) -> ServiceResult<Vec<Recipients>> {
    read_tx(conn, |conn| {
        store::all_recipients(conn)?
            .into_iter()
            .map(|(kind, target, list, seq)| {
                Ok(Recipients {
                    target: target_of(&kind, &target).map_err(ServiceError::Internal)?,
                    addresses: parse_list(&list)?,
                    seq,
                })
            })
            .collect()
    })
}

/// The id of the email of entry `seq` to `address`: the zero-padded `seq`
/// (so ids sort as the ledger does) and a hash of the address.
pub fn delivery_id(seq: i64, address: &str) -> String {
    let h = Sha256::digest(address.as_bytes());
    format!("mail_{seq:012}_{}", hex::encode(&h[..8]))
}

/// Queue the emails of a dispute entry, in its transaction: one per distinct
/// address on the lists of `parties` and of `roles` (those due to act next).
/// Returns how many were queued.
pub fn enqueue(
    conn: &mut DbConn,
    entry: &Entry,
    dispute_id: &str,
    parties: &[String],
    roles: &[Role],
) -> ServiceResult<usize> {
    let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    let lists = store::recipients_of(conn, parties, &roles)?;
    let mut to = BTreeSet::new();
    for l in lists {
        to.extend(parse_list(&l)?);
    }
    for a in &to {
        outbox::queue_email(conn, &delivery_id(entry.seq, a), entry, dispute_id, a)?;
    }
    Ok(to.len())
}

/// Up to `limit` emails with ids after `after`, oldest first.
pub fn deliveries(
    conn: &mut DbConn,
    after: Option<String>,
    limit: i64,
) -> ServiceResult<Vec<MailDelivery>> {
    let rows = read_tx(conn, |conn| -> ServiceResult<_> {
        Ok(outbox::page(conn, Deliveries::Email { after }, limit)?)
    })?;
    rows.into_iter().map(MailDelivery::try_from).collect()
}

impl TryFrom<DeliveryRow> for MailDelivery {
    type Error = ServiceError;

    fn try_from(r: DeliveryRow) -> ServiceResult<MailDelivery> {
        let missing = || ServiceError::Internal(format!("email {} without its address", r.id));
        Ok(MailDelivery {
            next_attempt_at: (r.status == DeliveryStatus::Pending.as_str())
                .then(|| format_time(&r.next_attempt_at)),
            dispute_id: r.dispute_id.clone().ok_or_else(missing)?,
            recipient: r.recipient.clone().ok_or_else(missing)?,
            id: r.id,
            seq: r.seq,
            event: r.event,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            last_attempt_at: r.last_attempt_at.as_ref().map(format_time),
            delivered_at: r.delivered_at.as_ref().map(format_time),
            created_at: format_time(&r.created_at),
        })
    }
}

/// `restore`: the row of one `email_recipients_set` entry, from the bundle's
/// payload (an erased one leaves the list empty).
pub fn restore_list(
    conn: &mut DbConn,
    e: &Entry,
    payload: Option<&serde_json::Value>,
) -> Result<(), String> {
    let f: Facts = serde_json::from_value(e.facts.clone())
        .map_err(|err| format!("unreadable '{}' facts: {err}", e.event))?;
    let addresses = match payload {
        Some(p) => {
            serde_json::from_value::<Payload>(p.clone())
                .map_err(|err| format!("unreadable '{}' payload: {err}", e.event))?
                .addresses
        }
        None => Vec::new(),
    };
    let (kind, value) = f.target.columns();
    let list = serde_json::to_string(&addresses).map_err(|err| err.to_string())?;
    store::set_recipients(conn, kind, &value, &list, e.seq).map_err(|err| err.to_string())
}

// ---- what an email says ----

/// The plain words for a notification event.
pub fn title(event: &str) -> &'static str {
    match LedgerEvent::parse(event) {
        Some(LedgerEvent::Raised) => "A dispute was raised",
        Some(LedgerEvent::ProposalMade) => "A resolution was proposed",
        Some(LedgerEvent::ProposalAccepted) => "A proposal was accepted",
        Some(LedgerEvent::ProposalRejected) => "A proposal was rejected",
        Some(LedgerEvent::Escalated) => "The dispute was escalated",
        Some(LedgerEvent::DeadlineMissed) => "A deadline was missed",
        Some(LedgerEvent::DeadlineApproaching) => "A deadline is approaching",
        Some(LedgerEvent::Resolved) => "The dispute was resolved",
        Some(LedgerEvent::Withdrawn) => "The dispute was withdrawn",
        Some(LedgerEvent::PolicyMigrated) => "The dispute moved to another ladder policy",
        _ => "The dispute changed",
    }
}

/// One email's content, before a backend sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    /// The console page of the dispute.
    pub link: String,
    /// The event in plain words ([`title`]).
    pub title: String,
}

/// The email of `event` on dispute `dispute_id` (ledger entry `seq`), linking
/// to `{base_url}/console/disputes/{id}`. Ids and the event only.
pub fn render(base_url: &str, event: &str, dispute_id: &str, seq: i64) -> Mail {
    let title = title(event);
    let link = format!(
        "{}/console/disputes/{dispute_id}",
        base_url.trim_end_matches('/')
    );
    let text = format!(
        "{title}.\n\n\
         Dispute {dispute_id}, ledger entry {seq} ({event}).\n\n\
         Open the dispute (you will be asked to sign in):\n{link}\n\n\
         This email carries no case details: sign in to read them.\n"
    );
    Mail {
        subject: format!("Escalation: {title}"),
        text,
        link,
        title: title.to_string(),
    }
}

// ---- replay, for verify ----

/// A target's list as replayed: the `seq` that set it, its addresses unless erased.
type ReplayedList = (i64, Option<Vec<String>>);

/// The lists `verify` rebuilds from the `email_recipients_set` entries.
#[derive(Debug, Default)]
pub struct Replay {
    /// (kind, target) → the list.
    lists: BTreeMap<(String, String), ReplayedList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Facts {
    target: Target,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    addresses: Vec<String>,
}

impl Replay {
    pub fn apply(&mut self, s: &StoredEntry) -> Result<(), String> {
        let e = &s.entry;
        if e.actor.role != Role::PartnershipAdmin {
            return Err(format!(
                "{} by someone other than partnership_admin",
                e.event
            ));
        }
        let f: Facts = serde_json::from_value(e.facts.clone())
            .map_err(|err| format!("unreadable '{}' facts: {err}", e.event))?;
        let addresses = match &s.payload {
            None => None,
            Some(p) => {
                let p: Payload = serde_json::from_str(p)
                    .map_err(|err| format!("unreadable '{}' payload: {err}", e.event))?;
                let checked = check_addresses(&p.addresses).map_err(|err| err.to_string())?;
                if checked != p.addresses {
                    return Err(format!("{}: addresses not in their normal form", e.event));
                }
                Some(checked)
            }
        };
        let (kind, value) = columns(&f.target);
        self.lists
            .insert((kind.to_string(), value), (e.seq, addresses));
        Ok(())
    }

    /// How `email_recipients` differs from the replay, if it does (an erased
    /// payload's addresses are not compared).
    pub fn table_mismatch(&self, conn: &mut DbConn) -> Result<Option<String>, ServiceError> {
        let rows = store::all_recipients(conn)?;
        if rows.len() != self.lists.len() {
            return Ok(Some(format!(
                "the email_recipients table has {} lists, the ledger sets {}",
                rows.len(),
                self.lists.len()
            )));
        }
        for (kind, target, list, seq) in rows {
            let Some((want_seq, want)) = self.lists.get(&(kind.clone(), target.clone())) else {
                return Ok(Some(format!(
                    "email list of {kind} {target} is not in the ledger"
                )));
            };
            let same_list = match want {
                None => true,
                Some(w) => parse_list(&list).ok().as_ref() == Some(w),
            };
            if seq != *want_seq || !same_list {
                return Ok(Some(format!(
                    "email list of {kind} {target} differs from the ledger"
                )));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_normalised() {
        let got = check_addresses(&[
            "B@Example.org ".into(),
            "a@example.org".into(),
            "b@example.org".into(),
        ])
        .unwrap();
        assert_eq!(got, vec!["a@example.org", "b@example.org"]);
        for bad in [
            "",
            "no-at-sign",
            "a@",
            "@b",
            "a b@c.org",
            "a@b.org\nBcc: x@y.org",
        ] {
            assert!(check_addresses(&[bad.into()]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_ADDRESSES).map(|i| format!("u{i}@x.org")).collect();
        assert!(check_addresses(&many).is_err());
    }

    #[test]
    fn an_email_names_the_event_and_links_to_the_console() {
        let m = render("https://ladder.example.org/", "escalated", "d-123", 42);
        assert_eq!(m.link, "https://ladder.example.org/console/disputes/d-123");
        assert_eq!(m.subject, "Escalation: The dispute was escalated");
        assert!(m.text.contains(&m.link), "{}", m.text);
        assert!(m.text.contains("ledger entry 42"), "{}", m.text);
        assert_eq!(title("no_such_event"), "The dispute changed");
    }

    #[test]
    fn ids_sort_as_the_ledger_does() {
        let a = delivery_id(9, "x@y.org");
        let b = delivery_id(10, "a@y.org");
        assert!(a < b, "{a} {b}");
        assert_eq!(a, delivery_id(9, "x@y.org"));
        assert_ne!(a, delivery_id(9, "z@y.org"));
    }
}
