//! `/v1/admin/webhooks`: notification endpoints and their deliveries.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
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
    responses((status = 201, description = "Registered; the secret is shown this once", body = Registered),
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
    let w = run(&state.pool, move |conn| {
        webhooks::register(conn, &actor, target, &url, secret.as_deref())
    })
    .await?;
    tracing::info!(webhook = %w.id, seq = w.registered_seq, "webhook registered");
    Ok(HttpResponse::Created().json(w))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Every endpoint with its delivery status", body = [Webhook]),
              (status = 403, body = Problem)))]
#[get("/v1/admin/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, webhooks::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "Deactivated; its pending deliveries are not sent", body = Webhook),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already deactivated", body = Problem)))]
#[delete("/v1/admin/webhooks/{id}")]
pub async fn deactivate_webhook(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = run(&state.pool, move |conn| {
        webhooks::deactivate(conn, &actor, &id)
    })
    .await?;
    tracing::info!(webhook = %w.id, "webhook deactivated");
    Ok(HttpResponse::Ok().json(w))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook id")),
    responses((status = 200, description = "Deliveries by seq: status, attempts, last error", body = [Delivery]),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/admin/webhooks/{id}/deliveries")]
pub async fn webhook_deliveries(
    state: web::Data<AppState>,
    _caller: Allowed,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let list = run(&state.pool, move |conn| webhooks::deliveries(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(list))
}
