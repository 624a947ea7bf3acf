//! The scrutineer's rules beside the ladder (seed sections 4.3 and 5.2), pure:
//! the scrutiny events, the order a review goes through, where a
//! recommendation stands, which mediations a dispute can have, and the facts
//! each event records. The writes, the views and the replay for `verify` are
//! `service::scrutiny`'s; the rows and queries
//! `store::scrutiny`'s.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::event::ScrutinyEvent;
use crate::core::ladder::{Actor, Dispute, Policy, Role, Status};
use crate::core::ledger::Entry;

/// Why a scrutiny rule refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The request conflicts with the state it would change.
    #[error("{0}")]
    Conflict(String),
    /// The input is well formed but not acceptable.
    #[error("{0}")]
    Unprocessable(String),
}

// ---- events ----

/// Whether `verify` should replay this event here rather than through the ladder.
pub fn is_event(event: &str) -> bool {
    ScrutinyEvent::parse(event).is_some()
}

// ---- statuses ----

/// Where a mediation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediationStatus {
    Open,
    Closed,
}

impl MediationStatus {
    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            MediationStatus::Open => "open",
            MediationStatus::Closed => "closed",
        }
    }
}

/// Where a review stands: `requested` → `accepted` → `closed` (findings), or
/// `requested` → `declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    Requested,
    Accepted,
    Declined,
    /// Findings recorded.
    Closed,
}

impl ReviewStatus {
    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Requested => "requested",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Declined => "declined",
            ReviewStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewStatus> {
        [
            ReviewStatus::Requested,
            ReviewStatus::Accepted,
            ReviewStatus::Declined,
            ReviewStatus::Closed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// The status after `event`, or why it is out of order.
    pub fn after(self, event: ScrutinyEvent) -> Result<ReviewStatus, RuleError> {
        match (self, event) {
            (ReviewStatus::Requested, ScrutinyEvent::ReviewAccepted) => Ok(ReviewStatus::Accepted),
            (ReviewStatus::Requested, ScrutinyEvent::ReviewDeclined) => Ok(ReviewStatus::Declined),
            (ReviewStatus::Accepted, ScrutinyEvent::ReviewFindingsRecorded) => {
                Ok(ReviewStatus::Closed)
            }
            _ => Err(out_of_order(self.as_str(), event.as_str())),
        }
    }
}

fn out_of_order(status: &str, event: &str) -> RuleError {
    if event == ScrutinyEvent::ReviewFindingsRecorded.as_str() {
        RuleError::Conflict(format!(
            "findings are recorded on an accepted review; this one is {status}"
        ))
    } else {
        RuleError::Conflict(format!(
            "only a requested review is accepted or declined; this one is {status}"
        ))
    }
}

/// A review's next status after `event`, by their stored names, or why it is
/// out of order ([`ReviewStatus::after`]).
pub fn review_next(status: &str, event: ScrutinyEvent) -> Result<&'static str, RuleError> {
    match ReviewStatus::parse(status) {
        Some(s) => s.after(event).map(ReviewStatus::as_str),
        None => Err(out_of_order(status, event.as_str())),
    }
}

/// Where a recommendation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    /// No response yet; the response is not yet due.
    Open,
    /// No response, and `response_due` is before today (a London date).
    Overdue,
    Responded,
}

pub fn recommendation_status(
    response_due: &str,
    responded: bool,
    today: NaiveDate,
) -> RecommendationStatus {
    if responded {
        return RecommendationStatus::Responded;
    }
    match NaiveDate::parse_from_str(response_due, "%Y-%m-%d") {
        Ok(due) if due < today => RecommendationStatus::Overdue,
        _ => RecommendationStatus::Open,
    }
}

// ---- checks ----

/// The agencies of a mediation: at least two, no repeats, no empty ids.
pub fn check_agencies(ids: &[String]) -> Result<(), RuleError> {
    let distinct: BTreeSet<&String> = ids.iter().collect();
    if ids.len() < 2 || distinct.len() != ids.len() || ids.iter().any(|i| i.trim().is_empty()) {
        return Err(RuleError::Unprocessable(
            "agencies must name at least two different registered agencies".into(),
        ));
    }
    Ok(())
}

