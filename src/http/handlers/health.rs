//! `/healthz` and `/readyz`: no token.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::http::error::{AppError, Problem};
use crate::http::state::AppState;
use crate::service::ledger;
use crate::store::db;

/// `/readyz` waits this long for a connection, not the pool's own wait.
const READY_POOL_WAIT: Duration = Duration::from_millis(500);
/// `/readyz` answers within this, whatever the database does.
const READY_WITHIN: Duration = Duration::from_millis(900);

#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers; 503 within a second when it does not.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The database answers"),
              (status = 503, description = "The database does not answer (within a second)", body = Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let check = db::run_within(&state.pool, READY_POOL_WAIT, |c| {
        ledger::ready(c).map_err(AppError::from)
    });
    match actix_web::rt::time::timeout(READY_WITHIN, check).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(AppError::Unavailable(
                "the database did not answer within a second".into(),
            ))
        }
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
