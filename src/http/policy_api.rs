//! `/v1/policies`: the ladder policy documents, and activating one.
//! Parse and authorise here; the storage and the ledger entry are in
//! [`crate::service::policy_store`].

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::policy_store::{self, PolicyDocument, PolicySummary, Source};
use crate::store::db::{read_tx, write_tx};

/// Activate a policy: one shipped with the service, by `version`, or a new
/// `document` (TOML). Exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivatePolicy {
    /// A shipped policy's version, e.g. `wt-2023`.
    #[serde(default)]
    pub version: Option<String>,
    /// A policy document's full text; validated, with errors naming the line.
    #[serde(default)]
    pub document: Option<String>,
}

#[utoipa::path(get, path = "/v1/policies", tag = "policies", security(("bearer" = [])),
    responses((status = 200, description = "Every policy the service holds, the active one marked", body = [PolicySummary]),
              (status = 401, body = Problem)))]
pub async fn list_policies(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, |conn| read_tx(conn, policy_store::list)).await?;
    let summaries: Vec<PolicySummary> = list.into_iter().map(|d| d.summary).collect();
    Ok(HttpResponse::Ok().json(summaries))
}

#[utoipa::path(get, path = "/v1/policies/{version}", tag = "policies", security(("bearer" = [])),
    params(("version" = String, Path, description = "Policy version, e.g. krscp-2024-02")),
    responses((status = 200, description = "The document, byte for byte, with its hash", body = PolicyDocument),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_policy(
    state: web::Data<AppState>,
    _caller: Allowed,
    version: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let version = version.into_inner();
    let doc = run(&state.pool, move |conn| {
        read_tx(conn, |conn| {
            policy_store::document(conn, &version)?
                .ok_or_else(|| AppError::NotFound(format!("no policy '{version}'")))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(post, path = "/v1/policies", tag = "policies", security(("bearer" = [])),
    request_body = ActivatePolicy,
    responses((status = 201, description = "Activated: new disputes follow it; open ones keep theirs", body = PolicyDocument),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, description = "The document is invalid; the detail names the line", body = Problem)))]
pub async fn activate_policy(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<ActivatePolicy>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let doc = run(&state.pool, move |conn| {
        write_tx(conn, |conn| {
            let source = match (&body.version, &body.document) {
                (Some(v), None) => Source::Shipped(v),
                (None, Some(d)) => Source::Document(d),
                _ => {
                    return Err(AppError::BadRequest(
                        "give either 'version' (a shipped policy) or 'document', not both".into(),
                    ))
                }
            };
            let (_, p) = policy_store::activate(conn, &actor, source)?;
            policy_store::document(conn, &p.version)?
                .ok_or_else(|| AppError::Internal("activated policy vanished".into()))
        })
    })
    .await?;
    tracing::info!(version = %doc.summary.version, sha256 = %doc.summary.sha256, "policy activated");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/policies/{}", doc.summary.version),
        ))
        .json(doc))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/policies", web::get().to(list_policies))
        .route("/policies", web::post().to(activate_policy))
        .route("/policies/{version}", web::get().to(get_policy));
}
