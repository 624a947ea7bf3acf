//! `/v1/ledger/proofs/{inclusion,consistency}`: RFC 9162 proofs from the
//! stored tree; anyone may check the log.

use actix_web::{get, web, HttpResponse};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::authz::Allowed;
use crate::http::error::{AppError, Problem};
use crate::http::state::{run, AppState};
use crate::service::ledger;

fn b64(h: &[u8]) -> String {
    B64.encode(h)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's `seq` (its leaf index).
    pub seq: i64,
    /// The tree size to prove against; default: the whole ledger.
    pub size: Option<i64>,
}

/// An RFC 9162 inclusion proof (section 2.1.3); hashes in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub seq: i64,
    pub size: i64,
    /// The entry's `entry_hash` (its leaf hash).
    pub leaf_hash: String,
    pub root_hash: String,
    /// The audit path, leaf to root.
    pub proof: Vec<String>,
    /// Distinct stored tree nodes read for this answer (proof and roots), in one query.
    pub node_reads: u64,
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = Problem)))]
#[get("/v1/ledger/proofs/inclusion")]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, AppError> {
    let InclusionQuery { seq, size } = q.into_inner();
    let (seq, size, p) = run(&state.pool, move |conn| ledger::inclusion(conn, seq, size)).await?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        seq: seq as i64,
        size: size as i64,
        leaf_hash: b64(&p.hashes.0),
        root_hash: b64(&p.hashes.1),
        proof: p.path.iter().map(|h| b64(h)).collect(),
        node_reads: p.node_reads,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The earlier tree size, at least 1.
    pub from: i64,
    /// The later tree size; default: the whole ledger.
    pub to: Option<i64>,
}

/// An RFC 9162 consistency proof (section 2.1.4); hashes in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: i64,
    pub to: i64,
    pub from_root: String,
    pub to_root: String,
    pub proof: Vec<String>,
    /// Distinct stored tree nodes read for this answer (proof and roots), in one query.
    pub node_reads: u64,
}

#[utoipa::path(tag = "ledger", security(("bearer" = [])),
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = Problem)))]
#[get("/v1/ledger/proofs/consistency")]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    _caller: Allowed,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, AppError> {
    let ConsistencyQuery { from, to } = q.into_inner();
    let (from, to, p) = run(&state.pool, move |conn| ledger::consistency(conn, from, to)).await?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        from: from as i64,
        to: to as i64,
        from_root: b64(&p.hashes.0),
        to_root: b64(&p.hashes.1),
        proof: p.path.iter().map(|h| b64(h)).collect(),
        node_reads: p.node_reads,
    }))
}

/// The `c2sp.org/tlog-proof@v1` file of a dispute's outcome: the entry that
/// resolved it (or its latest), against the newest cosigned checkpoint
/// covering it (`service::proof`). Verify it offline with
/// `escalation-ledger audit --proof FILE --policy FILE`.
#[utoipa::path(tag = "disputes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Dispute id")),
    responses((status = 200, description = "The proof file (`.tlog-proof`, C2SP tlog-proof v1); `X-Proof-Seq` is the entry, `X-Proof-Size` the checkpoint's tree size, `X-Proof-Cosigned` whether any witness cosigned it",
                content_type = "text/plain", body = String),
              (status = 404, body = Problem), (status = 409, description = "No signed checkpoint covers the entry yet", body = Problem)))]
#[get("/v1/disputes/{id}/proof")]
pub async fn dispute_proof(
    state: web::Data<AppState>,
    caller: crate::http::authz::ForDispute,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let key = state.log.clone();
    let p = run(&state.pool, move |conn| {
        crate::service::proof::for_dispute(
            conn,
            &id,
            &key,
            crate::http::handlers::disputes::admit(caller),
        )
    })
    .await?;
    Ok(proof_response(p))
}

/// A proof file as `GET /v1/disputes/{id}/proof` answers it, and the
/// console's download of it (`http::console::auditor::proof`).
pub fn proof_response(p: crate::service::proof::Proof) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::core::tlog_proof::CONTENT_TYPE)
        .insert_header(("X-Proof-Seq", p.seq.to_string()))
        .insert_header(("X-Proof-Size", p.size.to_string()))
        .insert_header(("X-Proof-Cosigned", p.cosigned.to_string()))
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"entry-{}.{}\"",
                p.seq,
                crate::core::tlog_proof::EXTENSION
            ),
        ))
        .body(p.text)
}
