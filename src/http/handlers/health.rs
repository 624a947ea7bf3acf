//! `/healthz` and `/readyz`: no token.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::ledger;

#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The database answers"),
              (status = 503, description = "The database does not answer", body = Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    run(&state.pool, ledger::ready).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
