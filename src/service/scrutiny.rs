//! The independent scrutineer's work beside the ladder (seed sections 4.3 and 5.2):
//! mediations, independent reviews of escalated concerns, and formal
//! recommendations to the SLG.
//!
//! Every action is one ledger entry, appended with [`store::append`] in the
//! caller's [`crate::store::db::write_tx`] together with its projection row
//! (`mediations`, `mediation_agencies`, `mediation_sessions`, `reviews`,
//! `recommendations`). Free text (topics, notes, outcomes, concerns, reasons,
//! findings, recommendation texts, responses) lives only in the entry's payload,
//! so it can be erased; the rows hold ids, statuses, dates and the `seq` of the
//! entry holding the text. [`Replay`] rebuilds the rows from the ledger for
//! `verify`, applying the same rules as the write path.
//!
//! Rules worth knowing:
//! - A mediation tied to a dispute on the ladder's `scrutineer` rung is that
//!   rung's mediation (`ladder: true`); its outcome is put forward as the rung's
//!   proposal (`POST /v1/disputes/{id}/proposals`, by the scrutineer), and it
//!   cannot be closed until the dispute has a proposal on that rung; the close
//!   entry names the newest such proposal. At most one open ladder mediation
//!   per dispute.
//! - A mediation with no dispute, or tied to an open dispute below the
//!   `scrutineer` rung, is outside the ladder (seed 4.3: "mediation to the
//!   statutory partners and any other local agencies"); a dispute that is
//!   closed or beyond the scrutineer's rung cannot be mediated.
//! - A mediation is closed only after at least one recorded session.
//! - A review goes `requested` → `accepted` → `closed` (findings), or
//!   `requested` → `declined`.
//! - A recommendation is `responded` once the SLG answers (once only),
//!   otherwise `overdue` if its `response_due` is before today (UTC), else `open`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::input;
use crate::core::ladder::{Actor, Dispute, Policy, Role, Status};
use crate::core::ledger::{format_time, Entry, NewEntry};
use crate::core::registry::Agency;
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger::{self as store, StoredEntry};
use crate::store::schema::{
    mediation_agencies, mediation_sessions, mediations, recommendations, reviews,
};

pub const MEDIATION_OPENED: &str = "mediation_opened";
pub const MEDIATION_SESSION_RECORDED: &str = "mediation_session_recorded";
pub const MEDIATION_CLOSED: &str = "mediation_closed";
pub const REVIEW_REQUESTED: &str = "review_requested";
pub const REVIEW_ACCEPTED: &str = "review_accepted";
pub const REVIEW_DECLINED: &str = "review_declined";
pub const REVIEW_FINDINGS_RECORDED: &str = "review_findings_recorded";
pub const RECOMMENDATION_ISSUED: &str = "recommendation_issued";
pub const RECOMMENDATION_RESPONSE_RECORDED: &str = "recommendation_response_recorded";

pub const EVENTS: [&str; 9] = [
    MEDIATION_OPENED,
    MEDIATION_SESSION_RECORDED,
    MEDIATION_CLOSED,
    REVIEW_REQUESTED,
    REVIEW_ACCEPTED,
    REVIEW_DECLINED,
    REVIEW_FINDINGS_RECORDED,
    RECOMMENDATION_ISSUED,
    RECOMMENDATION_RESPONSE_RECORDED,
];

/// Whether `verify` should replay this event here rather than through the ladder.
pub fn is_event(event: &str) -> bool {
    EVENTS.contains(&event)
}

// ---- pure checks ----

/// Free text: trimmed, not empty, at most 20,000 characters ([`input::text`]).
pub fn text(field: &str, v: &str) -> Result<String, ServiceError> {
    input::text(field, v).map_err(ServiceError::from)
}