/// Whether a mediation of this dispute is the ladder's (`true`: the dispute is
/// on its policy's mediation rung, `scrutineer` in KRSCP) or outside it
/// (`false`: an open dispute below it).
pub fn mediation_kind(policy: &Policy, d: &Dispute) -> Result<bool, RuleError> {
    if d.status != Status::Open {
        return Err(RuleError::Conflict(format!(
            "dispute {} is {}; only an open dispute can be mediated",
            d.id, d.status
        )));
    }
    let (Some(at), Some(mediation)) = (
        policy.position(d.rung),
        policy.mediation_rung.and_then(|r| policy.position(r)),
    ) else {
        return Err(RuleError::Conflict(format!(
            "dispute {} follows policy {}, which has no mediation rung",
            d.id, policy.version
        )));
    };
    match at.cmp(&mediation) {
        std::cmp::Ordering::Less => Ok(false),
        std::cmp::Ordering::Equal => Ok(true),
        std::cmp::Ordering::Greater => Err(RuleError::Conflict(format!(
            "dispute {} is on the {} rung, beyond the scrutineer's",
            d.id, d.rung
        ))),
    }
}

/// The newest proposal on the mediation rung: a ladder mediation's outcome.
pub fn outcome_proposal<'a>(policy: &Policy, d: &'a Dispute) -> Option<&'a str> {
    d.proposals
        .iter()
        .rev()
        .find(|p| Some(p.rung) == policy.mediation_rung)
        .map(|p| p.id.as_str())
}

/// A partnership_admin requests a review only on behalf of a child or family.
/// (Who may request one at all is `http::authz`'s table: a party agency's
/// user or a partnership_admin.)
pub fn on_behalf_rule(actor: &Actor, on_behalf: bool) -> Result<(), RuleError> {
    if actor.role == Role::PartnershipAdmin && !on_behalf {
        return Err(RuleError::Unprocessable(
            "a partnership_admin requests a review on behalf of a child or family: \
             set on_behalf_of_child_or_family"
                .into(),
        ));
    }
    Ok(())
}

/// Whether a recorded `review_requested` entry was made by someone who could
/// (`verify`'s replay): an agency user whose agency is a party to dispute `d`,
/// or a partnership_admin acting on behalf of a child or family.
pub fn requester_could(actor: &Actor, d: &Dispute, on_behalf: bool) -> Result<(), String> {
    let party =
        actor.role == Role::Agency && actor.agency.as_ref().is_some_and(|a| d.parties.contains(a));
    let admin = actor.role == Role::PartnershipAdmin && on_behalf;
    if party || admin {
        Ok(())
    } else {
        Err(format!(
            "{} who is not a party agency's user, nor a partnership_admin on behalf of a child or family",
            actor.role.with_article()
        ))
    }
}

// ---- facts ----

/// A session is recorded once held: not before its mediation opened (UTC
/// dates), and not after `today`.
pub fn session_date_rule(
    date: NaiveDate,
    opened_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), RuleError> {
    if date > today {
        return Err(RuleError::Unprocessable(
            "a session is recorded once held: date must not be in the future".into(),
        ));
    }
    if date < opened_on {
        return Err(RuleError::Unprocessable(format!(
            "date must not be before the mediation opened ({opened_on})"
        )));
    }
    Ok(())
}

/// Every attendee who names an agency names one of the mediation's `members`.
pub fn attendees_rule(attendees: &[Attendee], members: &[String]) -> Result<(), RuleError> {
    if attendees.is_empty() {
        return Err(RuleError::Unprocessable(
            "attendees must name at least one attendee".into(),
        ));
    }
    let outsiders: Vec<&str> = attendees
        .iter()
        .filter_map(|a| a.agency.as_deref())
        .filter(|a| !members.iter().any(|m| m == a))
        .collect();
    if !outsiders.is_empty() {
        return Err(RuleError::Unprocessable(format!(
            "attendees must belong to the mediation; not one of its agencies: {}",
            outsiders.join(", ")
        )));
    }
    Ok(())
}

/// A recommendation's response cannot be due before `today`.
pub fn response_due_rule(due: NaiveDate, today: NaiveDate) -> Result<(), RuleError> {
    if due < today {
        return Err(RuleError::Unprocessable(format!(
            "response_due must not be in the past (today is {today})"
        )));
    }
    Ok(())
}

/// Someone at a mediation session: a role and, where it applies, their agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    pub role: Role,
    /// A registry id.
    #[serde(default)]
    pub agency: Option<String>,
}

/// The facts of `mediation_opened`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediationOpened {
    pub mediation_id: String,
    pub ladder: bool,
    pub agencies: Vec<String>,
}

/// The facts of `mediation_session_recorded`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRecorded {
    pub mediation_id: String,
    pub date: String,
    pub attendees: Vec<Attendee>,
}

