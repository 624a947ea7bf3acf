//! The scrutineer's admin endpoints under `/v1/admin/`: mediations, independent
//! reviews and formal recommendations to the SLG. Parse here; who may call
//! each route is [`crate::http::authz`]'s table; the transactions are
//! [`crate::service::casework`]'s, the rules and the SQL
//! [`crate::service::scrutiny`]'s.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::core::event::ScrutinyEvent;
use crate::http::authz::{Allowed, ForDispute};
use crate::http::error::{AppError, Problem};
use crate::http::handlers::disputes::admit;
use crate::http::paging::{Cursor, Limit, Page, PageQuery, Paging};
use crate::http::state::{run, write, AppState};
use crate::service::casework;
use crate::service::scrutiny::{
    self, parse_date, text, Attendee, MediationView, RecommendationStatus, RecommendationView,
    ReviewView, SessionView,
};

// ---- bodies ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenMediation {
    /// A dispute on the `scrutineer` rung (the ladder's mediation), an open
    /// dispute below it, or absent (a mediation outside the ladder).
    #[serde(default)]
    pub dispute_id: Option<String>,
    /// At least two different registered agency ids.
    pub agencies: Vec<String>,
    /// What is mediated. Free text: erasable, never in the tables.
    pub topic: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    /// When the session was held, `YYYY-MM-DD`, not in the future.
    pub date: String,
    pub attendees: Vec<Attendee>,
    pub notes: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseMediation {
    pub outcome: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestReview {
    pub dispute_id: String,
    pub concern: String,
    /// Required (true) for a partnership_admin.
    #[serde(default)]
    pub on_behalf_of_child_or_family: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsBody {
    pub findings: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRecommendation {
    pub text: String,
    /// The dispute it arises from; give this or `theme`, not both.
    #[serde(default)]
    pub dispute_id: Option<String>,
    /// The theme it addresses (free text); give this or `dispute_id`, not both.
    #[serde(default)]
    pub theme: Option<String>,
    /// `YYYY-MM-DD`.
    pub response_due: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationResponse {
    pub accepted: bool,
    /// Required when accepted, refused otherwise.
    #[serde(default)]
    pub actions: Option<String>,
    /// Required when not accepted, refused otherwise.
    #[serde(default)]
    pub reasons: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecommendationQuery {
    /// `open`, `overdue` or `responded`.
    pub status: Option<RecommendationStatus>,
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<Limit>,
    /// The `next` of the page before; absent for the first page.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

// ---- mediations ----

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    request_body = OpenMediation,
    responses((status = 201, body = MediationView, headers(("Location" = String))),
              (status = 403, description = "Not the scrutineer", body = Problem),
              (status = 404, description = "No such dispute", body = Problem),
              (status = 409, description = "The dispute is closed, beyond the scrutineer's rung, or already in a ladder mediation", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/mediations")]
pub async fn open_mediation(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<OpenMediation>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let payload = json!({ "topic": text("topic", &b.topic)? });
    let v = write(&state, move |conn| {
        casework::open_mediation(conn, &actor, b.dispute_id, b.agencies, payload)
    })
    .await?;
    tracing::info!(mediation = %v.id, ladder = v.ladder, "mediation opened");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/mediations/{}", v.id)))
        .json(v))
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = SessionBody,
    params(("id" = String, Path, description = "Mediation id")),
    responses((status = 201, description = "The session recorded; `seq` is its entry and its id", body = SessionView, headers(("Location" = String))),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "The mediation is closed", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/mediations/{id}/sessions")]
pub async fn record_session(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<SessionBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let date = parse_date("date", &b.date)?;
    let payload = json!({ "notes": text("notes", &b.notes)? });
    let id = id.into_inner();
    let mediation = id.clone();
    let v = write(&state, move |conn| {
        casework::record_session(conn, &actor, &id, date, b.attendees, payload)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/admin/mediations/{mediation}/sessions/{}", v.seq),
        ))
        .json(v))
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    params(("id" = String, Path, description = "Mediation id"),
           ("session" = i64, Path, description = "The session's `seq` (its entry)")),
    responses((status = 200, body = SessionView), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/mediations/{id}/sessions/{session}")]
pub async fn get_session(
    state: web::Data<AppState>,
    _caller: Allowed,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, seq) = path.into_inner();
    let v = run(&state.pool, move |conn| casework::session(conn, &id, seq)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = CloseMediation,
    params(("id" = String, Path, description = "Mediation id")),
    responses((status = 200, description = "The mediation, closed; `seq` is the entry written", body = MediationView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already closed, no session recorded, or (ladder mediation) no scrutineer-rung proposal yet", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/mediations/{id}/close")]
pub async fn close_mediation(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<CloseMediation>,
) -> Result<HttpResponse, AppError> {
    let payload = json!({ "outcome": text("outcome", &body.outcome)? });
    let id = id.into_inner();
    let v = write(&state, move |conn| {
        casework::close_mediation(conn, &actor, &id, payload)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Mediations, oldest first", body = Page<MediationView>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/mediations")]
pub async fn list_mediations(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("mediations");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let v = run(&state.pool, move |conn| {
        casework::mediations(conn, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(v, |m| m.opened_seq)))
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    params(("id" = String, Path, description = "Mediation id")),
    responses((status = 200, body = MediationView), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/mediations/{id}")]
pub async fn get_mediation(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let v = run(&state.pool, move |conn| casework::mediation(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

// ---- independent reviews ----

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    request_body = RequestReview,
    responses((status = 201, description = "The review requested; `seq` is its entry", body = ReviewView, headers(("Location" = String))),
              (status = 403, description = "Not a party agency's user or a partnership_admin", body = Problem),
              (status = 404, description = "No such dispute (or not one of the caller's agency's)", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/reviews")]
pub async fn request_review(
    state: web::Data<AppState>,
    caller: ForDispute,
    body: web::Json<RequestReview>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let payload = json!({ "concern": text("concern", &b.concern)? });
    let v = write(&state, move |conn| {
        // The table decides on the dispute the body names.
        casework::request_review(
            conn,
            &b.dispute_id,
            b.on_behalf_of_child_or_family,
            payload,
            admit(caller),
        )
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/reviews/{}", v.id)))
        .json(v))
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    params(("id" = String, Path, description = "Review id")),
    responses((status = 200, body = ReviewView), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/reviews/{id}")]
pub async fn get_review(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let v = run(&state.pool, move |conn| casework::review(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn review_step(
    state: &AppState,
    actor: crate::core::ladder::Actor,
    id: String,
    event: ScrutinyEvent,
    payload: Value,
) -> Result<HttpResponse, AppError> {
    let v = write(state, move |conn| {
        casework::review_step(conn, &actor, &id, event, payload)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = ReviewDecision,
    params(("id" = String, Path, description = "Review id")),
    responses((status = 200, description = "The review after the step; `seq` is the entry written", body = ReviewView), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Not a requested review", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/reviews/{id}/accept")]
pub async fn accept_review(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<ReviewDecision>,
) -> Result<HttpResponse, AppError> {
    let payload = json!({ "reason": text("reason", &body.reason)? });
    review_step(
        &state,
        actor,
        id.into_inner(),
        ScrutinyEvent::ReviewAccepted,
        payload,
    )
    .await
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = ReviewDecision,
    params(("id" = String, Path, description = "Review id")),
    responses((status = 200, description = "The review after the step; `seq` is the entry written", body = ReviewView), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Not a requested review", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/reviews/{id}/decline")]
pub async fn decline_review(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<ReviewDecision>,
) -> Result<HttpResponse, AppError> {
    let payload = json!({ "reason": text("reason", &body.reason)? });
    review_step(
        &state,
        actor,
        id.into_inner(),
        ScrutinyEvent::ReviewDeclined,
        payload,
    )
    .await
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = FindingsBody,
    params(("id" = String, Path, description = "Review id")),
    responses((status = 200, description = "The review, closed; `seq` is the entry written", body = ReviewView),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Not an accepted review", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/reviews/{id}/findings")]
pub async fn record_findings(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<FindingsBody>,
) -> Result<HttpResponse, AppError> {
    let payload = json!({ "findings": text("findings", &body.findings)? });
    review_step(
        &state,
        actor,
        id.into_inner(),
        ScrutinyEvent::ReviewFindingsRecorded,
        payload,
    )
    .await
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Reviews, oldest first", body = Page<ReviewView>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/reviews")]
pub async fn list_reviews(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("reviews");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let v = run(&state.pool, move |conn| {
        casework::reviews(conn, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(v, |r| r.requested_seq)))
}

// ---- recommendations ----

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = IssueRecommendation,
    responses((status = 201, description = "The recommendation issued; `seq` is its entry", body = RecommendationView, headers(("Location" = String))),
              (status = 403, body = Problem),
              (status = 404, description = "No such dispute", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/recommendations")]
pub async fn issue_recommendation(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<IssueRecommendation>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let text_v = text("text", &b.text)?;
    let theme = match (&b.dispute_id, &b.theme) {
        (Some(_), None) => None,
        (None, Some(t)) => Some(text("theme", t)?),
        _ => {
            return Err(AppError::Unprocessable(
                "give exactly one of dispute_id and theme".into(),
            ))
        }
    };
    let due = parse_date("response_due", &b.response_due)?;
    let mut payload = json!({ "text": text_v });
    if let Some(t) = theme {
        payload["theme"] = Value::String(t);
    }
    let v = write(&state, move |conn| {
        casework::issue_recommendation(conn, &actor, b.dispute_id, due, payload)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/admin/recommendations/{}", v.id),
        ))
        .json(v))
}

#[utoipa::path(tag = "scrutiny", security(("bearer" = [])),
    params(("id" = String, Path, description = "Recommendation id")),
    responses((status = 200, body = RecommendationView), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/recommendations/{id}")]
pub async fn get_recommendation(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let v = run(&state.pool, move |conn| casework::recommendation(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), request_body = RecommendationResponse,
    params(("id" = String, Path, description = "Recommendation id")),
    responses((status = 200, description = "The recommendation with its response; `seq` is the entry written", body = RecommendationView),
              (status = 403, description = "Not the SLG", body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Already responded", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/recommendations/{id}/response")]
pub async fn respond(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
    body: web::Json<RecommendationResponse>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let payload = match (b.accepted, &b.actions, &b.reasons) {
        (true, Some(a), None) => json!({ "actions": text("actions", a)? }),
        (false, None, Some(r)) => json!({ "reasons": text("reasons", r)? }),
        (true, _, _) => {
            return Err(AppError::Unprocessable(
                "an accepted recommendation needs actions (and no reasons)".into(),
            ))
        }
        (false, _, _) => {
            return Err(AppError::Unprocessable(
                "a recommendation not accepted needs reasons (and no actions)".into(),
            ))
        }
    };
    let id = id.into_inner();
    let accepted = b.accepted;
    let v = write(&state, move |conn| {
        casework::respond(conn, &actor, &id, accepted, payload)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(tag = "scrutiny",
    security(("bearer" = [])), params(RecommendationQuery),
    responses((status = 200, description = "Recommendations, oldest first", body = Page<RecommendationView>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/recommendations")]
pub async fn list_recommendations(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<RecommendationQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let paging = Paging::new("recommendations", q.limit, q.cursor);
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let status = q.status;
    let today = scrutiny::today();
    let v = run(&state.pool, move |conn| {
        casework::recommendations(conn, status, today, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(v, |r| r.issued_seq)))
}
