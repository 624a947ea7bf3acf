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
use crate::service::push::PushStatus;

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
    /// The log's ML-DSA-44 verifier key (C2SP tlog-cosignature type 0x06);
    /// every checkpoint carries a signature by it too. Null only for a data
    /// folder from before the log had one.
    pub mldsa44: Option<String>,
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = LedgerKeys)))]
#[get("/v1/ledger/keys")]
pub async fn ledger_keys(state: web::Data<AppState>, _caller: Allowed) -> HttpResponse {
    HttpResponse::Ok().json(LedgerKeys {
        origin: state.log.origin.clone(),
        log: state.log.verifier_key(),
        mldsa44: state.log.pq_verifier_key(),
    })
}

/// `s` as one URL path segment (RFC 3986): every byte but the unreserved
/// `A-Z a-z 0-9 - . _ ~` percent-encoded, so a witness name with `/` stays one
/// segment. The `{name}` routes get it back decoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWitness {
    /// The witness's name; must be the key's name.
    pub name: String,
    /// Its verifier key string (`name+keyid+base64`): C2SP `cosignature/v1`
    /// Ed25519 (type 0x04) or ML-DSA-44 (type 0x06, tlog-cosignature).
    pub key: String,
    /// Its C2SP tlog-witness submission prefix (`http` or `https`): after
    /// signing a checkpoint the log POSTs `<url>/add-checkpoint` to it.
    /// Omitted: the witness only pulls.
    #[serde(default)]
    pub url: Option<String>,
}

/// A registered witness and what it last answered to a push.
#[derive(Debug, Serialize, ToSchema)]
pub struct WitnessView {
    #[serde(flatten)]
    pub witness: Witness,
    /// Null until the log first pushed to it (or for a pull-only witness).
    pub push: Option<PushStatus>,
}

/// A witness just registered, with the `seq` of the entry that registered it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredWitness {
    #[serde(flatten)]
    pub witness: Witness,
    /// The entry written (its `registered_seq`).
    pub seq: i64,
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    request_body = RegisterWitness,
    responses((status = 201, description = "Registered; `seq` (= `registered_seq`) is its entry", body = RegisteredWitness, headers(("Location" = String))),
              (status = 403, body = Problem),
              (status = 409, description = "The name or key is already registered", body = Problem),
              (status = 422, description = "Not a cosignature/v1 (Ed25519) or ML-DSA-44 witness verifier key, or named otherwise, or the url is not an http(s) URL", body = Problem)))]
#[post("/v1/admin/witnesses")]
pub async fn register_witness(
    state: web::Data<AppState>,
    Allowed(actor): Allowed,
    body: web::Json<RegisterWitness>,
) -> Result<HttpResponse, AppError> {
    let RegisterWitness { name, key, url } = body.into_inner();
    let w = write(&state, move |conn| {
        ledger::register_witness(conn, &actor, &name, &key, url.as_deref())
    })
    .await?;
    tracing::info!(witness = %w.name, seq = w.registered_seq, "witness registered");
    // A witness's name is its id; it may hold `/` (the note format allows
    // it), so it goes in the path percent-encoded.
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/ledger/witnesses/{}", path_segment(&w.name)),
        ))
        .json(RegisteredWitness {
            seq: w.registered_seq,
            witness: w,
        }))
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Registered witnesses, by name", body = Page<WitnessView>),
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
    let list = list
        .into_iter()
        .map(|(witness, push)| WitnessView { witness, push })
        .collect();
    Ok(HttpResponse::Ok().json(paging.page(list, |w: &WitnessView| w.witness.name.clone())))
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    params(("name" = String, Path, description = "The witness's name, percent-encoded as one path segment (a `/` in it as `%2F`)")),
    responses((status = 200, body = WitnessView), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
#[get("/v1/ledger/witnesses/{name}")]
pub async fn get_witness(
    state: web::Data<AppState>,
    _caller: Allowed,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let (witness, push) = run(&state.pool, move |conn| ledger::witness(conn, &name)).await?;
    Ok(HttpResponse::Ok().json(WitnessView { witness, push }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureBody {
    /// The size of the signed checkpoint the witness cosigned.
    #[serde(deserialize_with = "crate::http::openapi::integer")]
    pub size: i64,
    /// One cosignature line (`— <witness name> <base64>`), Ed25519
    /// `cosignature/v1` or ML-DSA-44 `subtree/v1`, by the witness's registered key.
    pub cosignature: String,
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    request_body = CosignatureBody,
    responses((status = 201, description = "Stored; `Location` reads it back", body = StoredCosignature, headers(("Location" = String))),
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
        HttpResponse::Created()
            .insert_header((
                header::LOCATION,
                format!(
                    "/v1/ledger/cosignatures/{}/{}",
                    stored.size,
                    path_segment(&stored.witness)
                ),
            ))
            .json(stored)
    } else {
        HttpResponse::Ok().json(stored)
    })
}

#[utoipa::path(tag = "witnesses", security(("bearer" = [])),
    params(("size" = i64, Path, description = "The cosigned checkpoint's size"),
           ("witness" = String, Path, description = "The witness's name, percent-encoded as one path segment (a `/` in it as `%2F`)")),
    responses((status = 200, body = StoredCosignature), (status = 401, body = Problem),
              (status = 404, description = "That witness has not cosigned that size", body = Problem)))]
#[get("/v1/ledger/cosignatures/{size}/{witness}")]
pub async fn get_cosignature(
    state: web::Data<AppState>,
    _caller: Allowed,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (size, witness) = path.into_inner();
    let c = run(&state.pool, move |conn| {
        ledger::cosignature(conn, size, &witness)
    })
    .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// How well the newest signed checkpoint is witnessed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Witnessed {
    pub size: i64,
    /// Witnesses whose cosignature of this checkpoint is stored, by name.
    pub cosigned_by: Vec<String>,
    /// The fewest cosignatures that can meet `WITNESS_QUORUM` (a count, or a
    /// tlog-policy file's quorum: then its groups decide `fully_witnessed`).
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
    let (size, cosigned_by, keys) = run(&state.pool, ledger::witnessed_with_keys).await?;
    // A count, or the tlog-policy's groups (k-of-n, nested).
    let fully_witnessed = state.witness_quorum.met_by(&keys);
    let quorum = state.witness_quorum.min_cosignatures();
    Ok(HttpResponse::Ok().json(Witnessed {
        size,
        cosigned_by,
        quorum,
        fully_witnessed,
    }))
}