/// A calendar date written exactly `YYYY-MM-DD` ([`input::date`]).
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ServiceError> {
    input::date(field, s).map_err(ServiceError::from)
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The agencies of a mediation: at least two, no repeats, no empty ids.
pub fn check_agencies(ids: &[String]) -> Result<(), ServiceError> {
    let distinct: BTreeSet<&String> = ids.iter().collect();
    if ids.len() < 2 || distinct.len() != ids.len() || ids.iter().any(|i| i.trim().is_empty()) {
        return Err(ServiceError::Unprocessable(
            "agencies must name at least two different registered agencies".into(),
        ));
    }
    Ok(())
}

/// Whether a mediation of this dispute is the ladder's (`true`: the dispute is
/// on its policy's mediation rung, `scrutineer` in KRSCP) or outside it
/// (`false`: an open dispute below it).
pub fn mediation_kind(policy: &Policy, d: &Dispute) -> Result<bool, ServiceError> {
    if d.status != Status::Open {
        return Err(ServiceError::Conflict(format!(
            "dispute {} is {}; only an open dispute can be mediated",
            d.id, d.status
        )));
    }
    let (Some(at), Some(mediation)) = (
        policy.position(d.rung),
        policy.mediation_rung.and_then(|r| policy.position(r)),
    ) else {
        return Err(ServiceError::Conflict(format!(
            "dispute {} follows policy {}, which has no mediation rung",
            d.id, policy.version
        )));
    };
    match at.cmp(&mediation) {
        std::cmp::Ordering::Less => Ok(false),
        std::cmp::Ordering::Equal => Ok(true),
        std::cmp::Ordering::Greater => Err(ServiceError::Conflict(format!(
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
/// (Who may request one at all is [`crate::http::authz`]'s table: a party agency's
/// user or a partnership_admin.)
pub fn on_behalf_rule(actor: &Actor, on_behalf: bool) -> Result<(), ServiceError> {
    if actor.role == Role::PartnershipAdmin && !on_behalf {
        return Err(ServiceError::Unprocessable(
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
fn requester_could(actor: &Actor, d: &Dispute, on_behalf: bool) -> Result<(), String> {
    let party =
        actor.role == Role::Agency && actor.agency.as_ref().is_some_and(|a| d.parties.contains(a));
    let admin = actor.role == Role::PartnershipAdmin && on_behalf;
    if party || admin {
        Ok(())
    } else {
        Err(format!(
            "a {} who is not a party agency's user, nor a partnership_admin on behalf of a child or family",
            actor.role
        ))
    }
}

/// A review's next status after `event`, or why it is out of order.
pub fn review_next(status: &str, event: &str) -> Result<&'static str, ServiceError> {
    match (status, event) {
        ("requested", REVIEW_ACCEPTED) => Ok("accepted"),
        ("requested", REVIEW_DECLINED) => Ok("declined"),
        ("accepted", REVIEW_FINDINGS_RECORDED) => Ok("closed"),
        (s, REVIEW_FINDINGS_RECORDED) => Err(ServiceError::Conflict(format!(
            "findings are recorded on an accepted review; this one is {s}"
        ))),
        (s, _) => Err(ServiceError::Conflict(format!(
            "only a requested review is accepted or declined; this one is {s}"
        ))),
    }
}

/// Where a recommendation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    /// No response yet; the response is not yet due.
    Open,
    /// No response, and `response_due` is before today (UTC).
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

// ---- facts ----

/// Someone at a mediation session: a role and, where it applies, their agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    pub role: Role,
    /// A registry id.
    #[serde(default)]
    pub agency: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediationOpened {
    mediation_id: String,
    ladder: bool,
    agencies: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRecorded {
    mediation_id: String,
    date: String,
    attendees: Vec<Attendee>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediationClosed {
    mediation_id: String,
    proposal_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequested {
    review_id: String,
    on_behalf_of_child_or_family: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewStep {
    review_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationIssued {
    recommendation_id: String,
    response_due: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseRecorded {
    recommendation_id: String,
    accepted: bool,
}

fn to_facts<T: Serialize>(f: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(f).map_err(|e| ServiceError::Internal(format!("facts: {e}")))
}

fn read_facts<T: for<'de> Deserialize<'de>>(e: &Entry) -> Result<T, String> {
    serde_json::from_value(e.facts.clone())
        .map_err(|err| format!("unreadable '{}' facts: {err}", e.event))
}

// ---- projection rows ----

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = mediations)]
pub struct MediationRow {
    pub id: String,
    pub dispute_id: Option<String>,
    pub ladder: bool,
    pub status: String,
    pub opened_seq: i64,
    pub opened_at: NaiveDateTime,
    pub closed_seq: Option<i64>,
    pub outcome_proposal_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable, Insertable)]
#[diesel(table_name = mediation_agencies)]
pub struct MediationAgencyRow {
    pub mediation_id: String,
    pub position: i32,
    pub agency_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = mediation_sessions)]
pub struct SessionRow {
    pub seq: i64,
    pub mediation_id: String,
    pub held_on: String,
    pub attendees: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub id: String,
    pub dispute_id: String,
    pub status: String,
    pub on_behalf: bool,
    pub requested_by_role: String,
    pub requested_by_agency: Option<String>,
    pub requested_seq: i64,
    pub requested_at: NaiveDateTime,
    pub decided_seq: Option<i64>,
    pub findings_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = recommendations)]
pub struct RecommendationRow {
    pub id: String,
    pub dispute_id: Option<String>,
    pub response_due: String,
    pub issued_seq: i64,
    pub issued_at: NaiveDateTime,
    pub response_seq: Option<i64>,
    pub accepted: Option<bool>,
}

fn attendees_json(a: &[Attendee]) -> Result<String, String> {
    let v = serde_json::to_value(a).map_err(|e| e.to_string())?;
    crate::core::ledger::canonical_json(&v)
}

// The rows an event produces, shared by the write path and the replay.

fn opened_row(e: &Entry, f: &MediationOpened) -> (MediationRow, Vec<MediationAgencyRow>) {
    let row = MediationRow {
        id: f.mediation_id.clone(),
        dispute_id: e.dispute_id.clone(),
        ladder: f.ladder,
        status: "open".into(),
        opened_seq: e.seq,
        opened_at: e.recorded_at,
        closed_seq: None,
        outcome_proposal_id: None,
    };
    let agencies = f
        .agencies
        .iter()
        .enumerate()
        .map(|(i, a)| MediationAgencyRow {
            mediation_id: f.mediation_id.clone(),
            position: i as i32,
            agency_id: a.clone(),
        })
        .collect();
    (row, agencies)
}

fn requested_row(e: &Entry, f: &ReviewRequested) -> Result<ReviewRow, String> {
    Ok(ReviewRow {
        id: f.review_id.clone(),
        dispute_id: e
            .dispute_id
            .clone()
            .ok_or("a review_requested entry without a dispute_id")?,
        status: "requested".into(),
        on_behalf: f.on_behalf_of_child_or_family,
        requested_by_role: e.actor.role.as_str().into(),
        requested_by_agency: match e.actor.role {
            Role::Agency => e.actor.agency.clone(),
            _ => None,
        },
        requested_seq: e.seq,
        requested_at: e.recorded_at,
        decided_seq: None,
        findings_seq: None,
    })
}

fn issued_row(e: &Entry, f: &RecommendationIssued) -> RecommendationRow {
    RecommendationRow {
        id: f.recommendation_id.clone(),
        dispute_id: e.dispute_id.clone(),
        response_due: f.response_due.clone(),
        issued_seq: e.seq,
        issued_at: e.recorded_at,
        response_seq: None,
        accepted: None,
    }
}

/// Apply a review step to its row (status and the seq of the step's entry).
fn review_step(row: &mut ReviewRow, event: &str, seq: i64) -> Result<(), ServiceError> {
    let next = review_next(&row.status, event)?;
    row.status = next.into();
    if event == REVIEW_FINDINGS_RECORDED {
        row.findings_seq = Some(seq);
    } else {
        row.decided_seq = Some(seq);
    }
    Ok(())
}

// ---- writes: call inside `write_tx` ----

fn append(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    event: &str,
    facts: Value,
    payload: Value,
) -> Result<Entry, ServiceError> {
    store::append(
        conn,
        NewEntry {
            dispute_id,
            event: event.into(),
            actor: actor.clone(),
            facts,
            payload,
        },
    )
    .map_err(ServiceError::from)
}

fn dispute(conn: &mut DbConn, id: &str) -> Result<Dispute, ServiceError> {
    Ok(crate::store::disputes::load_dispute(conn, id)?
        .ok_or_else(ServiceError::not_found)?
        .state)
}

fn mediation_row(conn: &mut DbConn, id: &str) -> Result<MediationRow, ServiceError> {
    mediations::table
        .find(id)
        .first::<MediationRow>(conn)
        .optional()?
        .ok_or_else(|| ServiceError::NotFound("no such mediation".into()))
}

fn unknown_agencies(conn: &mut DbConn, ids: &[String]) -> Result<(), ServiceError> {
    let unknown = crate::store::agencies::unknown_agencies(conn, ids)?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Unprocessable(format!(
            "unknown agency ids: {}",
            unknown.join(", ")
        )))
    }
}

/// Open a mediation; `payload` is `{"topic"}`. Returns its id.
pub fn open_mediation(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    agencies: Vec<String>,
    payload: Value,
) -> Result<String, ServiceError> {
    check_agencies(&agencies)?;
    unknown_agencies(conn, &agencies)?;
    let ladder = match &dispute_id {
        None => false,
        Some(d) => {
            let d = dispute(conn, d)?;
            let ladder = mediation_kind(&*crate::service::policy_store::of(conn, &d.policy)?, &d)?;
            if ladder {
                let open: i64 = mediations::table
                    .filter(mediations::dispute_id.eq(&d.id))
                    .filter(mediations::ladder.eq(true))
                    .filter(mediations::status.eq("open"))
                    .count()
                    .get_result(conn)?;
                if open > 0 {
                    return Err(ServiceError::Conflict(format!(
                        "dispute {} already has an open mediation on the scrutineer rung",
                        d.id
                    )));
                }
            }
            ladder
        }
    };
    let f = MediationOpened {
        mediation_id: uuid::Uuid::new_v4().to_string(),
        ladder,
        agencies,
    };
    let e = append(
        conn,
        actor,
        dispute_id,
        MEDIATION_OPENED,
        to_facts(&f)?,
        payload,
    )?;
    let (row, agencies) = opened_row(&e, &f);
    diesel::insert_into(mediations::table)
        .values(&row)
        .execute(conn)?;
    // One row at a time: the MultiConnection has no portable batch insert.
    for a in &agencies {
        diesel::insert_into(mediation_agencies::table)
            .values(a)
            .execute(conn)?;
    }
    Ok(f.mediation_id)
}

/// Record a session of an open mediation; `payload` is `{"notes"}`.
pub fn record_session(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    date: NaiveDate,
    attendees: Vec<Attendee>,
    payload: Value,
) -> Result<(), ServiceError> {
    if attendees.is_empty() {
        return Err(ServiceError::Unprocessable(
            "attendees must name at least one attendee".into(),
        ));
    }
    if date > today() {
        return Err(ServiceError::Unprocessable(
            "a session is recorded once held: date must not be in the future".into(),
        ));
    }
    let ids: Vec<String> = attendees.iter().filter_map(|a| a.agency.clone()).collect();
    unknown_agencies(conn, &ids)?;
    let m = mediation_row(conn, id)?;
    if m.status != "open" {
        return Err(ServiceError::Conflict("the mediation is closed".into()));
    }
    let f = SessionRecorded {
        mediation_id: m.id.clone(),
        date: date.format("%Y-%m-%d").to_string(),
        attendees,
    };
    let e = append(
        conn,
        actor,
        m.dispute_id.clone(),
        MEDIATION_SESSION_RECORDED,
        to_facts(&f)?,
        payload,
    )?;
    diesel::insert_into(mediation_sessions::table)
        .values(&SessionRow {
            seq: e.seq,
            mediation_id: m.id,
            held_on: f.date,
            attendees: attendees_json(&f.attendees).map_err(ServiceError::Internal)?,
        })
        .execute(conn)?;
    Ok(())
}

/// Close an open mediation; `payload` is `{"outcome"}`.
pub fn close_mediation(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    payload: Value,
) -> Result<(), ServiceError> {
    let m = mediation_row(conn, id)?;
    if m.status != "open" {
        return Err(ServiceError::Conflict(
            "the mediation is already closed".into(),
        ));
    }
    let sessions: i64 = mediation_sessions::table
        .filter(mediation_sessions::mediation_id.eq(&m.id))
        .count()
        .get_result(conn)?;
    if sessions == 0 {
        return Err(ServiceError::Conflict(
            "record at least one session before closing the mediation".into(),
        ));
    }
    let proposal_id = match (&m.dispute_id, m.ladder) {
        (Some(d), true) => {
            let d = dispute(conn, d)?;
            let policy = crate::service::policy_store::of(conn, &d.policy)?;
            let p = outcome_proposal(&policy, &d).ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "put the mediated outcome forward as the scrutineer rung's proposal \
                     (POST /v1/disputes/{}/proposals) before closing",
                    d.id
                ))
            })?;
            Some(p.to_string())
        }
        _ => None,
    };
    let f = MediationClosed {
        mediation_id: m.id.clone(),
        proposal_id,
    };
    let e = append(
        conn,
        actor,
        m.dispute_id.clone(),
        MEDIATION_CLOSED,
        to_facts(&f)?,
        payload,
    )?;
    diesel::update(mediations::table.find(&m.id))
        .set((
            mediations::status.eq("closed"),
            mediations::closed_seq.eq(Some(e.seq)),
            mediations::outcome_proposal_id.eq(f.proposal_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Request an independent review of a dispute; `payload` is `{"concern"}`.
pub fn request_review(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: &str,
    on_behalf: bool,
    payload: Value,
) -> Result<String, ServiceError> {
    let d = dispute(conn, dispute_id)?;
    on_behalf_rule(actor, on_behalf)?;
    let f = ReviewRequested {
        review_id: uuid::Uuid::new_v4().to_string(),
        on_behalf_of_child_or_family: on_behalf,
    };
    let e = append(
        conn,
        actor,
        Some(d.id),
        REVIEW_REQUESTED,
        to_facts(&f)?,
        payload,
    )?;
    let row = requested_row(&e, &f).map_err(ServiceError::Internal)?;
    diesel::insert_into(reviews::table)
        .values(&row)
        .execute(conn)?;
    Ok(f.review_id)
}

/// Accept, decline, or record findings on a review (`event` says which);
/// `payload` is `{"reason"}` or `{"findings"}`.
pub fn review_action(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    event: &'static str,
    payload: Value,
) -> Result<(), ServiceError> {
    let mut row = reviews::table
        .find(id)
        .first::<ReviewRow>(conn)
        .optional()?
        .ok_or_else(|| ServiceError::NotFound("no such review".into()))?;
    review_next(&row.status, event)?;
    let f = ReviewStep {
        review_id: row.id.clone(),
    };
    let e = append(
        conn,
        actor,
        Some(row.dispute_id.clone()),
        event,
        to_facts(&f)?,
        payload,
    )?;
    review_step(&mut row, event, e.seq)?;
    diesel::update(reviews::table.find(&row.id))
        .set((
            reviews::status.eq(&row.status),
            reviews::decided_seq.eq(row.decided_seq),
            reviews::findings_seq.eq(row.findings_seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// Issue a formal recommendation to the SLG; `payload` is `{"text", "theme"}`.
pub fn issue_recommendation(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    response_due: NaiveDate,
    payload: Value,
) -> Result<String, ServiceError> {
    if let Some(d) = &dispute_id {
        dispute(conn, d)?;
    }
    let f = RecommendationIssued {
        recommendation_id: uuid::Uuid::new_v4().to_string(),
        response_due: response_due.format("%Y-%m-%d").to_string(),
    };
    let e = append(
        conn,
        actor,
        dispute_id,
        RECOMMENDATION_ISSUED,
        to_facts(&f)?,
        payload,
    )?;
    diesel::insert_into(recommendations::table)
        .values(&issued_row(&e, &f))
        .execute(conn)?;
    Ok(f.recommendation_id)
}

/// Record the SLG's one response; `payload` is `{"actions"}` or `{"reasons"}`.
pub fn respond(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    accepted: bool,
    payload: Value,
) -> Result<(), ServiceError> {
    let row = recommendations::table
        .find(id)
        .first::<RecommendationRow>(conn)
        .optional()?
        .ok_or_else(|| ServiceError::NotFound("no such recommendation".into()))?;
    if let Some(seq) = row.response_seq {
        return Err(ServiceError::Conflict(format!(
            "the SLG already responded (entry {seq})"
        )));
    }
    let f = ResponseRecorded {
        recommendation_id: row.id.clone(),
        accepted,
    };
    let e = append(
        conn,
        actor,
        row.dispute_id.clone(),
        RECOMMENDATION_RESPONSE_RECORDED,
        to_facts(&f)?,
        payload,
    )?;
    diesel::update(recommendations::table.find(&row.id))
        .set((
            recommendations::response_seq.eq(Some(e.seq)),
            recommendations::accepted.eq(Some(accepted)),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- views ----

fn text_at(conn: &mut DbConn, seq: Option<i64>, key: &str) -> QueryResult<Option<String>> {
    let Some(seq) = seq else { return Ok(None) };
    Ok(store::payload_of(conn, seq)?
        .and_then(|p| p.get(key).and_then(|v| v.as_str()).map(str::to_string)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The `mediation_session_recorded` entry (its payload holds the notes).
    pub seq: i64,
    pub date: String,
    pub attendees: Vec<Attendee>,
    /// Null once erased.
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediationView {
    pub id: String,
    pub dispute_id: Option<String>,
    /// True for the mediation of the ladder's `scrutineer` rung.
    pub ladder: bool,
    /// `open` or `closed`.
    pub status: String,
    pub agencies: Vec<String>,
    pub opened_at: String,
    pub opened_seq: i64,
    /// Null once erased.
    pub topic: Option<String>,
    pub sessions: Vec<SessionView>,
    pub closed_seq: Option<i64>,
    pub outcome: Option<String>,
    /// For a ladder mediation: the scrutineer-rung proposal that is its outcome.
    pub outcome_proposal_id: Option<String>,
}

fn mediation_view(
    conn: &mut DbConn,
    m: MediationRow,
    agencies: Vec<String>,
    sessions: Vec<SessionRow>,
) -> Result<MediationView, ServiceError> {
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        out.push(SessionView {
            seq: s.seq,
            date: s.held_on,
            attendees: serde_json::from_str(&s.attendees)
                .map_err(|e| ServiceError::Internal(format!("session {}: {e}", s.seq)))?,
            notes: text_at(conn, Some(s.seq), "notes")?,
        });
    }
    Ok(MediationView {
        topic: text_at(conn, Some(m.opened_seq), "topic")?,
        outcome: text_at(conn, m.closed_seq, "outcome")?,
        id: m.id,
        dispute_id: m.dispute_id,
        ladder: m.ladder,
        status: m.status,
        agencies,
        opened_at: format_time(&m.opened_at),
        opened_seq: m.opened_seq,
        sessions: out,
        closed_seq: m.closed_seq,
        outcome_proposal_id: m.outcome_proposal_id,
    })
}

/// One mediation, or every one (oldest first).
pub fn mediations(conn: &mut DbConn, id: Option<&str>) -> Result<Vec<MediationView>, ServiceError> {
    let mut mq = mediations::table
        .order(mediations::opened_seq.asc())
        .into_boxed();
    let mut aq = mediation_agencies::table.into_boxed();
    let mut sq = mediation_sessions::table
        .order(mediation_sessions::seq.asc())
        .into_boxed();
    if let Some(id) = id {
        mq = mq.filter(mediations::id.eq(id.to_string()));
        aq = aq.filter(mediation_agencies::mediation_id.eq(id.to_string()));
        sq = sq.filter(mediation_sessions::mediation_id.eq(id.to_string()));
    }
    let rows: Vec<MediationRow> = mq.load(conn)?;
    let mut agencies: Vec<MediationAgencyRow> = aq.load(conn)?;
    agencies.sort();
    let mut by_m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in agencies {
        by_m.entry(a.mediation_id).or_default().push(a.agency_id);
    }
    let mut sessions: BTreeMap<String, Vec<SessionRow>> = BTreeMap::new();
    for s in sq.load::<SessionRow>(conn)? {
        sessions.entry(s.mediation_id.clone()).or_default().push(s);
    }
    rows.into_iter()
        .map(|m| {
            let a = by_m.remove(&m.id).unwrap_or_default();
            let s = sessions.remove(&m.id).unwrap_or_default();
            mediation_view(conn, m, a, s)
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Requester {
    /// `agency` or `partnership_admin`.
    pub role: String,
    pub agency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub dispute_id: String,
    /// `requested`, `accepted`, `declined` or `closed` (findings recorded).
    pub status: String,
    pub on_behalf_of_child_or_family: bool,
    pub requested_by: Requester,
    pub requested_at: String,
    pub requested_seq: i64,
    /// Null once erased.
    pub concern: Option<String>,
    /// The `review_accepted` or `review_declined` entry.
    pub decided_seq: Option<i64>,
    pub decision_reason: Option<String>,
    pub findings_seq: Option<i64>,
    pub findings: Option<String>,
}

pub fn reviews(conn: &mut DbConn, id: Option<&str>) -> Result<Vec<ReviewView>, ServiceError> {
    let mut q = reviews::table
        .order(reviews::requested_seq.asc())
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(reviews::id.eq(id.to_string()));
    }
    let rows: Vec<ReviewRow> = q.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(ReviewView {
            concern: text_at(conn, Some(r.requested_seq), "concern")?,
            decision_reason: text_at(conn, r.decided_seq, "reason")?,
            findings: text_at(conn, r.findings_seq, "findings")?,
            id: r.id,
            dispute_id: r.dispute_id,
            status: r.status,
            on_behalf_of_child_or_family: r.on_behalf,
            requested_by: Requester {
                role: r.requested_by_role,
                agency: r.requested_by_agency,
            },
            requested_at: format_time(&r.requested_at),
            requested_seq: r.requested_seq,
            decided_seq: r.decided_seq,
            findings_seq: r.findings_seq,
        });
    }
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseView {
    /// The `recommendation_response_recorded` entry.
    pub seq: i64,
    pub accepted: bool,
    /// The actions the SLG commits to (when accepted); null once erased.
    pub actions: Option<String>,
    /// Why the SLG did not accept; null once erased.
    pub reasons: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationView {
    pub id: String,
    pub dispute_id: Option<String>,
    /// Null when the recommendation is about a dispute, or once erased.
    pub theme: Option<String>,
    /// Null once erased.
    pub text: Option<String>,
    pub response_due: String,
    pub status: RecommendationStatus,
    pub issued_at: String,
    pub issued_seq: i64,
    pub response: Option<ResponseView>,
}

pub fn recommendations(
    conn: &mut DbConn,
    id: Option<&str>,
    status: Option<RecommendationStatus>,
    today: NaiveDate,
) -> Result<Vec<RecommendationView>, ServiceError> {
    let mut q = recommendations::table
        .order(recommendations::issued_seq.asc())
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(recommendations::id.eq(id.to_string()));
    }
    let rows: Vec<RecommendationRow> = q.load(conn)?;
    let mut out = Vec::new();
    for r in rows {
        let st = recommendation_status(&r.response_due, r.response_seq.is_some(), today);
        if status.is_some_and(|s| s != st) {
            continue;
        }
        let response = match (r.response_seq, r.accepted) {
            (Some(seq), Some(accepted)) => Some(ResponseView {
                seq,
                accepted,
                actions: text_at(conn, Some(seq), "actions")?,
                reasons: text_at(conn, Some(seq), "reasons")?,
            }),
            _ => None,
        };
        out.push(RecommendationView {
            theme: text_at(conn, Some(r.issued_seq), "theme")?,
            text: text_at(conn, Some(r.issued_seq), "text")?,
            id: r.id,
            dispute_id: r.dispute_id,
            response_due: r.response_due,
            status: st,
            issued_at: format_time(&r.issued_at),
            issued_seq: r.issued_seq,
            response,
        });
    }
    Ok(out)
}

// ---- replay, for `verify` ----

/// The scrutiny tables as the ledger says they should be, fed every scrutiny
/// entry in order with the disputes and registry replayed so far.
#[derive(Default)]
pub struct Replay {
    mediations: BTreeMap<String, MediationRow>,
    agencies: Vec<MediationAgencyRow>,
    sessions: Vec<SessionRow>,
    /// Sessions per mediation, for the close rule.
    session_count: BTreeMap<String, usize>,
    reviews: BTreeMap<String, ReviewRow>,
    recommendations: BTreeMap<String, RecommendationRow>,
}

fn role_is(e: &Entry, role: Role) -> Result<(), String> {
    if e.actor.role == role {
        Ok(())
    } else {
        Err(format!(
            "'{}' recorded by a {}, not a {role}",
            e.event, e.actor.role
        ))
    }
}

fn known(registry: &[Agency], ids: &[String]) -> Result<(), String> {
    match ids.iter().find(|i| !registry.iter().any(|a| &a.id == *i)) {
        Some(i) => Err(format!("names agency '{i}', which is not registered")),
        None => Ok(()),
    }
}

fn same_dispute(e: &Entry, expected: &Option<String>) -> Result<(), String> {
    if &e.dispute_id == expected {
        Ok(())
    } else {
        Err(format!(
            "'{}' does not carry the dispute_id of what it acts on",
            e.event
        ))
    }
}

impl Replay {
    /// Replay one scrutiny entry against the disputes and registry replayed
    /// so far, and the policies they follow.
    pub fn apply(
        &mut self,
        s: &StoredEntry,
        disputes: &BTreeMap<String, Dispute>,
        registry: &[Agency],
        policies: &crate::service::policy_store::Replay,
    ) -> Result<(), String> {
        let e = &s.entry;
        let policy = |d: &Dispute| -> Result<&Policy, String> {
            policies
                .policy(&d.policy)
                .ok_or_else(|| format!("dispute {} follows unknown policy {}", d.id, d.policy))
        };
        let dispute_of = |id: &Option<String>| -> Result<Option<&Dispute>, String> {
            match id {
                None => Ok(None),
                Some(d) => disputes
                    .get(d)
                    .map(Some)
                    .ok_or_else(|| format!("'{}' names dispute {d} before it was raised", e.event)),
            }
        };
        match e.event.as_str() {
            MEDIATION_OPENED => {
                role_is(e, Role::Scrutineer)?;
                let f: MediationOpened = read_facts(e)?;
                check_agencies(&f.agencies).map_err(|x| x.to_string())?;
                known(registry, &f.agencies)?;
                let ladder = match dispute_of(&e.dispute_id)? {
                    None => false,
                    Some(d) => mediation_kind(policy(d)?, d).map_err(|x| x.to_string())?,
                };
                if ladder != f.ladder {
                    return Err(format!(
                        "mediation {} says ladder={}, its dispute makes it {ladder}",
                        f.mediation_id, f.ladder
                    ));
                }
                if ladder
                    && self
                        .mediations
                        .values()
                        .any(|m| m.ladder && m.status == "open" && m.dispute_id == e.dispute_id)
                {
                    return Err("a second open mediation on a dispute's scrutineer rung".into());
                }
                if self.mediations.contains_key(&f.mediation_id) {
                    return Err(format!("mediation {} opened twice", f.mediation_id));
                }
                let (row, agencies) = opened_row(e, &f);
                self.mediations.insert(row.id.clone(), row);
                self.agencies.extend(agencies);
                Ok(())
            }
            MEDIATION_SESSION_RECORDED => {
                role_is(e, Role::Scrutineer)?;
                let f: SessionRecorded = read_facts(e)?;
                parse_date("date", &f.date).map_err(|x| x.to_string())?;
                if f.attendees.is_empty() {
                    return Err("a mediation session with no attendees".into());
                }
                let ids: Vec<String> = f
                    .attendees
                    .iter()
                    .filter_map(|a| a.agency.clone())
                    .collect();
                known(registry, &ids)?;
                let m = self
                    .mediations
                    .get(&f.mediation_id)
                    .ok_or_else(|| format!("a session of unknown mediation {}", f.mediation_id))?;
                same_dispute(e, &m.dispute_id)?;
                if m.status != "open" {
                    return Err(format!("a session of closed mediation {}", m.id));
                }
                *self.session_count.entry(m.id.clone()).or_default() += 1;
                self.sessions.push(SessionRow {
                    seq: e.seq,
                    mediation_id: f.mediation_id,
                    held_on: f.date,
                    attendees: attendees_json(&f.attendees)?,
                });
                Ok(())
            }
            MEDIATION_CLOSED => {
                role_is(e, Role::Scrutineer)?;
                let f: MediationClosed = read_facts(e)?;
                let m = self
                    .mediations
                    .get(&f.mediation_id)
                    .ok_or_else(|| format!("closing unknown mediation {}", f.mediation_id))?;
                same_dispute(e, &m.dispute_id)?;
                if m.status != "open" {
                    return Err(format!("mediation {} closed twice", m.id));
                }
                if self.session_count.get(&m.id).copied().unwrap_or(0) == 0 {
                    return Err(format!("mediation {} closed with no session", m.id));
                }
                let expected = match (m.ladder, dispute_of(&m.dispute_id)?) {
                    (true, Some(d)) => Some(
                        outcome_proposal(policy(d)?, d)
                            .map(str::to_string)
                            .ok_or_else(|| {
                                format!(
                                    "ladder mediation {} closed with no scrutineer-rung proposal",
                                    m.id
                                )
                            })?,
                    ),
                    _ => None,
                };
                if expected != f.proposal_id {
                    return Err(format!(
                        "mediation {} closed naming the wrong outcome proposal",
                        m.id
                    ));
                }
                let m = self
                    .mediations
                    .get_mut(&f.mediation_id)
                    .ok_or("mediation vanished")?;
                m.status = "closed".into();
                m.closed_seq = Some(e.seq);
                m.outcome_proposal_id = f.proposal_id;
                Ok(())
            }
            REVIEW_REQUESTED => {
                let f: ReviewRequested = read_facts(e)?;
                let d = dispute_of(&e.dispute_id)?
                    .ok_or("a review_requested entry without a dispute_id")?;
                requester_could(&e.actor, d, f.on_behalf_of_child_or_family)
                    .map_err(|x| format!("review requested by someone who may not: {x}"))?;
                if self.reviews.contains_key(&f.review_id) {
                    return Err(format!("review {} requested twice", f.review_id));
                }
                let row = requested_row(e, &f)?;
                self.reviews.insert(row.id.clone(), row);
                Ok(())
            }
            REVIEW_ACCEPTED | REVIEW_DECLINED | REVIEW_FINDINGS_RECORDED => {
                role_is(e, Role::Scrutineer)?;
                let f: ReviewStep = read_facts(e)?;
                let r = self
                    .reviews
                    .get_mut(&f.review_id)
                    .ok_or_else(|| format!("'{}' on unknown review {}", e.event, f.review_id))?;
                same_dispute(e, &Some(r.dispute_id.clone()))?;
                review_step(r, &e.event, e.seq).map_err(|x| x.to_string())
            }
            RECOMMENDATION_ISSUED => {
                role_is(e, Role::Scrutineer)?;
                let f: RecommendationIssued = read_facts(e)?;
                parse_date("response_due", &f.response_due).map_err(|x| x.to_string())?;
                dispute_of(&e.dispute_id)?;
                if self.recommendations.contains_key(&f.recommendation_id) {
                    return Err(format!(
                        "recommendation {} issued twice",
                        f.recommendation_id
                    ));
                }
                let row = issued_row(e, &f);
                self.recommendations.insert(row.id.clone(), row);
                Ok(())
            }
            RECOMMENDATION_RESPONSE_RECORDED => {
                role_is(e, Role::Slg)?;
                let f: ResponseRecorded = read_facts(e)?;
                let r = self
                    .recommendations
                    .get_mut(&f.recommendation_id)
                    .ok_or_else(|| {
                        format!(
                            "a response to unknown recommendation {}",
                            f.recommendation_id
                        )
                    })?;
                same_dispute(e, &r.dispute_id)?;
                if r.response_seq.is_some() {
                    return Err(format!("recommendation {} answered twice", r.id));
                }
                r.response_seq = Some(e.seq);
                r.accepted = Some(f.accepted);
                Ok(())
            }
            other => Err(format!("'{other}' is not a scrutiny event")),
        }
    }

    /// Where the scrutiny tables differ from the replay, if they do.
    pub fn table_mismatch(&self, conn: &mut DbConn) -> QueryResult<Option<String>> {
        let mut m: Vec<MediationRow> = mediations::table.load(conn)?;
        m.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = first_diff(
            &m,
            &self.mediations.values().cloned().collect::<Vec<_>>(),
            |r| r.id.clone(),
        ) {
            return Ok(Some(format!(
                "the mediations table differs from the ledger at mediation {p}"
            )));
        }
        let mut a: Vec<MediationAgencyRow> = mediation_agencies::table.load(conn)?;
        a.sort();
        let mut ea = self.agencies.clone();
        ea.sort();
        if let Some(p) = first_diff(&a, &ea, |r| r.mediation_id.clone()) {
            return Ok(Some(format!(
                "the mediation_agencies table differs from the ledger at mediation {p}"
            )));
        }
        let mut s: Vec<SessionRow> = mediation_sessions::table.load(conn)?;
        s.sort_by_key(|r| r.seq);
        if let Some(p) = first_diff(&s, &self.sessions, |r| r.seq.to_string()) {
            return Ok(Some(format!(
                "the mediation_sessions table differs from the ledger at entry {p}"
            )));
        }
        let mut r: Vec<ReviewRow> = reviews::table.load(conn)?;
        r.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(p) = first_diff(
            &r,
            &self.reviews.values().cloned().collect::<Vec<_>>(),
            |r| r.id.clone(),
        ) {
            return Ok(Some(format!(
                "the reviews table differs from the ledger at review {p}"
            )));
        }
        let mut c: Vec<RecommendationRow> = recommendations::table.load(conn)?;
        c.sort_by(|a, b| a.id.cmp(&b.id));
        let ec: Vec<RecommendationRow> = self.recommendations.values().cloned().collect();
        if let Some(p) = first_diff(&c, &ec, |r| r.id.clone()) {
            return Ok(Some(format!(
                "the recommendations table differs from the ledger at recommendation {p}"
            )));
        }
        Ok(None)
    }
}

/// The key of the first row where two lists differ, if they do.
fn first_diff<T: PartialEq>(
    stored: &[T],
    expected: &[T],
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if stored == expected {
        return None;
    }
    stored
        .iter()
        .zip(expected.iter())
        .find(|(a, b)| a != b)
        .map(|(a, _)| key(a))
        .or_else(|| {
            let n = stored.len().min(expected.len());
            stored.get(n).or(expected.get(n)).map(&key)
        })
        .or(Some(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("d", "2026-11-26").is_ok());
        for bad in [
            "2026-11-31",
            "26-11-2026",
            "2026-1-5",
            "2026-11-26T00:00",
            "",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reviews_follow_their_order() {
        assert_eq!(
            review_next("requested", REVIEW_ACCEPTED).ok(),
            Some("accepted")
        );
        assert_eq!(
            review_next("requested", REVIEW_DECLINED).ok(),
            Some("declined")
        );
        assert_eq!(
            review_next("accepted", REVIEW_FINDINGS_RECORDED).ok(),
            Some("closed")
        );
        assert!(review_next("requested", REVIEW_FINDINGS_RECORDED).is_err());
        assert!(review_next("declined", REVIEW_FINDINGS_RECORDED).is_err());
        assert!(review_next("accepted", REVIEW_DECLINED).is_err());
        assert!(review_next("closed", REVIEW_ACCEPTED).is_err());
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
}
