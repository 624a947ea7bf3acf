//! `/v1/ledger/{head,entries,verify,export}`: the whole ledger, for those who
//! see every dispute.

use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::authz::{self, Allowed};
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Cursor, Limit, Page, Paging};
use crate::http::state::{run, AppState};
use crate::http::views::{entry_page, EntryView};
use crate::service::bundle::{self, Payloads};
use crate::service::ledger;
use crate::service::verify::{self, VerifyReport};

#[derive(Debug, Serialize, ToSchema)]
pub struct Head {
    pub size: i64,
    /// Hex hash of the newest entry; null while the ledger is empty.
    pub head_hash: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// First `seq` to return; default 0. A `cursor` takes precedence.
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<Limit>,
    /// The `next` of the page before; absent for the first page.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = Head), (status = 403, body = Problem)))]
#[get("/v1/ledger/head")]
pub async fn ledger_head(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let (size, hash) = run(&state.pool, ledger::head).await?;
    Ok(HttpResponse::Ok().json(Head {
        size,
        head_hash: hash.map(hex::encode),
    }))
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    params(EntriesQuery),
    responses((status = 200, description = "Entries, oldest first", body = Page<EntryView>),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/v1/ledger/entries")]
pub async fn ledger_entries(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    q: web::Query<EntriesQuery>,
) -> Result<HttpResponse, AppError> {
    let EntriesQuery {
        from,
        limit,
        cursor,
    } = q.into_inner();
    let paging = Paging::new("entries", limit, cursor);
    let (after, fetch) = (paging.after_seq()?, paging.fetch());
    let with_text = authz::reads_free_text(&actor);
    let list = run(&state.pool, move |conn| {
        ledger::entries(conn, from, after, fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entry_page(&paging, list, with_text)))
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = VerifyReport), (status = 403, body = Problem)))]
#[get("/v1/ledger/verify")]
pub async fn ledger_verify(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let report = run(&state.pool, verify::verify).await?;
    if !report.ok {
        tracing::error!(first_bad_seq = ?report.first_bad_seq, problem = ?report.problem, "ledger verification failed");
    }
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "The whole ledger as an audit bundle (JSON Lines: a header with the newest signed checkpoint, then one entry per line, oldest first; see docs/ledger-format.md). Streamed. Payloads are null for auditors.", content_type = "application/x-ndjson", body = String),
              (status = 403, body = Problem),
              (status = 409, description = "The stored tree no longer matches an earlier checkpoint", body = Problem)))]
#[get("/v1/ledger/export")]
pub async fn ledger_export(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
) -> Result<HttpResponse, AppError> {
    let payloads = if authz::reads_free_text(&actor) {
        Payloads::Included
    } else {
        Payloads::Withheld
    };
    export_response(&state, payloads).await
}

/// The export bundle, streamed: what `GET /v1/ledger/export` answers, and the
/// console's download of it (`http::console::auditor::export`).
pub async fn export_response(
    state: &AppState,
    payloads: Payloads,
) -> Result<HttpResponse, AppError> {
    let key = state.log.clone();
    let header = run(&state.pool, move |conn| {
        ledger::begin_export(conn, &key, payloads)
    })
    .await?;
    let first = Bytes::from(bundle::header_line(&header)?);
    // Entries come from a blocking task in batches, through a small bounded channel:
    // memory stays at a few batches whatever the ledger's size, and a slow reader
    // slows the database reads down rather than piling up bytes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    let size = header.size;
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        let sent = ledger::export_entries(&pool, size, payloads, |buf| {
            tx.blocking_send(Ok(Bytes::from(buf))).is_ok()
        })
        .map_err(AppError::from);
        if let Err(e) = sent {
            tracing::error!(error = %e, "ledger export failed mid-stream");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let body = futures_util::stream::once(futures_util::future::ready(Ok(first))).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body))
}
