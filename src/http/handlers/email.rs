//! `/v1/admin/email`: who gets email (per agency and per role) and what was sent.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, AppState};
use crate::service::email::{self, MailDelivery, Recipients};
use crate::service::notify::Target;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRecipients {
    /// `{"agency": id}` (email on every step of that agency's disputes) or
    /// `{"role": role}` (email when that role is due to act).
    pub target: Target,
    /// The whole list, replacing the one before (at most 50; empty: nobody).
    /// Staff addresses are personal data: they go into the entry's erasable
    /// payload, never into its hashed facts.
    pub addresses: Vec<String>,
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    request_body = SetRecipients,
    responses((status = 200, description = "The list as set; `seq` is its `email_recipients_set` entry", body = Recipients),
              (status = 403, body = Problem),
              (status = 422, description = "Not an email address, too many, or an unknown or retired agency", body = Problem)))]
#[post("/v1/admin/email/recipients")]
pub async fn set_email_recipients(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<SetRecipients>,
) -> Result<HttpResponse, AppError> {
    let SetRecipients { target, addresses } = body.into_inner();
    let r = run(&state.pool, move |conn| {
        email::set_recipients(conn, &actor, target, &addresses)
    })
    .await?;
    tracing::info!(
        seq = r.seq,
        count = r.addresses.len(),
        "email recipients set"
    );
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Every address list, agencies then roles", body = Page<Recipients>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/email/recipients")]
pub async fn list_email_recipients(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("email_recipients");
    let after = paging.after_key()?;
    let limit = usize::try_from(paging.fetch()).unwrap_or(0);
    let all = run(&state.pool, email::recipients).await?;
    let key = |r: &Recipients| {
        let (k, v) = r.target.columns();
        format!("{k}/{v}")
    };
    let rows: Vec<Recipients> = all
        .into_iter()
        .filter(|r| after.as_deref().is_none_or(|a| key(r).as_str() > a))
        .take(limit)
        .collect();
    Ok(HttpResponse::Ok().json(paging.page(rows, key)))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Emails in ledger order: recipient, status, attempts, last error", body = Page<MailDelivery>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/admin/email/deliveries")]
pub async fn email_deliveries(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("email_deliveries");
    let (after, fetch) = (paging.after_key()?, paging.fetch());
    let list = run(&state.pool, move |conn| {
        email::deliveries(conn, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |d| d.id.clone())))
}
