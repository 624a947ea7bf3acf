//! Exporting audit bundles (the format is [`crate::core::audit`]'s): the
//! streaming export (checkpoint first, in a write transaction, then entries in
//! batches) for the CLI and `GET /v1/ledger/export`, the export directory and
//! its side files, and auditing a bundle file from disk.

use std::io::Write;

use serde::Serialize;

use crate::core::audit::{
    audit_reader, AuditOptions, AuditReport, EntryLine, Header, Payloads, FILE_NAME, FORMAT,
};
use crate::core::ledger::{self, format_time};
use crate::core::note;
use crate::service::checkpoint::{self, LogKey};
use crate::service::error::ServiceError;
use crate::store::db::{write_tx, DbConn};
use crate::store::ledger::{self as store, StoredEntry};

/// Entries read from the database per query.
pub const BATCH: i64 = 4096;

impl EntryLine {
    /// The line for a stored entry; `with_payload = false` withholds the payload.
    pub fn from_stored(s: StoredEntry, with_payload: bool) -> Self {
        let payload = s
            .payload
            .filter(|_| with_payload)
            .and_then(|p| serde_json::from_str(&p).ok());
        Self::from_entry(s.entry, payload)
    }
}

/// Write one JSON value and a newline.
pub(crate) fn write_line<W: Write, T: Serialize>(out: &mut W, v: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Sign (or reuse) the checkpoint for the current ledger, in a write transaction,
/// and build the header for exactly that many entries: the checkpoint carries
/// the witness cosignatures gathered so far, and the header the registered
/// witnesses' keys.
pub fn begin_export(
    conn: &mut DbConn,
    key: &LogKey,
    payloads: Payloads,
) -> Result<Header, ServiceError> {
    let (signed, witness_keys) = write_tx(conn, |conn| {
        let mut signed = checkpoint::sign_current(conn, key)?;
        signed.note = crate::service::cosign::with_cosignatures(conn, signed.size, &signed.note)?;
        let keys: Vec<String> = crate::service::cosign::list(conn)?
            .into_iter()
            .map(|w| w.key)
            .collect();
        Ok::<_, ServiceError>((signed, keys))
    })?;
    // A checkpoint signed under an earlier key cannot vouch for this header's key.
    note::open_note(&signed.note, &[key.signer.verifier()]).map_err(|e| {
        ServiceError::Conflict(format!(
            "the newest checkpoint (size {}) is not signed by the current log key: {e}",
            signed.size
        ))
    })?;
    Ok(Header {
        format: FORMAT.into(),
        origin: key.origin.clone(),
        log_key: key.verifier_key(),
        witness_keys,
        checkpoint: signed.note,
        size: signed.size as u64,
        exported_at: format_time(&ledger::ledger_time(crate::core::clock::now())),
        payloads,
    })
}

/// Read entries `0..size` in batches of [`BATCH`] and hand each batch, rendered as
/// entry lines, to `sink`; `sink` returns `false` to stop (the reader went away).
/// Entries below a signed size never change (the ledger is append-only), so the
/// batches agree with the checkpoint taken first.
pub fn export_entries(
    conn: &mut DbConn,
    size: u64,
    payloads: Payloads,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64, ServiceError> {
    let size = size as i64;
    let mut from = 0i64;
    while from < size {
        let limit = BATCH.min(size - from);
        let batch = store::entries(conn, None, from, limit)?;
        let Some(last) = batch.last().map(|s| s.entry.seq) else {
            break;
        };
        let mut buf = Vec::with_capacity(batch.len() * 600);
        for s in batch {
            write_line(
                &mut buf,
                &EntryLine::from_stored(s, payloads == Payloads::Included),
            )
            .map_err(|e| ServiceError::Internal(format!("render entry: {e}")))?;
        }
        if !sink(buf) {
            return Ok(from as u64);
        }
        from = last + 1;
    }
    Ok(from.min(size) as u64)
}

/// The header line's bytes.
pub fn header_line(h: &Header) -> Result<Vec<u8>, ServiceError> {
    let mut buf = Vec::new();
    write_line(&mut buf, h).map_err(|e| ServiceError::Internal(format!("render header: {e}")))?;
    Ok(buf)
}

/// Export the whole ledger to `out` (streamed). Returns the header written.
pub fn export<W: Write>(
    conn: &mut DbConn,
    key: &LogKey,
    payloads: Payloads,
    out: &mut W,
) -> Result<Header, ServiceError> {
    let header = begin_export(conn, key, payloads)?;
    let io = |e: std::io::Error| ServiceError::Internal(format!("write bundle: {e}"));
    out.write_all(&header_line(&header)?).map_err(io)?;
    let mut failed = None;
    export_entries(conn, header.size, payloads, |buf| {
        match out.write_all(&buf) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(io(e));
    }
    out.flush().map_err(io)?;
    Ok(header)
}

/// `export --out DIR`: `DIR/bundle.jsonl`, `DIR/checkpoint.txt`, `DIR/keys.json`.
pub fn export_dir(
    conn: &mut DbConn,
    key: &LogKey,
    dir: &std::path::Path,
) -> Result<Header, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let partial = dir.join(format!("{FILE_NAME}.partial"));
    let file =
        std::fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let header = export(conn, key, Payloads::Included, &mut out).map_err(|e| e.to_string())?;
    let file = out.into_inner().map_err(|e| e.error().to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    write_side_files(dir, &header)?;
    Ok(header)
}

/// The human-readable companions of a bundle.
pub fn write_side_files(dir: &std::path::Path, header: &Header) -> Result<(), String> {
    let w = |name: &str, body: String| {
        std::fs::write(dir.join(name), body).map_err(|e| format!("{name}: {e}"))
    };
    w("checkpoint.txt", header.checkpoint.clone())?;
    let keys = serde_json::json!({
        "origin": header.origin,
        "log": header.log_key,
        "witnesses": header.witness_keys,
    });
    w(
        "keys.json",
        serde_json::to_string_pretty(&keys).map_err(|e| e.to_string())? + "\n",
    )
}

/// `BUNDLE` may be the export directory or the `.jsonl` file.
pub fn bundle_path(p: &std::path::Path) -> std::path::PathBuf {
    if p.is_dir() {
        p.join(FILE_NAME)
    } else {
        p.to_path_buf()
    }
}

/// Audit a bundle file, streaming it line by line.
pub fn audit_file(
    path: &std::path::Path,
    opts: AuditOptions,
    progress: impl FnMut(u64, std::time::Duration),
) -> AuditReport {
    let path = bundle_path(path);
    match std::fs::File::open(&path) {
        Ok(f) => audit_reader(
            std::io::BufReader::with_capacity(1 << 20, f),
            opts,
            progress,
        ),
        Err(e) => AuditReport::unreadable(format!("{}: {e}", path.display())),
    }
}
