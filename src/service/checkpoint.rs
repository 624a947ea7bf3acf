//! Signed checkpoints of the ledger's Merkle tree (C2SP `tlog-checkpoint` in a
//! `signed-note`), and the log's Ed25519 key.
//!
//! Invariant: the log never signs two checkpoints that are inconsistent with
//! each other. Before signing size `n`, the root of every earlier signed size is
//! recomputed from the stored tree and must equal what was signed.

use std::path::Path;

use chrono::Utc;

use crate::core::checkpoint::Checkpoint;
use crate::core::ledger::{ledger_time, Hash};
use crate::core::merkle;
use crate::core::note::{self, Signer};
use crate::service::error::ServiceError;
use crate::service::keys;
use crate::store::checkpoints::{self, latest};
use crate::store::db::DbConn;
use crate::store::tree::{self, DbNodes};

pub use crate::store::checkpoints::Signed;

/// The log's signing key and the checkpoint origin line.
#[derive(Clone)]
pub struct LogKey {
    pub signer: Signer,
    pub origin: String,
}

impl LogKey {
    /// Load the signer key string from `path`, or create one there (mode 0600).
    pub fn load_or_create(path: &Path, origin: &str) -> Result<Self, String> {
        let signer = keys::load_or_create(path, Signer::from_key_string, || {
            Signer::generate(origin).map(|s| {
                let text = s.key_string();
                (s, text)
            })
        })
        .map_err(|e| format!("log key {e}"))?;
        if signer.name() != origin {
            return Err(format!(
                "log key {} is named '{}' but LOG_ORIGIN is '{origin}'",
                path.display(),
                signer.name()
            ));
        }
        Ok(LogKey {
            signer,
            origin: origin.to_string(),
        })
    }

    /// The verifier key string auditors and witnesses pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }
}

/// The newest signed checkpoint, without signing a new one.
pub fn newest(conn: &mut DbConn) -> Result<Option<Signed>, ServiceError> {
    Ok(latest(conn)?)
}

/// The root of the stored tree at `size`.
pub fn root_at(conn: &mut DbConn, size: u64) -> Result<Hash, ServiceError> {
    merkle::root(&mut DbNodes::new(conn), size).map_err(ServiceError::from)
}

/// Sign a checkpoint for the current tree, unless the newest one already covers it.
/// Call inside a write transaction, so no append races the signature.
pub fn sign_current(conn: &mut DbConn, key: &LogKey) -> Result<Signed, ServiceError> {
    let size = tree::leaves(conn)?;
    let prev = latest(conn)?;
    if let Some(p) = &prev {
        // The stored tree must still produce what was signed before.
        let again = root_at(conn, p.size as u64)?;
        if again.as_slice() != p.root.as_slice() {
            tracing::error!(
                size = p.size,
                "stored tree no longer matches a signed checkpoint"
            );
            return Err(ServiceError::Conflict(format!(
                "refusing to sign: the stored tree's root at size {} differs from the signed checkpoint",
                p.size
            )));
        }
        if p.size >= size {
            return Ok(p.clone());
        }
    }
    let root = root_at(conn, size as u64)?;
    let body = Checkpoint::new(&key.origin, size as u64, root)
        .map_err(|e| ServiceError::Internal(format!("checkpoint: {e}")))?;
    let note = note::sign_note(&body.to_string(), &[&key.signer])
        .map_err(|e| ServiceError::Internal(format!("signing: {e}")))?;
    let signed = Signed {
        size,
        root: root.to_vec(),
        note,
        signed_at: ledger_time(Utc::now()),
    };
    checkpoints::insert(conn, &signed)?;
    tracing::info!(size, "checkpoint signed");
    Ok(signed)
}

impl LogKey {
    /// A fresh key that lives only in memory (tests, benchmarks).
    pub fn generate(origin: &str) -> Result<Self, String> {
        Ok(LogKey {
            signer: Signer::generate(origin).map_err(|e| e.to_string())?,
            origin: origin.to_string(),
        })
    }
}
