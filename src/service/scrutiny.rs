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
//!   otherwise `overdue` if its `response_due` is before today (a London date), else `open`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::event::ScrutinyEvent as Event;
use crate::core::input;
use crate::core::ladder::{Actor, Dispute, Role};
use crate::core::ledger::{format_time, Entry, NewEntry};
use crate::core::scrutiny::{self as rules, MediationStatus, ReviewStatus};
use crate::service::error::ServiceError;
use crate::store::db::DbConn;
use crate::store::ledger::{self as store};
pub use crate::store::scrutiny::Pick;
use crate::store::scrutiny::{
    self as rows, MediationAgencyRow, MediationRow, RecommendationRow, ReviewRow, SessionRow,
};

pub use crate::core::scrutiny::{
    attendees_json, attendees_rule, check_agencies, is_event, mediation_kind, on_behalf_rule,
    outcome_proposal, recommendation_status, response_due_rule, review_next, session_date_rule,
    Attendee, RecommendationStatus, RuleError,
};
use crate::core::scrutiny::{
    MediationClosed, MediationOpened, RecommendationIssued, ResponseRecorded, ReviewRequested,
    ReviewStep, SessionRecorded,
};

/// An open mediation's stored status.
pub(crate) const OPEN: &str = MediationStatus::Open.as_str();

impl From<RuleError> for ServiceError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Conflict(m) => ServiceError::Conflict(m),
            RuleError::Unprocessable(m) => ServiceError::Unprocessable(m),
        }
    }
}

// ---- input checks ----

/// Free text: trimmed, not empty, at most 20,000 characters ([`input::text`]).
pub fn text(field: &str, v: &str) -> Result<String, ServiceError> {
    input::text(field, v).map_err(ServiceError::from)
}

/// A calendar date written exactly `YYYY-MM-DD` ([`input::date`]).
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ServiceError> {
    input::date(field, s).map_err(ServiceError::from)
}

/// Today's date in London (`Europe/London`): from 23:00 UTC in summer it is
/// already tomorrow.
pub fn today() -> NaiveDate {
    crate::core::calendar::london_date(crate::core::clock::now())
}

// The rows an event produces, shared by the write path and the replay.

