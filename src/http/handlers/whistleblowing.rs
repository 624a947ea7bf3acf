//! The scrutineer's view of a whistleblower's identity. (The log's
//! withholding of a whistleblower's `sub` is [`crate::http::state::loggable_sub`].)

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::whistleblowing;

/// Who raised a whistleblowing concern.
#[derive(Debug, Serialize, ToSchema)]
pub struct Whistleblower {
    pub pseudonym: String,
    pub sub: String,
    pub agency: Option<String>,
    /// When the identity was first recorded (RFC 3339, UTC).
    pub created_at: String,
}

#[utoipa::path(tag = "admin",
    security(("bearer" = [])),
    params(("pseudonym" = String, Path, description = "The `wb-...` pseudonym a dispute shows as its raiser")),
    responses((status = 200, description = "The real identity behind a pseudonym (scrutineer only)", body = Whistleblower),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/admin/whistleblowing/{pseudonym}")]
pub async fn get_whistleblower(
    state: web::Data<AppState>,
    _caller: Allowed,
    pseudonym: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let pseudonym = pseudonym.into_inner();
    let row = run(&state.pool, move |conn| {
        whistleblowing::identity(conn, &pseudonym)
    })
    .await?
    .ok_or_else(|| AppError::NotFound("no such whistleblowing pseudonym".into()))?;
    Ok(HttpResponse::Ok().json(Whistleblower {
        created_at: crate::core::ledger::format_time(&row.created_at),
        pseudonym: row.pseudonym,
        sub: row.sub,
        agency: row.agency,
    }))
}
