//! `GET /metrics`: the Prometheus exposition, reachable two ways (issue 13 §5):
//! - open, on its own listener (`METRICS_BIND`), with no token: bind it where
//!   only the scraper reaches ([`metrics`]);
//! - behind a role, on the service's own listener: a bearer token whose role
//!   the access table's `metrics` row allows (`auditor`), through the
//!   [`Allowed`] extractor like every other route ([`metrics_for_role`]).

use actix_web::{get, web, HttpResponse};

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::figures;
use crate::store::db::Pool;

/// What the metrics listener needs: the database and the witness quorum.
pub struct MetricsState {
    pub pool: Pool,
    pub witness_quorum: u32,
}

async fn exposition(pool: &Pool, witness_quorum: u32) -> Result<HttpResponse, AppError> {
    let now = crate::core::clock::now().naive_utc();
    let f = run(pool, move |conn| figures::figures(conn, now)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::http::metrics::render(&f, witness_quorum)))
}

/// The Prometheus text exposition (format 0.0.4), on the `METRICS_BIND` listener.
pub async fn metrics(state: web::Data<MetricsState>) -> Result<HttpResponse, AppError> {
    exposition(&state.pool, state.witness_quorum).await
}

/// The same exposition on the service's listener, for a token the access
/// table allows (`auditor`): a scraper needs no port of its own.
#[utoipa::path(tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "The Prometheus text exposition (format 0.0.4): HTTP request durations by route, method and status, and the ledger's own figures", content_type = "text/plain"),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/metrics")]
pub async fn metrics_for_role(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    exposition(&state.pool, state.witness_quorum.min_cosignatures()).await
}
