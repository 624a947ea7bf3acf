//! A partner witness's whole job against a running service, one run at a time
//! (from cron): fetch the newest signed checkpoint, check it under the pinned
//! log key and, from the witness's saved state, that it extends the last
//! checkpoint it cosigned (an RFC 9162 consistency proof); only then cosign it
//! (C2SP `cosignature/v1`), send the line back, and save the new state.
//!
//! The state file holds the pinned log verifier key and the last cosigned size
//! and root. It is written atomically (temp file, then rename), and only after
//! the service has stored the cosignature.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::core::checkpoint::{self, Checkpoint, Cosigner};
use crate::core::ledger::Hash;
use crate::core::merkle;
use crate::core::note::Verifier;
use crate::core::pq::{vkey_type, MlDsaSigner, ALG_MLDSA44};

/// Why a run did not cosign.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The log contradicts itself or the witness's state: do not cosign (exit 1).
    #[error("inconsistent: {0}")]
    Inconsistent(String),
    /// Anything else: bad arguments or files, the service unreachable or refusing (exit 2).
    #[error("{0}")]
    Failed(String),
}

use WitnessError::{Failed, Inconsistent};

/// What a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The service's base URL, e.g. `https://ledger.example`.
    pub url: String,
    /// The witness's cosigner key string (`PRIVATE+KEY+...`).
    pub key_file: PathBuf,
    /// The witness's state (JSON), created on the first run.
    pub state_file: PathBuf,
    /// A bearer token for the service.
    pub token: String,
    /// The log's verifier key to pin on the first run; default: trust on first use.
    pub log_key: Option<String>,
}

/// The witness's memory between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// The pinned log verifier key (`name+keyid+base64`).
    pub log_key: String,
    /// The size of the last checkpoint cosigned; 0 before the first.
    pub size: u64,
    /// Its root hash in base64; null before the first.
    pub root: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The checkpoint size seen.
    pub size: u64,
    /// The size cosigned before this run (0 for none).
    pub previous: u64,
    /// The cosignature line sent, or `None` when there was nothing new.
    pub line: Option<String>,
}

/// A witness's signing key: Ed25519 `cosignature/v1` (type 0x04) or
/// ML-DSA-44 (type 0x06, C2SP tlog-cosignature `subtree/v1`). The key file
/// says which: `PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>`.
#[derive(Debug, Clone)]
pub enum WitnessSigner {
    Ed25519(Cosigner),
    MlDsa44(MlDsaSigner),
}

impl WitnessSigner {
    /// A new key named `name`; ML-DSA-44 when `ml_dsa_44`.
    pub fn generate(name: &str, ml_dsa_44: bool) -> Result<Self, String> {
        if ml_dsa_44 {
            MlDsaSigner::generate(name)
                .map(Self::MlDsa44)
                .map_err(|e| e.to_string())
        } else {
            Cosigner::generate(name)
                .map(Self::Ed25519)
                .map_err(|e| e.to_string())
        }
    }

    /// Parses a signer key string of either type.
    pub fn from_key_string(skey: &str) -> Result<Self, String> {
        let typ = skey.strip_prefix("PRIVATE+KEY+").and_then(vkey_type);
        if typ == Some(ALG_MLDSA44) {
            MlDsaSigner::from_key_string(skey)
                .map(Self::MlDsa44)
                .map_err(|e| e.to_string())
        } else {
            Cosigner::from_key_string(skey)
                .map(Self::Ed25519)
                .map_err(|e| e.to_string())
        }
    }

    /// The signer key string. It holds the private key: keep it secret.
    pub fn key_string(&self) -> String {
        match self {
            Self::Ed25519(c) => c.key_string(),
            Self::MlDsa44(s) => s.key_string(),
        }
    }

    /// The verifier key to register with the log.
    pub fn verifier_key(&self) -> String {
        match self {
            Self::Ed25519(c) => c.verifier_key(),
            Self::MlDsa44(s) => s.verifier_key(),
        }
    }

    /// The cosignature line (ending in a newline) over `cp` at `timestamp`.
    pub fn cosign_line(&self, cp: &Checkpoint, timestamp: u64) -> Result<String, String> {
        match self {
            Self::Ed25519(c) => c
                .cosign(cp, timestamp)
                .map(|c| c.to_line())
                .map_err(|e| e.to_string()),
            Self::MlDsa44(s) => s
                .sign_checkpoint(&cp.head(), timestamp)
                .map(|sig| sig.to_line())
                .map_err(|e| e.to_string()),
        }
    }
}

