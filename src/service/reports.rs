//! The annual report's escalation figures (`GET /v1/reports/escalations`,
//! `escalation-ledger report`): [`crate::core::report`] fed the ledger, bound
//! to a signed checkpoint.
//!
//! Online, the checkpoint is signed (or reused) at the current size in a write
//! transaction ([`checkpoint::sign_current`]), then exactly that many entries
//! are read in batches; entries below a signed size never change, so the
//! figures are those of the checkpoint's tree. Offline, the bundle's header
//! names its checkpoint and its lines are the same entries: the same ledger
//! size gives the same canonical bytes.

use std::io::BufRead;
use std::path::Path;

use crate::core::audit::{EntryLine, Header};
use crate::core::calendar::Calendar;
use crate::core::report::{Figures, LedgerRef, Options, Tally};
use crate::service::checkpoint::{self, LogKey};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::export::{bundle_path, BATCH};
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::ledger as store;

/// The figures over the ledger at its current size, signing or reusing the
/// checkpoint at that size. `opts` is checked by the caller (a bad period
/// never reaches here, so nothing is written for it).
pub fn escalations(conn: &mut DbConn, key: &LogKey, opts: Options) -> ServiceResult<Figures> {
    let signed = write_tx(conn, |conn| checkpoint::sign_current(conn, key))?;
    let ledger = LedgerRef::from_note(&signed.note).map_err(ServiceError::Internal)?;
    let size = signed.size;
    let mut tally = Tally::new(opts);
    read_tx(conn, |conn| {
        let mut from = 0i64;
        while from < size {
            let batch = store::entries(conn, None, from, BATCH.min(size - from))?;
            let Some(last) = batch.last().map(|s| s.entry.seq) else {
                break;
            };
            for s in &batch {
                tally.feed(&s.entry).map_err(ServiceError::Internal)?;
            }
            from = last + 1;
        }
        Ok::<_, ServiceError>(())
    })?;
    Ok(tally.finish(ledger, &Calendar::default_england()))
}

/// The same figures from an export bundle (the directory or its
/// `bundle.jsonl`), offline. The bundle is read, not audited: run
/// `escalation-ledger audit` on it to check the chain, the root against the
/// checkpoint and the witnesses' cosignatures. Entries must be the header's
/// `size`, in `seq` order from 0, or the bundle is refused.
pub fn from_bundle(path: &Path, opts: Options) -> Result<Figures, String> {
    let path = bundle_path(path);
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, file).lines();
    let first = lines
        .next()
        .ok_or("the bundle is empty")?
        .map_err(|e| format!("line 1: {e}"))?;
    let header: Header =
        serde_json::from_str(&first).map_err(|e| format!("line 1 is not a bundle header: {e}"))?;
    let ledger = LedgerRef::from_note(&header.checkpoint)?;
    if ledger.size != header.size {
        return Err(format!(
            "the header's size {} is not its checkpoint's {}",
            header.size, ledger.size
        ));
    }
    let mut tally = Tally::new(opts);
    let mut expected = 0i64;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| format!("line {n}: {e}"))?;
        if line.is_empty() {
            continue;
        }
        let e = serde_json::from_str::<EntryLine>(&line)
            .map_err(|e| format!("line {n}: {e}"))
            .and_then(|l| l.to_entry().map_err(|e| format!("line {n}: {e}")))?;
        if e.seq != expected {
            return Err(format!(
                "line {n}: seq {} where {expected} was expected",
                e.seq
            ));
        }
        tally.feed(&e)?;
        expected += 1;
    }
    if expected as u64 != header.size {
        return Err(format!(
            "the bundle holds {expected} entries but its checkpoint covers {}",
            header.size
        ));
    }
    Ok(tally.finish(ledger, &Calendar::default_england()))
}
