//! `/v1/admin/ledger/...`: erasing an entry's payload (a partnership_admin
//! requests, a different scrutineer approves) and the redactions so far.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, write, AppState};
use crate::service::ledger;
use crate::service::redaction::Redaction;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactBody {
    /// Why the payload is erased. Required to request; optional to approve.
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(tag = "ledger",
    security(("bearer" = [])), request_body = RedactBody,
    params(("seq" = i64, Path, description = "The entry whose payload is to be erased")),
    responses((status = 200, description = "A partnership_admin's request, or a scrutineer's approval (which erases the payload); `seq` is the entry written", body = Redaction),
              (status = 403, description = "Not a partnership_admin or scrutineer, or approving one's own request", body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Already requested or erased; nothing pending to approve", body = Problem),
              (status = 422, body = Problem)))]
#[post("/v1/admin/ledger/entries/{seq}/redact")]
pub async fn redact_entry(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    seq: web::Path<i64>,
    body: web::Json<RedactBody>,
) -> Result<HttpResponse, AppError> {
    let target = seq.into_inner();
    let reason = body.into_inner().reason;
    let (step, row) = write(&state, move |conn| {
        ledger::redact(conn, &actor, target, reason.as_deref())
    })
    .await?;
    tracing::info!(seq = target, step = ?step, "redaction");
    Ok(HttpResponse::Ok().json(row))
}

#[utoipa::path(tag = "ledger",
    security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Redactions, pending or done, by target seq", body = Page<Redaction>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/ledger/redactions")]
pub async fn list_redactions(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("redactions");
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let list = run(&state.pool, move |conn| {
        ledger::redactions(conn, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |r| r.target_seq)))
}