/// Make a new cosigner key named `name` (ML-DSA-44 when `ml_dsa_44`, else
/// Ed25519), write its key string to `key_file` (mode 0600, never
/// overwriting) and return the verifier key to register.
pub fn generate_key(name: &str, key_file: &Path, ml_dsa_44: bool) -> Result<String, String> {
    let c = WitnessSigner::generate(name, ml_dsa_44)?;
    crate::http::auth::write_secret_file(key_file, c.key_string().as_bytes())
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    Ok(c.verifier_key())
}

/// The witness's key; a missing file is refused (only `--generate-key` makes one).
pub fn load_cosigner(key_file: &Path) -> Result<WitnessSigner, WitnessError> {
    let s = std::fs::read_to_string(key_file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            let dir = key_file
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            Failed(format!(
                "no witness key at {}: looked in {} (the file is set with --key-file); \
                 make one with `escalation-ledger witness --generate-key NAME --key-file FILE`",
                key_file.display(),
                dir.display()
            ))
        } else {
            Failed(format!("key file {}: {e}", key_file.display()))
        }
    })?;
    WitnessSigner::from_key_string(s.trim())
        .map_err(|e| Failed(format!("key file {}: {e}", key_file.display())))
}

/// The saved state, or `None` before the first run.
pub fn load_state(path: &Path) -> Result<Option<WitnessState>, WitnessError> {
    match std::fs::read_to_string(path) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Failed(format!("state file {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failed(format!("state file {}: {e}", path.display()))),
    }
}

/// Write the state atomically: a temp file beside it, synced, then renamed over it.
pub fn save_state(path: &Path, state: &WitnessState) -> Result<(), WitnessError> {
    use std::io::Write;
    let what = |e: &dyn std::fmt::Display| Failed(format!("state file {}: {e}", path.display()));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let body = serde_json::to_vec_pretty(state).map_err(|e| what(&e))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| what(&e))?;
    f.write_all(&body).map_err(|e| what(&e))?;
    f.sync_all().map_err(|e| what(&e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| what(&e))
}

fn decode_hash(what: &str, s: &str) -> Result<Hash, WitnessError> {
    B64.decode(s)
        .ok()
        .and_then(|v| Hash::try_from(v).ok())
        .ok_or_else(|| Failed(format!("{what} is not the base64 of 32 bytes")))
}

struct Http {
    client: awc::Client,
    base: String,
    token: String,
}

impl Http {
    async fn get(&self, path: &str) -> Result<(u16, Vec<u8>), WitnessError> {
        let url = format!("{}{path}", self.base);
        let mut res = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Failed(format!("GET {url}: {e}")))?;
        let body = res
            .body()
            .limit(1 << 20)
            .await
            .map_err(|e| Failed(format!("GET {url}: {e}")))?;
        Ok((res.status().as_u16(), body.to_vec()))
    }

    async fn get_ok(&self, path: &str) -> Result<Vec<u8>, WitnessError> {
        let (status, body) = self.get(path).await?;
        if status != 200 {
            return Err(Failed(format!(
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body)
    }

    async fn get_json(&self, path: &str) -> Result<Value, WitnessError> {
        let body = self.get_ok(path).await?;
        serde_json::from_slice(&body).map_err(|e| Failed(format!("GET {path}: {e}")))
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<(u16, String), WitnessError> {
        let url = format!("{}{path}", self.base);
        let mut res = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .send_json(body)
            .await
            .map_err(|e| Failed(format!("POST {url}: {e}")))?;
        let body = res
            .body()
            .await
            .map_err(|e| Failed(format!("POST {url}: {e}")))?;
        Ok((
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }
}

/// One witness run. Call inside an actix system (see [`run_blocking`]).
pub async fn run(cfg: &RunConfig) -> Result<Report, WitnessError> {
    let cosigner = load_cosigner(&cfg.key_file)?;
    let http = Http {
        client: awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish(),
        base: cfg.url.trim_end_matches('/').to_string(),
        token: cfg.token.clone(),
    };
    let state = match load_state(&cfg.state_file)? {
        Some(s) => {
            if let Some(k) = &cfg.log_key {
                if k.trim() != s.log_key {
                    return Err(Inconsistent(format!(
                        "--log-key {k} differs from the log key pinned in {}: {}",
                        cfg.state_file.display(),
                        s.log_key
                    )));
                }
            }
            s
        }
        None => {
            let log_key = match &cfg.log_key {
                Some(k) => k.trim().to_string(),
                None => {
                    let keys = http.get_json("/v1/ledger/keys").await?;
                    let k = keys["log"]
                        .as_str()
                        .ok_or_else(|| Failed("/v1/ledger/keys has no 'log' key".into()))?
                        .to_string();
                    eprintln!(
                        "warning: trust on first use: pinning the log key {k} as served by {}; \
                         pass --log-key to pin a key checked out of band",
                        http.base
                    );
                    k
                }
            };
            WitnessState {
                log_key,
                size: 0,
                root: None,
            }
        }
    };
    let log = Verifier::from_key_string(&state.log_key)
        .map_err(|e| Failed(format!("the pinned log key {}: {e}", state.log_key)))?;

    let body = http.get_ok("/v1/ledger/checkpoint").await?;
    let text =
        String::from_utf8(body).map_err(|_| Inconsistent("the checkpoint is not UTF-8".into()))?;
    let opened =
        checkpoint::open_checkpoint(&text, std::slice::from_ref(&log), &[]).map_err(|e| {
            Inconsistent(format!(
                "the checkpoint does not verify under the pinned log key {}: {e}",
                state.log_key
            ))
        })?;
    let cp = opened.checkpoint;
    if cp.origin() != log.name() {
        return Err(Inconsistent(format!(
            "the checkpoint's origin '{}' is not the log key's name '{}'",
            cp.origin(),
            log.name()
        )));
    }
    let size = cp.size();
    let previous = state.size;
    let saved_root = state
        .root
        .as_deref()
        .map(|r| decode_hash("the saved root", r))
        .transpose()?;
    match saved_root {
        Some(_) if size < previous => {
            return Err(Inconsistent(format!(
                "the log's checkpoint has size {size}, smaller than the size {previous} already cosigned"
            )))
        }
        Some(old) if size == previous => {
            if &old != cp.root_hash() {
                return Err(Inconsistent(format!(
                    "the checkpoint of size {size} has root {}, but the root cosigned at that size was {}",
                    B64.encode(cp.root_hash()),
                    B64.encode(old)
                )));
            }
            return Ok(Report {
                size,
                previous,
                line: None,
            });
        }
        Some(old) if previous > 0 => {
            let v = http
                .get_json(&format!(
                    "/v1/ledger/proofs/consistency?from={previous}&to={size}"
                ))
                .await?;
            let proof = v["proof"]
                .as_array()
                .ok_or_else(|| Failed("the consistency proof has no 'proof' list".into()))?
                .iter()
                .map(|h| decode_hash("a consistency proof hash", h.as_str().unwrap_or("")))
                .collect::<Result<Vec<Hash>, _>>()?;
            merkle::verify_consistency(previous, size, &proof, &old, cp.root_hash()).map_err(
                |e| {
                    Inconsistent(format!(
                        "the checkpoint of size {size} is not consistent with the one of size \
                         {previous} cosigned before (history rewritten?): {e}"
                    ))
                },
            )?;
        }
        _ => {}
    }

    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let line = cosigner
        .cosign_line(&cp, now)
        .map_err(|e| Failed(format!("cosigning: {e}")))?;
    let (status, answer) = http
        .post_json(
            "/v1/ledger/cosignatures",
            &json!({ "size": size, "cosignature": line }),
        )
        .await?;
    if status != 200 && status != 201 {
        return Err(Failed(format!(
            "POST /v1/ledger/cosignatures: HTTP {status}: {answer}"
        )));
    }
    save_state(
        &cfg.state_file,
        &WitnessState {
            log_key: state.log_key,
            size,
            root: Some(B64.encode(cp.root_hash())),
        },
    )?;
    Ok(Report {
        size,
        previous,
        line: Some(line),
    })
}

/// [`run`] on its own actix system, for the command line.
pub fn run_blocking(cfg: &RunConfig) -> Result<Report, WitnessError> {
    actix_web::rt::System::new().block_on(run(cfg))
}
