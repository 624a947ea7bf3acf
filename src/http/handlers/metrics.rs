//! `GET /metrics`: the Prometheus exposition. Served on its own listener
//! (`METRICS_BIND`), with no token: bind it where only the scraper reaches.

use actix_web::{web, HttpResponse};

use crate::http::error::AppError;
use crate::http::state::run;
use crate::service::figures;
use crate::store::db::Pool;

/// What the metrics listener needs: the database and the witness quorum.
pub struct MetricsState {
    pub pool: Pool,
    pub witness_quorum: u32,
}

/// The Prometheus text exposition (format 0.0.4).
pub async fn metrics(state: web::Data<MetricsState>) -> Result<HttpResponse, AppError> {
    let now = chrono::Utc::now().naive_utc();
    let f = run(&state.pool, move |conn| figures::figures(conn, now)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::http::metrics::render(&f, state.witness_quorum)))
}
