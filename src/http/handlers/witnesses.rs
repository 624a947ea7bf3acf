//! The log's signed checkpoint and its keys, and witnessing it: registering
//! witnesses, their cosignatures, and how well the newest checkpoint is
//! witnessed.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::paging::{Page, PageQuery};
use crate::http::state::{run, write, AppState};
use crate::service::cosign::{StoredCosignature, Witness};
use crate::service::ledger;

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "A C2SP tlog-checkpoint in a signed note, covering the whole ledger, with the witness cosignatures gathered so far", content_type = "text/plain", body = String),
              (status = 409, description = "The stored tree no longer matches an earlier checkpoint; nothing is signed", body = Problem)))]
#[get("/v1/ledger/checkpoint")]
pub async fn get_checkpoint(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let key = state.log.clone();
    let note = run(&state.pool, move |conn| ledger::checkpoint_note(conn, &key)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

/// The public keys an auditor needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerKeys {
    /// The checkpoint origin line.
    pub origin: String,
    /// The log's C2SP signed-note verifier key (`name+keyid+base64`).
    pub log: String,
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = LedgerKeys)))]
#[get("/v1/ledger/keys")]
pub async fn ledger_keys(state: web::Data<AppState>, _caller: Allowed) -> HttpResponse {
    HttpResponse::Ok().json(LedgerKeys {
        origin: state.log.origin.clone(),
        log: state.log.verifier_key(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWitness {
    /// The witness's name; must be the key's name.
    pub name: String,
    /// Its C2SP `cosignature/v1` verifier key string (`name+keyid+base64`).
    pub key: String,
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    request_body = RegisterWitness,
    responses((status = 201, description = "Registered; `registered_seq` is its entry", body = Witness, headers(("Location" = String))),
              (status = 403, body = Problem),
              (status = 409, description = "The name or key is already registered", body = Problem),
              (status = 422, description = "Not a cosignature/v1 verifier key, or named otherwise", body = Problem)))]
#[post("/v1/admin/witnesses")]
pub async fn register_witness(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RegisterWitness>,
) -> Result<HttpResponse, AppError> {
    let RegisterWitness { name, key } = body.into_inner();
    let w = write(&state, move |conn| {
        ledger::register_witness(conn, &actor, &name, &key)
    })
    .await?;
    tracing::info!(witness = %w.name, seq = w.registered_seq, "witness registered");
    // A witness's name is its id; key names are letters, digits and `-._+`.
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/ledger/witnesses/{}", w.name)))
        .json(w))
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Registered witnesses, by name", body = Page<Witness>),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/ledger/witnesses")]
pub async fn list_witnesses(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = q.into_inner().paging("witnesses");
    let (after, fetch) = (paging.after_key()?, paging.fetch());
    let list = run(&state.pool, move |conn| {
        ledger::witnesses(conn, after.as_deref(), fetch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging.page(list, |w| w.name.clone())))
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    params(("name" = String, Path, description = "The witness's name")),
    responses((status = 200, body = Witness), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/ledger/witnesses/{name}")]
pub async fn get_witness(
    state: web::Data<AppState>,
    _caller: Allowed,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let w = run(&state.pool, move |conn| ledger::witness(conn, &name)).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureBody {
    /// The size of the signed checkpoint the witness cosigned.
    #[serde(deserialize_with = "crate::http::openapi::integer")]
    pub size: i64,
    /// One `cosignature/v1` signature line (`— <witness name> <base64>`).
    pub cosignature: String,
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    request_body = CosignatureBody,
    responses((status = 201, description = "Stored", body = StoredCosignature),
              (status = 200, description = "Already stored, unchanged", body = StoredCosignature),
              (status = 404, description = "No signed checkpoint of that size", body = Problem),
              (status = 409, description = "The witness already cosigned that size with another line", body = Problem),
              (status = 422, description = "Unknown witness, or the line does not verify over that checkpoint", body = Problem)))]
#[post("/v1/ledger/cosignatures")]
pub async fn post_cosignature(
    state: web::Data<AppState>,
    _caller: Allowed,
    body: web::Json<CosignatureBody>,
) -> Result<HttpResponse, AppError> {
    let CosignatureBody { size, cosignature } = body.into_inner();
    let (new, stored) = write(&state, move |conn| ledger::cosign(conn, size, &cosignature)).await?;
    Ok(if new {
        HttpResponse::Created().json(stored)
    } else {
        HttpResponse::Ok().json(stored)
    })
}

/// How well the newest signed checkpoint is witnessed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Witnessed {
    pub size: i64,
    /// Witnesses whose cosignature of this checkpoint is stored, by name.
    pub cosigned_by: Vec<String>,
    /// Cosignatures needed (`WITNESS_QUORUM`).
    pub quorum: u32,
    pub fully_witnessed: bool,
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    responses((status = 200, body = Witnessed),
              (status = 404, description = "No checkpoint has been signed yet", body = Problem)))]
#[get("/v1/ledger/checkpoint/witnessed")]
pub async fn checkpoint_witnessed(
    state: web::Data<AppState>,
    _caller: Allowed,
) -> Result<HttpResponse, AppError> {
    let quorum = state.witness_quorum;
    let (size, cosigned_by) = run(&state.pool, ledger::witnessed).await?;
    let fully_witnessed = cosigned_by.len() as u64 >= u64::from(quorum);
    Ok(HttpResponse::Ok().json(Witnessed {
        size,
        cosigned_by,
        quorum,
        fully_witnessed,
    }))
}