/// The facts of `mediation_closed`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediationClosed {
    pub mediation_id: String,
    pub proposal_id: Option<String>,
}

/// The facts of `review_requested`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequested {
    pub review_id: String,
    pub on_behalf_of_child_or_family: bool,
}

/// The facts of `review_accepted`, `review_declined` and `review_findings_recorded`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewStep {
    pub review_id: String,
}

/// The facts of `recommendation_issued`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationIssued {
    pub recommendation_id: String,
    pub response_due: String,
}

/// The facts of `recommendation_response_recorded`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecorded {
    pub recommendation_id: String,
    pub accepted: bool,
}

/// Facts as the JSON an entry records.
pub fn to_facts<T: Serialize>(f: &T) -> Result<Value, String> {
    serde_json::to_value(f).map_err(|e| format!("facts: {e}"))
}

/// An entry's facts, read back.
pub fn read_facts<T: for<'de> Deserialize<'de>>(e: &Entry) -> Result<T, String> {
    serde_json::from_value(e.facts.clone())
        .map_err(|err| format!("unreadable '{}' facts: {err}", e.event))
}

/// The attendees of a session as stored: canonical JSON.
pub fn attendees_json(a: &[Attendee]) -> Result<String, String> {
    let v = serde_json::to_value(a).map_err(|e| e.to_string())?;
    crate::core::ledger::canonical_json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_follow_their_order() {
        assert_eq!(
            review_next("requested", ScrutinyEvent::ReviewAccepted).ok(),
            Some("accepted")
        );
        assert_eq!(
            review_next("requested", ScrutinyEvent::ReviewDeclined).ok(),
            Some("declined")
        );
        assert_eq!(
            review_next("accepted", ScrutinyEvent::ReviewFindingsRecorded).ok(),
            Some("closed")
        );
        assert!(review_next("requested", ScrutinyEvent::ReviewFindingsRecorded).is_err());
        assert!(review_next("declined", ScrutinyEvent::ReviewFindingsRecorded).is_err());
        assert!(review_next("accepted", ScrutinyEvent::ReviewDeclined).is_err());
        assert!(review_next("closed", ScrutinyEvent::ReviewAccepted).is_err());
    }

    #[test]
    fn overdue_is_unanswered_past_its_date() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        use RecommendationStatus::*;
        assert_eq!(recommendation_status("2026-11-25", false, today), Overdue);
        assert_eq!(recommendation_status("2026-11-26", false, today), Open);
        assert_eq!(recommendation_status("2026-11-25", true, today), Responded);
    }

    #[test]
    fn mediation_agencies_are_two_or_more_distinct() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_agencies(&v(&["a", "b"])).is_ok());
        assert!(check_agencies(&v(&["a"])).is_err());
        assert!(check_agencies(&v(&["a", "a"])).is_err());
    }

    #[test]
    fn sessions_fall_between_the_opening_and_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (opened, today) = (d("2026-11-10"), d("2026-12-01"));
        assert!(session_date_rule(d("2026-11-10"), opened, today).is_ok());
        assert!(session_date_rule(d("2026-12-01"), opened, today).is_ok());
        assert!(session_date_rule(d("2026-11-09"), opened, today).is_err());
        assert!(session_date_rule(d("2026-12-02"), opened, today).is_err());
    }

    #[test]
    fn attendees_belong_to_the_mediation() {
        let members = vec!["a".to_string(), "b".to_string()];
        let who = |agency: Option<&str>| Attendee {
            role: Role::Agency,
            agency: agency.map(str::to_string),
        };
        assert!(attendees_rule(&[who(Some("a")), who(None)], &members).is_ok());
        assert!(attendees_rule(&[], &members).is_err());
        let e = attendees_rule(&[who(Some("a")), who(Some("c"))], &members).unwrap_err();
        assert!(e.to_string().contains('c'), "{e}");
    }

    #[test]
    fn responses_are_not_due_in_the_past() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(response_due_rule(d("2026-12-01"), d("2026-12-01")).is_ok());
        assert!(response_due_rule(d("2026-11-30"), d("2026-12-01")).is_err());
    }

    #[test]
    fn event_names_round_trip() {
        for e in ScrutinyEvent::ALL {
            assert_eq!(ScrutinyEvent::parse(e.as_str()), Some(e));
            assert!(is_event(e.as_str()));
        }
        assert!(!is_event("raised"));
    }
}
