//! What the auditor's console pages read (`http::console::auditor`): one
//! ledger entry with its inclusion proof checked against the latest signed
//! checkpoint, and that checkpoint with each registered witness's
//! cosignature checked again under the witness's key. Reads only, each in
//! one read transaction. Payloads (free text) never leave here.

use chrono::NaiveDateTime;

use crate::core::checkpoint::{Checkpoint, Cosignature, CosignatureVerifier};
use crate::core::ledger::Entry;
use crate::core::note::{self, Verifier};
use crate::service::console::{prove, Proof};
use crate::service::cosign;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::checkpoints;
use crate::store::db::{read_tx, DbConn};
use crate::store::ledger as store;

/// One entry as its page shows it: no payload, only its hash.
#[derive(Debug, Clone)]
pub struct EntryPage {
    pub entry: Entry,
    /// Whether the payload is still stored (`false` once erased by a redaction).
    pub payload_stored: bool,
    pub proof: Proof,
    /// The latest checkpoint's size, if one was signed.
    pub checkpoint_size: Option<u64>,
}

/// Entry `seq`, with its inclusion proof checked against the latest
/// checkpoint signed by `log`.
pub fn entry(conn: &mut DbConn, log: &Verifier, seq: i64) -> ServiceResult<EntryPage> {
    read_tx(conn, |conn| {
        let found = store::entries(conn, None, seq.max(0), 1)?;
        let stored = found
            .into_iter()
            .find(|s| s.entry.seq == seq)
            .ok_or_else(|| ServiceError::NotFound(format!("no ledger entry {seq}")))?;
        let payload_stored = stored.payload.is_some();
        let (size, mut steps) = prove(conn, log, vec![stored])?;
        let (stored, proof) = steps
            .pop()
            .ok_or_else(|| ServiceError::Internal("the proof of one entry was lost".into()))?;
        Ok(EntryPage {
            entry: stored.entry,
            payload_stored,
            proof,
            checkpoint_size: size,
        })
    })
}

/// One registered witness and its cosignature of the checkpoint.
#[derive(Debug, Clone)]
pub struct WitnessLine {
    pub name: String,
    pub key: String,
    /// When it cosigned (POSIX seconds), if it did.
    pub cosigned_at: Option<i64>,
    /// The stored cosignature verifies under the witness's key over this
    /// checkpoint (`false` also when there is none).
    pub verified: bool,
    /// Why it does not verify, when there is a cosignature that does not.
    pub problem: Option<String>,
}

/// The latest signed checkpoint and who cosigned it.
#[derive(Debug, Clone)]
pub struct CheckpointPage {
    pub size: u64,
    /// The root hash, lowercase hex.
    pub root: String,
    pub signed_at: NaiveDateTime,
    /// The note with the cosignatures appended, as `GET /v1/ledger/checkpoint` serves it.
    pub note: String,
    /// The log's own signature verifies under its key.
    pub log_signature_verified: bool,
    /// Every registered witness, by name.
    pub witnesses: Vec<WitnessLine>,
}

/// The latest signed checkpoint (`None` before the first), each registered
/// witness's cosignature of it verified again.
pub fn checkpoint(conn: &mut DbConn, log: &Verifier) -> ServiceResult<Option<CheckpointPage>> {
    read_tx(conn, |conn| {
        let Some(signed) = checkpoints::latest(conn)? else {
            return Ok(None);
        };
        let parsed = note::Note::parse(&signed.note)
            .map_err(|e| ServiceError::Internal(format!("the latest checkpoint: {e}")))?;
        let cp = Checkpoint::parse(parsed.text())
            .map_err(|e| ServiceError::Internal(format!("the latest checkpoint: {e}")))?;
        let log_signature_verified =
            note::open_note(&signed.note, std::slice::from_ref(log)).is_ok();
        let cosigs = cosign::for_size(conn, signed.size)?;
        let witnesses = cosign::list(conn)?
            .into_iter()
            .map(|w| {
                let Some(c) = cosigs.iter().find(|c| c.witness == w.name) else {
                    return WitnessLine {
                        name: w.name,
                        key: w.key,
                        cosigned_at: None,
                        verified: false,
                        problem: None,
                    };
                };
                let checked = CosignatureVerifier::from_key_string(&w.key)
                    .map_err(|e| format!("the witness's key: {e}"))
                    .and_then(|v| {
                        let line = Cosignature::from_line(&c.line)
                            .map_err(|e| format!("the cosignature: {e}"))?;
                        v.verify(&cp, &line).map_err(|e| e.to_string())
                    });
                WitnessLine {
                    name: w.name,
                    key: w.key,
                    cosigned_at: Some(c.timestamp),
                    verified: checked.is_ok(),
                    problem: checked.err(),
                }
            })
            .collect();
        let note = cosign::with_cosignatures(conn, signed.size, &signed.note)?;
        Ok(Some(CheckpointPage {
            size: cp.size(),
            root: hex::encode(cp.root_hash()),
            signed_at: signed.signed_at,
            note,
            log_signature_verified,
            witnesses,
        }))
    })
}
