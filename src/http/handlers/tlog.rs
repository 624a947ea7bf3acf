//! `/tlog/`: the C2SP `tlog-tiles` read API (<https://c2sp.org/tlog-tiles>).
//! The newest signed checkpoint, hash tiles and entry bundles, with no token:
//! they carry only what the auditor role may see (hashes and the canonical
//! entries, no payloads). Full tiles never change and are cached for good;
//! the checkpoint and partial tiles only briefly.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{get, web, HttpResponse};

use crate::core::tiles::Tile;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::tiles;

/// How long the checkpoint may be cached: it changes as the log grows.
pub const CHECKPOINT_MAX_AGE: u32 = 5;
/// How long a partial tile may be cached.
pub const PARTIAL_MAX_AGE: u32 = 60;

fn cache(tile: &Tile) -> CacheControl {
    if tile.is_full() {
        CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ])
    } else {
        CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(PARTIAL_MAX_AGE),
        ])
    }
}

async fn serve(state: web::Data<AppState>, tile: Tile) -> Result<HttpResponse, AppError> {
    let bytes = run(&state.pool, move |conn| tiles::tile(conn, tile)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(cache(&tile))
        .body(bytes))
}

#[utoipa::path(tag = "tlog",
    responses((status = 200, description = "The newest signed checkpoint (C2SP tlog-checkpoint in a signed note, with the witness cosignatures gathered so far). The tiles served are those of its tree. Cached for a few seconds.", content_type = "text/plain; charset=utf-8", body = String),
              (status = 404, description = "No checkpoint has been signed yet", body = Problem)))]
#[get("/tlog/checkpoint")]
pub async fn tlog_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let note = run(&state.pool, tiles::checkpoint_note).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(CHECKPOINT_MAX_AGE),
        ]))
        .body(note))
}

#[utoipa::path(tag = "tlog",
    params(("index" = String, Path, description = "`<N>[.p/<W>]`: the bundle's index in 3-digit groups, all but the last prefixed by `x` (1234067 is `x001/x234/067`), and for a partial bundle its width W (1 to 255)")),
    responses((status = 200, description = "Entry bundle: entries N*256 .. N*256+W, each a big-endian uint16 length and the canonical entry (the bytes whose RFC 9162 leaf hash is its entry_hash). Full bundles are immutable.", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, description = "Malformed, or not within the newest checkpoint's tree", body = Problem)))]
#[get("/tlog/tile/entries/{index:.+}")]
pub async fn entry_bundle(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tile = Tile::parse_entries(&path.into_inner())
        .map_err(|e| AppError::NotFound(format!("no such entry bundle: {e}")))?;
    serve(state, tile).await
}

#[utoipa::path(tag = "tlog",
    params(("level" = String, Path, description = "The tile's level L, 0 to 63"),
           ("index" = String, Path, description = "`<N>[.p/<W>]`: the tile's index in 3-digit groups, all but the last prefixed by `x`, and for a partial tile its width W (1 to 255)")),
    responses((status = 200, description = "Hash tile (height 8): W (256 if full) concatenated 32-byte hashes of level L. Full tiles are immutable.", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, description = "Malformed, or not within the newest checkpoint's tree", body = Problem)))]
#[get("/tlog/tile/{level}/{index:.+}")]
pub async fn hash_tile(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (level, index) = path.into_inner();
    let tile = Tile::parse_hashes(&level, &index)
        .map_err(|e| AppError::NotFound(format!("no such tile: {e}")))?;
    serve(state, tile).await
}
