//! `c2sp.org/tlog-proof@v1` files (`core::tlog_proof`) for one ledger entry:
//! `GET /v1/disputes/{id}/proof` and `escalation-ledger proof --seq N`.
//!
//! The file proves the entry against the newest checkpoint that covers it and
//! carries at least one witness cosignature; when no covering checkpoint is
//! cosigned yet, against the newest one that covers it (it then verifies only
//! under a policy whose quorum the log's signatures alone meet). When no
//! signed checkpoint covers the entry yet, one is signed first, as
//! `GET /v1/ledger/checkpoint` does. The note
//! in the file has the log's Ed25519 and ML-DSA-44 signatures and every stored
//! cosignature. `extra` is the entry's canonical bytes: facts, hashes, the
//! actor's role and agency, never a payload (free text stays out of it).

use crate::core::event::LedgerEvent;
use crate::core::tlog_proof::ProofFile;
use crate::service::checkpoint::{self as signing, LogKey};
use crate::service::cosign;
use crate::service::disputes::{load_admitted, Admit, Failed};
use crate::service::error::ServiceError;
use crate::store::checkpoints;
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::ledger as entries;
use crate::store::tree;

/// What a proof file is about, for the caller's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub seq: i64,
    /// The checkpoint's tree size.
    pub size: i64,
    /// Whether the checkpoint carries at least one cosignature.
    pub cosigned: bool,
    pub text: String,
}

/// The proof file of entry `seq`. Call inside a transaction.
pub fn for_seq(conn: &mut DbConn, seq: i64) -> Result<Proof, ServiceError> {
    let signed = checkpoints::all_signed(conn)?;
    let covering: Vec<&(i64, Vec<u8>, String)> = signed
        .iter()
        .rev()
        .filter(|(size, _, _)| *size > seq)
        .collect();
    if covering.is_empty() {
        return Err(ServiceError::Conflict(format!(
            "no signed checkpoint covers entry {seq} yet; the checkpointer signs one shortly"
        )));
    }
    let mut chosen = None;
    for (size, _, note) in &covering {
        if !cosign::for_size(conn, *size)?.is_empty() {
            chosen = Some((*size, note.as_str(), true));
            break;
        }
    }
    let (size, note, cosigned) = match chosen {
        Some(c) => c,
        None => {
            let (size, _, note) = covering[0];
            (*size, note.as_str(), false)
        }
    };
    let note = cosign::with_cosignatures(conn, size, note)?;
    let stored = entries::entries(conn, None, seq, 1)?;
    let entry = stored
        .first()
        .filter(|e| e.entry.seq == seq)
        .ok_or_else(|| ServiceError::NotFound(format!("no entry {seq}")))?;
    let bytes = entry
        .entry
        .canonical_bytes()
        .map_err(ServiceError::Internal)?;
    let index = u64::try_from(seq).map_err(|_| ServiceError::BadRequest("seq < 0".into()))?;
    let proof = tree::inclusion(conn, index, size as u64)?;
    let file = ProofFile {
        extra: Some(bytes.into_bytes()),
        index,
        proof: proof.path,
        checkpoint: note,
    };
    Ok(Proof {
        seq,
        size,
        cosigned,
        text: file.to_text(),
    })
}

/// The entry a dispute's proof is about: the one that resolved it, else its
/// latest. Call inside a transaction.
pub fn entry_of(conn: &mut DbConn, dispute: &str) -> Result<i64, ServiceError> {
    let list = entries::entries(conn, Some(dispute), 0, 1_000_000)?;
    let resolving = list
        .iter()
        .rev()
        .find(|e| e.entry.event == LedgerEvent::Resolved.as_str());
    resolving
        .or(list.last())
        .map(|e| e.entry.seq)
        .ok_or_else(ServiceError::not_found)
}

/// Sign a checkpoint of the current tree unless a signed one covers `seq`.
fn ensure_covered(conn: &mut DbConn, key: &LogKey, seq: i64) -> Result<(), ServiceError> {
    let newest = read_tx(conn, signing::newest)?;
    if newest.is_none_or(|n| n.size <= seq) {
        write_tx(conn, |conn| signing::sign_current(conn, key).map(|_| ()))?;
    }
    Ok(())
}

/// The proof file for dispute `id`, if `admit` lets the caller see it.
pub fn for_dispute<E: From<ServiceError>>(
    conn: &mut DbConn,
    id: &str,
    key: &LogKey,
    admit: impl Admit<E>,
) -> Result<Proof, E> {
    let seq = read_tx(conn, |conn| {
        load_admitted(conn, id, admit)?;
        Ok(entry_of(conn, id)?)
    })
    .map_err(Failed::into_caller)?;
    Ok(of_seq(conn, key, seq)?)
}

/// The proof file of entry `seq`.
pub fn of_seq(conn: &mut DbConn, key: &LogKey, seq: i64) -> Result<Proof, ServiceError> {
    let stored = read_tx(conn, |conn| {
        Ok::<_, ServiceError>(crate::store::tree::leaves(conn)?)
    })?;
    if seq < 0 || seq >= stored {
        return Err(ServiceError::NotFound(format!("no entry {seq}")));
    }
    ensure_covered(conn, key, seq)?;
    read_tx(conn, |conn| for_seq(conn, seq))
}
