//! `/v1/agencies`: the agency registry, and the partnership's changes to it.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::ladder::Partner;
use crate::core::registry::{Agency, AgencyKind};
use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, write, AppState};
use crate::service::registry;

#[utoipa::path(tag = "registry", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "The registry, by id", body = Page<Agency>),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/agencies")]
pub async fn list_agencies(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("agencies");
    let (after, fetch) = (paging.after_key()?, paging.fetch());
    let list = run(&state.pool, move |conn| {
        registry::agencies(conn, after.as_deref(), fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |a| a.id.clone())))
}

/// A new agency: a particular school or provider, say.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgencyBody {
    /// 2 to 64 of `a-z`, `0-9`, `-`, starting and ending with a letter or digit.
    #[schema(
        min_length = 2,
        max_length = 64,
        pattern = "^[a-z0-9][a-z0-9-]*[a-z0-9]$"
    )]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: AgencyKind,
}

/// A rename, a change of kind, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyPatch {
    #[serde(default, deserialize_with = "crate::http::openapi::present")]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::openapi::present")]
    #[schema(nullable = false)]
    pub kind: Option<AgencyKind>,
}

/// An agency after a change to the registry, with the `seq` of the entry that recorded it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyChanged {
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
    pub statutory_partner: Option<Partner>,
    pub retired_at: Option<String>,
    /// The ledger entry written.
    pub seq: i64,
}

impl AgencyChanged {
    fn of((a, seq): (Agency, i64)) -> Self {
        AgencyChanged {
            id: a.id,
            name: a.name,
            kind: a.kind,
            statutory_partner: a.statutory_partner,
            retired_at: a.retired_at,
            seq,
        }
    }
}

#[utoipa::path(tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agency's id")),
    responses((status = 200, body = Agency),
              (status = 400, description = "Not an agency id", body = Problem),
              (status = 401, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/agencies/{id}")]
pub async fn read_agency(
    state: web::Data<AppState>,
    _caller: Allowed,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let a = run(&state.pool, move |conn| registry::agency(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(a))
}

#[utoipa::path(tag = "registry", security(("bearer" = [])),
    request_body = NewAgencyBody,
    responses((status = 201, description = "Added; `Location` names it", body = AgencyChanged),
              (status = 400, description = "A bad id, name or kind", body = Problem),
              (status = 401, body = Problem),
              (status = 403, body = Problem),
              (status = 409, description = "The id is taken (retired ids included)", body = Problem)))]
#[post("/v1/agencies")]
pub async fn create_agency(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<NewAgencyBody>,
) -> Result<HttpResponse, AppError> {
    let NewAgencyBody { id, name, kind } = body.into_inner();
    let done = write(&state, move |conn| {
        registry::register(conn, &actor, registry::NewAgency { id, name, kind })
    })
    .await?;
    let a = AgencyChanged::of(done);
    tracing::info!(agency = %a.id, seq = a.seq, "agency registered");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/agencies/{}", a.id)))
        .json(a))
}

#[utoipa::path(tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agency's id")),
    request_body = AgencyPatch,
    responses((status = 200, body = AgencyChanged),
              (status = 400, body = Problem),
              (status = 401, body = Problem),
              (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "The agency is retired", body = Problem),
              (status = 422, description = "A statutory partner keeps its kind", body = Problem)))]
#[patch("/v1/agencies/{id}")]
pub async fn update_agency(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    path: web::Path<String>,
    body: web::Json<AgencyPatch>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let AgencyPatch { name, kind } = body.into_inner();
    let done = write(&state, move |conn| {
        registry::update(conn, &actor, &id, name, kind)
    })
    .await?;
    let a = AgencyChanged::of(done);
    tracing::info!(agency = %a.id, seq = a.seq, "agency updated");
    Ok(HttpResponse::Ok().json(a))
}

#[utoipa::path(tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agency's id")),
    responses((status = 200, body = AgencyChanged),
              (status = 400, body = Problem),
              (status = 401, body = Problem),
              (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, description = "Already retired", body = Problem),
              (status = 422, description = "A statutory partner is never retired", body = Problem)))]
#[post("/v1/agencies/{id}/retire")]
pub async fn retire_agency(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let done = write(&state, move |conn| registry::retire(conn, &actor, &id)).await?;
    let a = AgencyChanged::of(done);
    tracing::info!(agency = %a.id, seq = a.seq, "agency retired");
    Ok(HttpResponse::Ok().json(a))
}
