//! Signed checkpoints of the ledger's Merkle tree (C2SP `tlog-checkpoint` in a
//! `signed-note`), and the log's Ed25519 key.
//!
//! Invariant: the log never signs two checkpoints that are inconsistent with
//! each other. Before signing size `n`, the root of every earlier signed size is
//! recomputed from the stored tree and must equal what was signed.
//!
//! The log's public key is part of the ledger: the first start records it in
//! a `log_key_recorded` entry ([`record_key`], from `app::first_start`), a
//! rotation records the next one ([`rotate_key`]), and [`sign_current`]
//! refuses to sign with any key but the one recorded last.
//!
//! The log has a second key, ML-DSA-44 (`core::pq`), in a file beside the
//! Ed25519 one ([`pq_key_path`]: the same name with `.mldsa44` appended),
//! created with it at the first start. Every checkpoint carries both
//! signature lines in one note ([`LogKey::sign_checkpoint`]); the first
//! `log_key_recorded` entry records both verifier keys. A ledger whose
//! recorded key has an ML-DSA-44 key beside it is never signed without it.

use std::path::{Path, PathBuf};

use crate::core::checkpoint::{log_key_facts, Checkpoint, LogKeyHistory};
use crate::core::event::LedgerEvent;
use crate::core::ledger::{ledger_time, Entry, Hash, NewEntry};
use crate::core::merkle;
use crate::core::note::{self, Note, Signer, Verifier};
use crate::core::pq::MlDsaSigner;
use crate::service::error::ServiceError;
use crate::service::keys;
use crate::store::agencies::system_actor;
use crate::store::checkpoints::{self, latest};
use crate::store::db::DbConn;
use crate::store::ledger;
use crate::store::tree::{self, DbNodes};

pub use crate::store::checkpoints::Signed;

/// The log's signing key and the checkpoint origin line.
#[derive(Clone)]
pub struct LogKey {
    pub signer: Signer,
    pub origin: String,
    /// The ML-DSA-44 key beside the Ed25519 one (`None` only for a data
    /// folder from before it existed, until `serve` or `migrate` creates it).
    pub pq: Option<MlDsaSigner>,
}

/// Where the ML-DSA-44 key lives: beside the Ed25519 key file `path`, its
/// name with `.mldsa44` appended.
pub fn pq_key_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".mldsa44");
    path.with_file_name(name)
}

impl LogKey {
    /// Load the signer key strings from `path` (and [`pq_key_path`], if that
    /// file exists); never creates one.
    pub fn load(path: &Path, origin: &str) -> Result<Self, keys::LoadError> {
        let signer = keys::load(path, Signer::from_key_string)?;
        let pq_path = pq_key_path(path);
        let pq = match keys::load(&pq_path, MlDsaSigner::from_key_string) {
            Ok(k) => Some(k),
            Err(keys::LoadError::Missing(_)) => None,
            Err(e) => return Err(e),
        };
        Self::named(signer, pq, path, origin)
            .map_err(|reason| keys::KeyFileError::new(path, reason).into())
    }

    fn named(
        signer: Signer,
        pq: Option<MlDsaSigner>,
        path: &Path,
        origin: &str,
    ) -> Result<Self, String> {
        if signer.name() != origin {
            return Err(format!(
                "log key {} is named '{}' but LOG_ORIGIN is '{origin}'",
                path.display(),
                signer.name()
            ));
        }
        if let Some(pq) = pq.as_ref().filter(|k| k.name() != origin) {
            return Err(format!(
                "ML-DSA-44 log key {} is named '{}' but LOG_ORIGIN is '{origin}'",
                pq_key_path(path).display(),
                pq.name()
            ));
        }
        Ok(LogKey {
            signer,
            origin: origin.to_string(),
            pq,
        })
    }

    /// Load the signer key strings from `path` and [`pq_key_path`], or create
    /// them there (mode 0600). Only for the first start (`Common::provision`).
    pub fn load_or_create(path: &Path, origin: &str) -> Result<Self, String> {
        let signer = keys::load_or_create(path, Signer::from_key_string, || {
            Signer::generate(origin).map(|s| {
                let text = s.key_string();
                (s, text)
            })
        })
        .map_err(|e| format!("log key {e}"))?;
        let pq = keys::load_or_create(&pq_key_path(path), MlDsaSigner::from_key_string, || {
            MlDsaSigner::generate(origin).map(|s| {
                let text = s.key_string();
                (s, text)
            })
        })
        .map_err(|e| format!("ML-DSA-44 log key {e}"))?;
        Self::named(signer, Some(pq), path, origin)
    }

    /// The verifier key string auditors and witnesses pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// The ML-DSA-44 verifier key string, if the log has that key.
    pub fn pq_verifier_key(&self) -> Option<String> {
        self.pq.as_ref().map(|k| k.verifier_key())
    }

    /// The facts of the `log_key_recorded` entry for this key.
    pub fn facts(&self, replaces: Option<&Verifier>) -> serde_json::Value {
        let pq = self.pq.as_ref().map(|k| k.verifier());
        log_key_facts(&self.signer.verifier(), replaces, pq.as_ref())
    }

