//! `/v1/admin/webhooks`: notification endpoints and their deliveries.

use actix_web::{delete, get, http::header, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, write, AppState};
use crate::service::notify::{Delivery, Registered, Target, Webhook};
use crate::service::webhooks;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWebhook {
    /// `{"agency": id}` (told of every step of that agency's disputes) or
    /// `{"role": role}` (told when that role is due to act).
    pub target: Target,
    /// `http://` or `https://`; only its origin goes into the ledger.
    pub url: String,
    /// A Standard Webhooks secret (base64 of 24 to 64 bytes, `whsec_` optional);
    /// generated if absent. Returned once.
    #[serde(default)]
    pub secret: Option<String>,
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    request_body = RegisterWebhook,
    responses((status = 201, description = "Registered; the secret is shown this once; `seq` is its entry", body = Registered, headers(("Location" = String))),
              (status = 403, body = Problem),
              (status = 422, description = "Bad URL or secret, or unknown agency", body = Problem)))]
#[post("/v1/admin/webhooks")]
pub async fn register_webhook(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RegisterWebhook>,
) -> Result<HttpResponse, AppError> {
    let RegisterWebhook {
        target,
        url,
        secret,
    } = body.into_inner();
    let w = write(&state, move |conn| {
        webhooks::register(conn, &actor, target, &url, secret.as_deref())
    })
    .await?;
    tracing::info!(webhook = %w.id, seq = w.registered_seq, "webhook registered");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/webhooks/{}", w.id)))
        .json(w))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Endpoints with their delivery status, oldest first", body = Page<Webhook>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("webhooks");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let list = run(&state.pool, move |conn| webhooks::list(conn, after, fetch)).await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |w| w.registered_seq)))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "The endpoint with its delivery status (never its secret)", body = Webhook),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/admin/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = run(&state.pool, move |conn| webhooks::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "Deactivated; its pending deliveries are not sent; `seq` is the entry written", body = Webhook),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already deactivated", body = Problem)))]
#[delete("/v1/admin/webhooks/{id}")]
pub async fn deactivate_webhook(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = write(&state, move |conn| webhooks::deactivate(conn, &actor, &id)).await?;
    tracing::info!(webhook = %w.id, "webhook deactivated");
    Ok(HttpResponse::Ok().json(w))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id"), PageQuery),
    responses((status = 200, description = "Deliveries by seq: status, attempts, last error", body = Page<Delivery>),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/webhooks/{id}/deliveries")]
pub async fn webhook_deliveries(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let paging = q.into_inner().paging("deliveries");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let list = run(&state.pool, move |conn| {
        webhooks::deliveries(conn, &id, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |d| d.seq)))
}
