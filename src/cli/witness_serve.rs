//! `escalation-ledger witness serve`: a small C2SP tlog-witness server for one
//! log, so that a partner without another implementation can take the log's
//! pushes. `POST /add-checkpoint` is decided by
//! `core::witness_protocol::check_add` (the log key's signature, the old size
//! against the stored one, the consistency proof); on success the new view is
//! written to the state file (atomically, synced) *before* the cosignature is
//! returned, and the check and the write happen under one lock, so two
//! requests can never roll the stored size back.
//!
//! The state file is the same JSON as the pull client's
//! (`cli::witness::WitnessState`): the pinned log key, the size and root last
//! cosigned. The submission prefix to register is `http://ADDR` (the server
//! answers `add-checkpoint` at its root). It cosigns with the key in the key
//! file: Ed25519 `cosignature/v1`, or ML-DSA-44 for a key made with
//! `--generate-key NAME --ml-dsa-44`.

use std::path::PathBuf;
use std::sync::Mutex;

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::cli::witness::{
    load_cosigner, load_state, save_state, WitnessError, WitnessSigner, WitnessState,
};
use crate::core::ledger::Hash;
use crate::core::note::Verifier;
use crate::core::witness_protocol::{self, Refusal};

/// What `witness serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub key_file: PathBuf,
    /// The log's verifier key (`name+keyid+base64`); its name is the origin.
    pub log_key: String,
    pub state_file: PathBuf,
    pub bind: String,
}

struct Witness {
    /// Ed25519 or ML-DSA-44, as the key file holds.
    cosigner: WitnessSigner,
    log: Verifier,
    state_file: PathBuf,
    /// The stored view; the lock is held from the check to the write.
    state: Mutex<WitnessState>,
}

/// The largest body accepted (63 proof lines and a checkpoint with signatures).
const BODY_LIMIT: usize = 64 * 1024;

fn text(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

fn refuse(r: &Refusal) -> HttpResponse {
    use actix_web::http::StatusCode;
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match r {
        Refusal::SizeMismatch(size) => HttpResponse::build(status)
            .content_type(witness_protocol::SIZE_CONTENT_TYPE)
            .body(witness_protocol::encode_size(*size)),
        Refusal::BadRequest(why) | Refusal::Forbidden(why) | Refusal::BadProof(why) => {
            text(status, format!("{why}\n"))
        }
        Refusal::UnknownOrigin => text(status, "unknown log origin\n".into()),
        Refusal::RootMismatch => text(
            status,
            "a different root at the size already cosigned\n".into(),
        ),
    }
}

fn decode_root(s: &str) -> Option<Hash> {
    B64.decode(s).ok().and_then(|v| Hash::try_from(v).ok())
}

async fn add_checkpoint(w: web::Data<Witness>, body: web::Bytes) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Ok(body) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "the body is not UTF-8\n".into());
    };
    let req = match witness_protocol::parse_request(body) {
        Ok(r) => r,
        Err(why) => return text(StatusCode::BAD_REQUEST, format!("{why}\n")),
    };
    let w2 = w.clone();
    // The check, the state write (fsync) and the cosignature off the async
    // threads, under the one lock.
    let answer = web::block(move || {
        let mut state = w2
            .state
            .lock()
            .map_err(|_| "the state lock is poisoned".to_string())?;
        let root = match state.root.as_deref() {
            Some(r) => Some(decode_root(r).ok_or("the stored root is not base64 of 32 bytes")?),
            None => None,
        };
        let cp = match witness_protocol::check_add(&req, &w2.log, state.size, root.as_ref()) {
            Ok(cp) => cp,
            Err(r) => return Ok(Err(r)),
        };
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let line = w2
            .cosigner
            .cosign_line(&cp, now)
            .map_err(|e| format!("cosigning: {e}"))?;
        let next = WitnessState {
            log_key: state.log_key.clone(),
            size: cp.size(),
            root: Some(B64.encode(cp.root_hash())),
        };
        save_state(&w2.state_file, &next).map_err(|e| e.to_string())?;
        *state = next;
        // The line ends in the newline the spec requires.
        Ok::<_, String>(Ok((cp.size(), req.old, line)))
    })
    .await;
    match answer {
        Ok(Ok(Ok((size, old, line)))) => {
            tracing::info!(size, old, "cosigned");
            text(StatusCode::OK, line)
        }
        Ok(Ok(Err(refusal))) => {
            tracing::warn!(status = refusal.status(), refusal = ?refusal, "add-checkpoint refused");
            refuse(&refusal)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "add-checkpoint failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// Load the key and state, bind, print `witness listening on http://ADDR`
/// and serve until stopped.
pub fn serve(cfg: &ServeConfig) -> Result<(), WitnessError> {
    let failed = WitnessError::Failed;
    let cosigner = load_cosigner(&cfg.key_file)?;
    let log = Verifier::from_key_string(cfg.log_key.trim())
        .map_err(|e| failed(format!("--log-key {}: {e}", cfg.log_key)))?;
    let state = match load_state(&cfg.state_file)? {
        Some(s) if s.log_key != log.key_string() => {
            return Err(WitnessError::Inconsistent(format!(
                "--log-key differs from the log key pinned in {}: {}",
                cfg.state_file.display(),
                s.log_key
            )))
        }
        Some(s) => s,
        None => {
            let s = WitnessState {
                log_key: log.key_string(),
                size: 0,
                root: None,
            };
            save_state(&cfg.state_file, &s)?;
            s
        }
    };
    if state.size > 0 && state.root.as_deref().and_then(decode_root).is_none() {
        return Err(failed(format!(
            "state file {}: size {} without a base64 root",
            cfg.state_file.display(),
            state.size
        )));
    }
    let data = web::Data::new(Witness {
        cosigner,
        log,
        state_file: cfg.state_file.clone(),
        state: Mutex::new(state),
    });
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .route(
                    &format!("/{}", witness_protocol::ADD_CHECKPOINT),
                    web::post().to(add_checkpoint),
                )
        })
        .workers(1)
        .bind(&cfg.bind)
        .map_err(|e| failed(format!("bind {}: {e}", cfg.bind)))?;
        for addr in server.addrs() {
            println!("witness listening on http://{addr}");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        server
            .run()
            .await
            .map_err(|e| failed(format!("serving: {e}")))
    })
}