    /// The checkpoint note: `body` signed with the Ed25519 key and, when the
    /// log has one, the ML-DSA-44 key (timestamp 0), in that order.
    pub fn sign_checkpoint(&self, body: &Checkpoint) -> Result<String, note::NoteError> {
        let mut n = Note::new(&body.to_string())?;
        n.sign(&self.signer)?;
        if let Some(pq) = &self.pq {
            n.push(pq.sign_checkpoint(&body.head(), 0)?)?;
        }
        Ok(n.to_string())
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

/// Every log key the ledger records, oldest first.
pub fn recorded_keys(conn: &mut DbConn) -> Result<LogKeyHistory, ServiceError> {
    let mut h = LogKeyHistory::default();
    for e in ledger::setup_entries(conn, LedgerEvent::LogKeyRecorded.as_str())? {
        h.record(e.seq, &e.facts)
            .map_err(|p| ServiceError::Internal(format!("entry {}: {p}", e.seq)))?;
    }
    Ok(h)
}

fn key_entry(key: &LogKey, replaces: Option<&Verifier>) -> NewEntry {
    NewEntry {
        dispute_id: None,
        event: LedgerEvent::LogKeyRecorded.as_str().into(),
        actor: system_actor(),
        facts: key.facts(replaces),
        payload: serde_json::json!({}),
    }
}

/// `key` is the one the ledger records last, or why not.
fn refuse_unless_recorded(h: &LogKeyHistory, key: &LogKey) -> Result<(), ServiceError> {
    match h.current() {
        Some((_, k)) if *k == key.signer.verifier() => {}
        Some((seq, k)) => {
            return Err(ServiceError::Internal(format!(
                "refusing to sign with log key {}: the ledger records {} (seq {seq}); \
                 a new key is recorded only by `escalation-ledger rotate-log-key`",
                key.verifier_key(),
                k.key_string()
            )))
        }
        None => {}
    }
    if let Some(recorded) = h.current_pq() {
        if key.pq.as_ref().map(|k| k.verifier()).as_ref() != Some(recorded) {
            return Err(ServiceError::Internal(format!(
                "refusing to sign: the ledger records the ML-DSA-44 log key {} and the key file \
                 beside the log key holds another or none",
                recorded.key_string()
            )));
        }
    }
    Ok(())
}

/// The first start (and the first start after an upgrade): record `key` in a
/// `log_key_recorded` entry if the ledger records no key yet (`Ok(true)`).
/// If it records another key, refuse: the key file is not this ledger's.
/// Call inside a write transaction.
pub fn record_key(conn: &mut DbConn, key: &LogKey) -> Result<bool, ServiceError> {
    let h = recorded_keys(conn)?;
    if h.is_empty() {
        ledger::append(conn, key_entry(key, None))?;
        return Ok(true);
    }
    match h.current() {
        Some((_, k)) if *k == key.signer.verifier() => Ok(false),
        Some((seq, k)) => Err(ServiceError::Internal(format!(
            "the log key {} is not the one this ledger records ({}, at seq {seq}): start with \
             the key file this ledger was started with, or change keys with \
             `escalation-ledger rotate-log-key`",
            key.verifier_key(),
            k.key_string()
        ))),
        None => Ok(false),
    }
}

/// Whether the ledger records `key` as its current log key; `Err` says which
/// it records instead, or that it records none (`serve`/`migrate` not run
/// since the upgrade).
pub fn require_recorded(conn: &mut DbConn, key: &LogKey) -> Result<(), ServiceError> {
    let h = recorded_keys(conn)?;
    if h.is_empty() {
        return Err(ServiceError::Unavailable(
            "the ledger records no log key yet: run `escalation-ledger migrate` (or start `serve`) once with this data folder".into(),
        ));
    }
    refuse_unless_recorded(&h, key)
}

/// Rotate the log key: `old` must be the key recorded last; append the entry
/// recording `new`. Checkpoints covering that entry and later ones are signed
/// with `new`. Call inside a write transaction, with the service stopped.
pub fn rotate_key(conn: &mut DbConn, old: &LogKey, new: &LogKey) -> Result<Entry, ServiceError> {
    require_recorded(conn, old)?;
    if old.signer.verifier() == new.signer.verifier() {
        return Err(ServiceError::BadRequest(
            "the new log key is the current one".into(),
        ));
    }
    let old_v = old.signer.verifier();
    Ok(ledger::append(conn, key_entry(new, Some(&old_v)))?)
}

/// Sign a checkpoint for the current tree, unless the newest one already covers it.
/// Call inside a write transaction, so no append races the signature. Refuses
/// a key the ledger does not record as its current one.
pub fn sign_current(conn: &mut DbConn, key: &LogKey) -> Result<Signed, ServiceError> {
    refuse_unless_recorded(&recorded_keys(conn)?, key)?;
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
    let note = key
        .sign_checkpoint(&body)
        .map_err(|e| ServiceError::Internal(format!("signing: {e}")))?;
    let signed = Signed {
        size,
        root: root.to_vec(),
        note,
        signed_at: ledger_time(crate::core::clock::now()),
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
            pq: Some(MlDsaSigner::generate(origin).map_err(|e| e.to_string())?),
        })
    }
}
