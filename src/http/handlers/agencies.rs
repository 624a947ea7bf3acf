//! `/v1/agencies`: the agency registry.

use actix_web::{get, web, HttpResponse};

use crate::core::registry::Agency;
use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::registry;

#[utoipa::path(tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = [Agency]), (status = 401, body = Problem)))]
#[get("/v1/agencies")]
pub async fn list_agencies(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let list = run(&state.pool, registry::agencies).await?;
    Ok(HttpResponse::Ok().json(list))
}
