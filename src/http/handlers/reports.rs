//! `/v1/reports/escalations`: the escalation section of the SLG's annual
//! report (seed 9.1), computed from the ledger and bound to a signed checkpoint
//! ([`crate::core::report`] says what every member means).

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::core::input;
use crate::core::report::{self, Audience, Options, Period};
use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::reports;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day of the period, a London date (YYYY-MM-DD), inclusive.
    pub from: String,
    /// Last day of the period, a London date (YYYY-MM-DD), inclusive.
    pub to: String,
    /// `internal` (default) or `public`: small counts suppressed for publication.
    #[param(pattern = "^(internal|public)$")]
    pub audience: Option<String>,
}

/// Whether the caller asked for CSV rather than JSON.
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        })
}

#[utoipa::path(tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, description = "The escalation figures for the period, as RFC 8785 canonical JSON (members in core::report's doc and the README); with `Accept: text/csv`, one CSV table per section, separated by blank lines. The same ledger size gives the same bytes as `escalation-ledger report` on an export.", content_type = "application/json", body = Object),
              (status = 400, description = "A date that is not YYYY-MM-DD, an unknown audience", body = Problem),
              (status = 403, body = Problem),
              (status = 422, description = "`from` is after `to`: no such period", body = Problem),
              (status = 409, description = "The stored tree no longer matches an earlier checkpoint", body = Problem)))]
#[get("/v1/reports/escalations")]
pub async fn escalations_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    // An unreadable date is a bad request; two dates in the wrong order are
    // well formed but describe no period (no schema can say that): 422.
    for (field, value) in [("from", &q.from), ("to", &q.to)] {
        input::date(field, value).map_err(|e| AppError::BadRequest(e.to_string()))?;
    }
    let period = Period::parse(&q.from, &q.to).map_err(AppError::Unprocessable)?;
    let audience = match q.audience.as_deref() {
        None => Audience::Internal,
        Some(a) => a.parse().map_err(AppError::BadRequest)?,
    };
    let opts = Options {
        period,
        audience,
        suppress_below: state.report_suppress_below,
    };
    let key = state.log.clone();
    let figures = run(&state.pool, move |conn| {
        reports::escalations(conn, &key, opts)
    })
    .await?;
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report::to_csv(&figures)));
    }
    let body = figures.canonical().map_err(AppError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
