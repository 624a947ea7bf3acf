//! The scrutineer's casework beside the ladder, one transaction per use case:
//! mediations, independent reviews and recommendations to the SLG, each
//! answered with its view as it stands after the step. The rules and the SQL
//! are [`crate::service::scrutiny`]'s.

use chrono::NaiveDate;
use serde_json::Value;

use crate::core::event::ScrutinyEvent;
use crate::core::ladder::Actor;
use crate::service::disputes::{load_admitted, Admit, Failed};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::scrutiny::{
    self, Attendee, MediationView, Pick, RecommendationStatus, RecommendationView, ReviewView,
    SessionView,
};
use crate::store::db::{read_tx, write_tx, DbConn};

fn one<T>(mut v: Vec<T>, what: &str) -> ServiceResult<T> {
    v.pop()
        .ok_or_else(|| ServiceError::NotFound(format!("no such {what}")))
}

fn mediation_view(conn: &mut DbConn, id: &str) -> ServiceResult<MediationView> {
    one(scrutiny::mediations(conn, Pick::One(id))?, "mediation")
}

fn review_view(conn: &mut DbConn, id: &str) -> ServiceResult<ReviewView> {
    one(scrutiny::reviews(conn, Pick::One(id))?, "review")
}

fn recommendation_view(conn: &mut DbConn, id: &str) -> ServiceResult<RecommendationView> {
    one(
        scrutiny::recommendations(conn, Pick::One(id), None, scrutiny::today())?,
        "recommendation",
    )
}

/// Open a mediation (about a dispute, or outside the ladder).
pub fn open_mediation(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    agencies: Vec<String>,
    payload: Value,
) -> ServiceResult<MediationView> {
    write_tx(conn, |conn| {
        let id = scrutiny::open_mediation(conn, actor, dispute_id, agencies, payload)?;
        let v = mediation_view(conn, &id)?;
        Ok(MediationView {
            seq: Some(v.opened_seq),
            ..v
        })
    })
}

/// Record a session of mediation `id`; the session recorded (its `seq` is
/// its entry's).
pub fn record_session(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    date: NaiveDate,
    attendees: Vec<Attendee>,
    payload: Value,
) -> ServiceResult<SessionView> {
    write_tx(conn, |conn| {
        scrutiny::record_session(conn, actor, id, date, attendees, payload)?;
        mediation_view(conn, id)?
            .sessions
            .pop()
            .ok_or_else(|| ServiceError::Internal(format!("mediation {id}: session vanished")))
    })
}

/// Session `seq` of mediation `id`.
pub fn session(conn: &mut DbConn, id: &str, seq: i64) -> ServiceResult<SessionView> {
    read_tx(conn, |conn| {
        mediation_view(conn, id)?
            .sessions
            .into_iter()
            .find(|s| s.seq == seq)
            .ok_or_else(|| ServiceError::NotFound(format!("mediation {id} has no session {seq}")))
    })
}

/// Close mediation `id` with its outcome.
pub fn close_mediation(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    payload: Value,
) -> ServiceResult<MediationView> {
    write_tx(conn, |conn| {
        scrutiny::close_mediation(conn, actor, id, payload)?;
        let v = mediation_view(conn, id)?;
        Ok(MediationView {
            seq: v.closed_seq,
            ..v
        })
    })
}

/// Up to `limit` mediations opened after entry `after`, oldest first.
pub fn mediations(
    conn: &mut DbConn,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<MediationView>> {
    read_tx(conn, |conn| {
        scrutiny::mediations(conn, Pick::Page { after, limit })
    })
}

/// Mediation `id`.
pub fn mediation(conn: &mut DbConn, id: &str) -> ServiceResult<MediationView> {
    read_tx(conn, |conn| mediation_view(conn, id))
}

/// Request an independent review of dispute `dispute_id`, as `admit` lets
/// the caller reach that dispute.
pub fn request_review<E: From<ServiceError>>(
    conn: &mut DbConn,
    dispute_id: &str,
    on_behalf_of_child_or_family: bool,
    payload: Value,
    admit: impl Admit<E>,
) -> Result<ReviewView, E> {
    write_tx(conn, |conn| {
        let (actor, _, _) = load_admitted(conn, dispute_id, admit)?;
        let id = scrutiny::request_review(
            conn,
            &actor,
            dispute_id,
            on_behalf_of_child_or_family,
            payload,
        )?;
        let v = review_view(conn, &id)?;
        Ok::<_, Failed<E>>(ReviewView {
            seq: Some(v.requested_seq),
            ..v
        })
    })
    .map_err(Failed::into_caller)
}

/// One step on review `id` (accept, decline, findings: `event`).
pub fn review_step(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    event: ScrutinyEvent,
    payload: Value,
) -> ServiceResult<ReviewView> {
    write_tx(conn, |conn| {
        scrutiny::review_action(conn, actor, id, event, payload)?;
        let v = review_view(conn, id)?;
        // Findings come after the decision: the later entry is this step's.
        let seq = v.findings_seq.or(v.decided_seq);
        Ok(ReviewView { seq, ..v })
    })
}

/// Up to `limit` reviews requested after entry `after`, oldest first.
pub fn reviews(
    conn: &mut DbConn,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<ReviewView>> {
    read_tx(conn, |conn| {
        scrutiny::reviews(conn, Pick::Page { after, limit })
    })
}

/// Review `id`.
pub fn review(conn: &mut DbConn, id: &str) -> ServiceResult<ReviewView> {
    read_tx(conn, |conn| review_view(conn, id))
}

/// Issue a recommendation (about a dispute, or a theme in the payload).
pub fn issue_recommendation(
    conn: &mut DbConn,
    actor: &Actor,
    dispute_id: Option<String>,
    response_due: NaiveDate,
    payload: Value,
) -> ServiceResult<RecommendationView> {
    write_tx(conn, |conn| {
        let id = scrutiny::issue_recommendation(conn, actor, dispute_id, response_due, payload)?;
        let v = recommendation_view(conn, &id)?;
        Ok(RecommendationView {
            seq: Some(v.issued_seq),
            ..v
        })
    })
}

/// The SLG's response to recommendation `id`.
pub fn respond(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    accepted: bool,
    payload: Value,
) -> ServiceResult<RecommendationView> {
    write_tx(conn, |conn| {
        scrutiny::respond(conn, actor, id, accepted, payload)?;
        let v = recommendation_view(conn, id)?;
        let seq = v.response.as_ref().map(|r| r.seq);
        Ok(RecommendationView { seq, ..v })
    })
}

/// Up to `limit` recommendations issued after entry `after`, oldest first,
/// only those `status` as of `today` where given.
pub fn recommendations(
    conn: &mut DbConn,
    status: Option<RecommendationStatus>,
    today: NaiveDate,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<RecommendationView>> {
    read_tx(conn, |conn| {
        scrutiny::recommendations(conn, Pick::Page { after, limit }, status, today)
    })
}

/// Recommendation `id`.
pub fn recommendation(conn: &mut DbConn, id: &str) -> ServiceResult<RecommendationView> {
    read_tx(conn, |conn| recommendation_view(conn, id))
}
