//! `/v1/agencies`: the agency registry.

use actix_web::{get, web, HttpResponse};

use crate::core::registry::Agency;
use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, AppState};
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
