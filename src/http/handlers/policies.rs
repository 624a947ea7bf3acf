//! `/v1/policies`: the ladder policy documents, and activating one. The
//! storage and the ledger entry are [`crate::service::policies`]'s.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, write, AppState};
use crate::service::policies;
use crate::service::policy_store::{PolicyDocument, PolicySummary};

/// Activate a policy: one shipped with the service, by `version`, or a new
/// `document` (TOML). Exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivatePolicy {
    /// A shipped policy's version, e.g. `wt-2023`.
    #[serde(default, deserialize_with = "crate::http::openapi::present")]
    #[schema(nullable = false)]
    pub version: Option<String>,
    /// A policy document's full text; validated, with errors naming the line.
    #[serde(default, deserialize_with = "crate::http::openapi::present")]
    #[schema(nullable = false)]
    pub document: Option<String>,
}

#[utoipa::path(tag = "policies", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "The policies the service holds, by version, the active one marked", body = Page<PolicySummary>),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/policies")]
pub async fn list_policies(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("policies");
    let (after, fetch) = (paging.after_key()?, paging.fetch());
    let summaries = run(&state.pool, move |conn| {
        policies::summaries(conn, after.as_deref(), fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(summaries, |p| p.version.clone())))
}

#[utoipa::path(tag = "policies", security(("bearer" = [])),
    params(("version" = String, Path, description = "Policy version, e.g. krscp-2024-02")),
    responses((status = 200, description = "The document, byte for byte, with its hash", body = PolicyDocument),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/policies/{version}")]
pub async fn get_policy(
    state: web::Data<AppState>,
    _caller: Allowed,
    version: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let version = version.into_inner();
    let doc = run(&state.pool, move |conn| policies::document(conn, &version)).await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// A policy just activated, with the `seq` of its activation entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivatedPolicy {
    #[serde(flatten)]
    pub policy: PolicyDocument,
    /// The `policy_activated` entry written.
    pub seq: i64,
}

#[utoipa::path(tag = "policies", security(("bearer" = [])),
    request_body = ActivatePolicy,
    responses((status = 201, description = "Activated: new disputes follow it; open ones keep theirs; `seq` is the activation's entry", body = ActivatedPolicy),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, description = "The document is invalid; the detail names the line", body = Problem)))]
#[post("/v1/policies")]
pub async fn activate_policy(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<ActivatePolicy>,
) -> Result<HttpResponse, AppError> {
    let ActivatePolicy { version, document } = body.into_inner();
    let (seq, doc) = write(&state, move |conn| {
        policies::activate(conn, &actor, version.as_deref(), document.as_deref())
    })
    .await?;
    tracing::info!(version = %doc.summary.version, sha256 = %doc.summary.sha256, "policy activated");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/policies/{}", doc.summary.version),
        ))
        .json(ActivatedPolicy { seq, policy: doc }))
}