pub(crate) fn opened_row(
    e: &Entry,
    f: &MediationOpened,
) -> (MediationRow, Vec<MediationAgencyRow>) {
    let row = MediationRow {
        id: f.mediation_id.clone(),
        dispute_id: e.dispute_id.clone(),
        ladder: f.ladder,
        status: OPEN.into(),
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

pub(crate) fn requested_row(e: &Entry, f: &ReviewRequested) -> Result<ReviewRow, String> {
    Ok(ReviewRow {
        id: f.review_id.clone(),
        dispute_id: e
            .dispute_id
            .clone()
            .ok_or("a review_requested entry without a dispute_id")?,
        status: ReviewStatus::Requested.as_str().into(),
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

pub(crate) fn issued_row(e: &Entry, f: &RecommendationIssued) -> RecommendationRow {
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
pub(crate) fn review_step(row: &mut ReviewRow, event: Event, seq: i64) -> Result<(), ServiceError> {
    let next = rules::review_next(&row.status, event)?;
    row.status = next.into();
    if event == Event::ReviewFindingsRecorded {
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
    event: Event,
    facts: Value,
    payload: Value,
) -> Result<Entry, ServiceError> {
    store::append(
        conn,
        NewEntry {
            dispute_id,
            event: event.as_str().into(),
            actor: actor.clone(),
            facts,
            payload,
        },
    )
    .map_err(ServiceError::from)
}

fn to_facts<T: serde::Serialize>(f: &T) -> Result<Value, ServiceError> {
    rules::to_facts(f).map_err(ServiceError::Internal)
}

fn dispute(conn: &mut DbConn, id: &str) -> Result<Dispute, ServiceError> {
    Ok(crate::store::disputes::load_dispute(conn, id)?
        .ok_or_else(ServiceError::not_found)?
        .state)
}

fn mediation_row(conn: &mut DbConn, id: &str) -> Result<MediationRow, ServiceError> {
    rows::find_mediation(conn, id)?
        .ok_or_else(|| ServiceError::NotFound("no such mediation".into()))
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
    crate::service::registry::require_known(conn, &agencies)?;
    let ladder = match &dispute_id {
        None => false,
        Some(d) => {
            let d = dispute(conn, d)?;
            let ladder = mediation_kind(&*crate::service::policy_store::of(conn, &d.policy)?, &d)?;
            if ladder {
                let open = rows::open_ladder_mediations(conn, &d.id)?;
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
        Event::MediationOpened,
        to_facts(&f)?,
        payload,
    )?;
    let (row, agencies) = opened_row(&e, &f);
    rows::insert_mediation(conn, &row, &agencies)?;
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
    record_session_on(conn, actor, id, date, attendees, payload, today())
}

/// [`record_session`] with the clock's date given: `today` (a London date).
pub fn record_session_on(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    date: NaiveDate,
    attendees: Vec<Attendee>,
    payload: Value,
    today: NaiveDate,
) -> Result<(), ServiceError> {
    if attendees.is_empty() {
        attendees_rule(&attendees, &[])?;
    }
    let ids: Vec<String> = attendees.iter().filter_map(|a| a.agency.clone()).collect();
    crate::service::registry::require_known(conn, &ids)?;
    let m = mediation_row(conn, id)?;
    if m.status != OPEN {
        return Err(ServiceError::Conflict("the mediation is closed".into()));
    }
    // Both sides are London dates: a mediation opened at 23:30 UTC in summer
    // opened on the next London day.
    let opened_on = crate::core::calendar::london_date(m.opened_at.and_utc());
    session_date_rule(date, opened_on, today)?;
    let members: Vec<String> = rows::load_mediations(conn, rows::Pick::One(&m.id))?
        .1
        .into_iter()
        .map(|a| a.agency_id)
        .collect();
    attendees_rule(&attendees, &members)?;
    let f = SessionRecorded {
        mediation_id: m.id.clone(),
        date: date.format("%Y-%m-%d").to_string(),
        attendees,
    };
    let e = append(
        conn,
        actor,
        m.dispute_id.clone(),
        Event::MediationSessionRecorded,
        to_facts(&f)?,
        payload,
    )?;
    rows::insert_session(
        conn,
        &SessionRow {
            seq: e.seq,
            mediation_id: m.id,
            held_on: f.date,
            attendees: attendees_json(&f.attendees).map_err(ServiceError::Internal)?,
        },
    )?;
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
    if m.status != OPEN {
        return Err(ServiceError::Conflict(
            "the mediation is already closed".into(),
        ));
    }
    let sessions = rows::session_count(conn, &m.id)?;
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
        Event::MediationClosed,
        to_facts(&f)?,
        payload,
    )?;
    rows::close_mediation(conn, &m.id, e.seq, f.proposal_id)?;
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
        Event::ReviewRequested,
        to_facts(&f)?,
        payload,
    )?;
    let row = requested_row(&e, &f).map_err(ServiceError::Internal)?;
    rows::insert_review(conn, &row)?;
    Ok(f.review_id)
}

/// Accept, decline, or record findings on a review (`event` says which);
/// `payload` is `{"reason"}` or `{"findings"}`.
pub fn review_action(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    step: Event,
    payload: Value,
) -> Result<(), ServiceError> {
    let mut row = rows::find_review(conn, id)?
        .ok_or_else(|| ServiceError::NotFound("no such review".into()))?;
    rules::review_next(&row.status, step)?;
    let f = ReviewStep {
        review_id: row.id.clone(),
    };
    let e = append(
        conn,
        actor,
        Some(row.dispute_id.clone()),
        step,
        to_facts(&f)?,
        payload,
    )?;
    review_step(&mut row, step, e.seq)?;
    rows::update_review(conn, &row)?;
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
    issue_recommendation_on(conn, actor, dispute_id, response_due, payload, today())
}

/// [`issue_recommendation`] with the clock's date given: `today` (a London date).
pub fn issue_recommendation_on(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    response_due: NaiveDate,
    payload: Value,
    today: NaiveDate,
) -> Result<String, ServiceError> {
    response_due_rule(response_due, today)?;
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
        Event::RecommendationIssued,
        to_facts(&f)?,
        payload,
    )?;
    rows::insert_recommendation(conn, &issued_row(&e, &f))?;
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
    let row = rows::find_recommendation(conn, id)?
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
        Event::RecommendationResponseRecorded,
        to_facts(&f)?,
        payload,
    )?;
    rows::set_response(conn, &row.id, e.seq, accepted)?;
    Ok(())
}

// ---- views ----

fn text_at(conn: &mut DbConn, seq: Option<i64>, key: &str) -> Result<Option<String>, ServiceError> {
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
    /// On the answer to a request that wrote to the ledger: the `seq` of the
    /// entry it wrote. Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
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
        seq: None,
    })
}

/// One mediation, or a page of them (oldest first).
pub fn mediations(conn: &mut DbConn, pick: Pick<'_>) -> Result<Vec<MediationView>, ServiceError> {
    let (rows, agencies, loaded) = rows::load_mediations(conn, pick)?;
    let mut by_m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in agencies {
        by_m.entry(a.mediation_id).or_default().push(a.agency_id);
    }
    let mut sessions: BTreeMap<String, Vec<SessionRow>> = BTreeMap::new();
    for s in loaded {
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
    /// On the answer to a request that wrote to the ledger: the `seq` of the
    /// entry it wrote. Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// One review, or a page of them (oldest first).
pub fn reviews(conn: &mut DbConn, pick: Pick<'_>) -> Result<Vec<ReviewView>, ServiceError> {
    let rows = rows::load_reviews(conn, pick)?;
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
            seq: None,
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
    /// On the answer to a request that wrote to the ledger: the `seq` of the
    /// entry it wrote. Absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// One recommendation, or a page of them (oldest first), only those `status`
/// on `today` where given.
pub fn recommendations(
    conn: &mut DbConn,
    pick: Pick<'_>,
    status: Option<RecommendationStatus>,
    today: NaiveDate,
) -> Result<Vec<RecommendationView>, ServiceError> {
    let day = today.format("%Y-%m-%d").to_string();
    let standing = status.map(|s| match s {
        RecommendationStatus::Responded => rows::Standing::Responded,
        RecommendationStatus::Open => rows::Standing::DueFrom(&day),
        RecommendationStatus::Overdue => rows::Standing::OverdueOn(&day),
    });
    let rows = rows::load_recommendations(conn, pick, standing)?;
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
            seq: None,
        });
    }
    Ok(out)
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
}
