//! Audit bundles: the whole ledger as one JSON Lines file that anyone can check
//! offline (`docs/ledger-format.md`, "Audit bundles").
//!
//! Line 1 is a [`Header`] carrying the log's newest signed checkpoint; every
//! further line is one entry, oldest first, in the shape `GET /v1/ledger/entries`
//! returns. The export streams entries from the database in batches; the audit
//! streams the file line by line with [`ChainChecker`] and a Merkle [`Frontier`],
//! so both run in memory that does not grow with the ledger.
//!
//! Reading files ([`audit_file`]) is kept apart from checking ([`Auditor`]), so
//! the checker can be driven with in-memory lines.

use std::io::{BufRead, Write};
use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::ladder::Actor;
use crate::core::ledger::{self, format_time, ChainChecker, Entry, Hash};
use crate::core::merkle::Frontier;
use crate::core::note::{self, Checkpoint, CosignatureVerifier, Verifier};
use crate::service::checkpoint::{self, LogKey};
use crate::service::error::ServiceError;
use crate::store::db::{write_tx, DbConn};
use crate::store::ledger::{self as store, StoredEntry};

/// The `format` of line 1.
pub const FORMAT: &str = "escalation-ledger-bundle/1";
/// The file name inside an export directory.
pub const FILE_NAME: &str = "bundle.jsonl";
/// Entries read from the database per query.
pub const BATCH: i64 = 4096;
/// The auditor reports progress every this many entries.
pub const PROGRESS_EVERY: u64 = 100_000;

/// Whether entry lines carry payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payloads {
    /// Every payload not erased is present (`null` means erased).
    Included,
    /// The exporter may not read free text (an auditor): every payload is `null`.
    Withheld,
}

/// Line 1 of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub origin: String,
    /// The log's C2SP verifier key string.
    pub log_key: String,
    /// Witness verifier keys the log knows of (informational; an auditor pins its own).
    #[serde(default)]
    pub witness_keys: Vec<String>,
    /// The newest signed checkpoint note, covering exactly the bundle's entries.
    pub checkpoint: String,
    pub size: u64,
    pub exported_at: String,
    /// Absent in older bundles: then `included`.
    #[serde(default = "included")]
    pub payloads: Payloads,
}

fn included() -> Payloads {
    Payloads::Included
}

/// One entry line: exactly the shape of `GET /v1/ledger/entries` (`api::EntryView`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryLine {
    pub seq: i64,
    pub recorded_at: String,
    pub dispute_id: Option<String>,
    pub event: String,
    pub actor: Actor,
    pub facts: Value,
    /// The canonical payload as JSON; null once erased or when withheld.
    pub payload: Option<Value>,
    pub payload_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

fn hex32(field: &str, s: &str) -> Result<Hash, String> {
    let bytes = hex::decode(s).map_err(|_| format!("{field} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| format!("{field} is not 32 bytes"))
}

impl EntryLine {
    /// The line for a stored entry; `with_payload = false` withholds the payload.
    pub fn from_stored(s: StoredEntry, with_payload: bool) -> Self {
        let payload = s
            .payload
            .filter(|_| with_payload)
            .and_then(|p| serde_json::from_str(&p).ok());
        Self::from_entry(s.entry, payload)
    }

    pub fn from_entry(e: Entry, payload: Option<Value>) -> Self {
        EntryLine {
            seq: e.seq,
            recorded_at: format_time(&e.recorded_at),
            dispute_id: e.dispute_id,
            event: e.event,
            actor: e.actor,
            facts: e.facts,
            payload,
            payload_hash: hex::encode(e.payload_hash),
            prev_hash: hex::encode(e.prev_hash),
            entry_hash: hex::encode(e.entry_hash),
        }
    }

    /// The ledger entry this line states, for hashing.
    pub fn to_entry(&self) -> Result<Entry, String> {
        let recorded_at =
            chrono::NaiveDateTime::parse_from_str(&self.recorded_at, "%Y-%m-%dT%H:%M:%S%.6fZ")
                .map_err(|_| "recorded_at is not RFC 3339 UTC with microseconds".to_string())?;
        if format_time(&recorded_at) != self.recorded_at {
            return Err("recorded_at is not in the ledger's exact format".into());
        }
        Ok(Entry {
            seq: self.seq,
            recorded_at,
            dispute_id: self.dispute_id.clone(),
            event: self.event.clone(),
            actor: self.actor.clone(),
            facts: self.facts.clone(),
            payload_hash: hex32("payload_hash", &self.payload_hash)?,
            prev_hash: hex32("prev_hash", &self.prev_hash)?,
            entry_hash: hex32("entry_hash", &self.entry_hash)?,
        })
    }

    /// The canonical payload text, if a payload is present.
    pub fn canonical_payload(&self) -> Result<Option<String>, String> {
        self.payload
            .as_ref()
            .map(ledger::canonical_json)
            .transpose()
            .map_err(|e| format!("payload: {e}"))
    }
}

// ---------------------------------------------------------------------------
// Export

/// Write one JSON value and a newline.
fn write_line<W: Write, T: Serialize>(out: &mut W, v: &T) -> std::io::Result<()> {
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
        exported_at: format_time(&ledger::ledger_time(Utc::now())),
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

// ---------------------------------------------------------------------------
// Audit

/// What the caller trusts, independently of the bundle.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// The log's verifier key, pinned; `None` takes the header's (with a warning).
    pub log_key: Option<String>,
    /// Witness cosignature verifier keys.
    pub witness_keys: Vec<String>,
    /// A checkpoint note saved earlier, signed by the log key.
    pub trusted_checkpoint: Option<String>,
}

/// How an audit ended; also the exit code of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check passed: exit 0.
    Intact,
    /// Tampered or inconsistent: exit 1.
    Tampered,
    /// Unreadable input or bad options: exit 2.
    Unreadable,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Intact => 0,
            Outcome::Tampered => 1,
            Outcome::Unreadable => 2,
        }
    }
}

/// The result of an audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub outcome: Outcome,
    /// Entry lines checked and found good.
    pub entries: u64,
    /// Entries whose payload is `null` (erased, or withheld): their payload_hash is unchecked.
    pub payloads_absent: u64,
    pub payloads: Option<Payloads>,
    /// The size the header's checkpoint signs.
    pub checkpoint_size: Option<u64>,
    /// The recomputed Merkle root (hex), when every entry was read.
    pub root: Option<String>,
    /// The log key used, and whether it came from the bundle rather than the caller.
    pub log_key: Option<String>,
    pub log_key_from_bundle: bool,
    /// Witness keys whose cosignature on the checkpoint verified.
    pub witnesses_verified: Vec<String>,
    /// Pinned witness keys with no cosignature on the checkpoint.
    pub witnesses_missing: Vec<String>,
    /// `Some(true)` if a trusted checkpoint was given and matched.
    pub trusted_checkpoint_ok: Option<bool>,
    /// The first bad entry's seq, when one entry is to blame.
    pub first_bad_seq: Option<i64>,
    /// 1-based line of the file where the first problem is.
    pub first_bad_line: Option<u64>,
    pub problem: Option<String>,
    pub warnings: Vec<String>,
}

impl AuditReport {
    fn new() -> Self {
        AuditReport {
            outcome: Outcome::Intact,
            entries: 0,
            payloads_absent: 0,
            payloads: None,
            checkpoint_size: None,
            root: None,
            log_key: None,
            log_key_from_bundle: false,
            witnesses_verified: Vec::new(),
            witnesses_missing: Vec::new(),
            trusted_checkpoint_ok: None,
            first_bad_seq: None,
            first_bad_line: None,
            problem: None,
            warnings: Vec::new(),
        }
    }
}

/// The first thing wrong, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub outcome: Outcome,
    pub seq: Option<i64>,
    pub line: Option<u64>,
    pub problem: String,
}

fn tampered(seq: Option<i64>, line: u64, problem: impl Into<String>) -> Finding {
    Finding {
        outcome: Outcome::Tampered,
        seq,
        line: Some(line),
        problem: problem.into(),
    }
}

fn unreadable(line: Option<u64>, problem: impl Into<String>) -> Finding {
    Finding {
        outcome: Outcome::Unreadable,
        seq: None,
        line,
        problem: problem.into(),
    }
}

/// A trusted checkpoint, opened.
struct Trusted {
    size: u64,
    root: Hash,
}

/// The streaming checker: feed line 1, then every entry line, then [`Auditor::finish`].
/// Memory is O(log n): the chain head and the Merkle frontier.
pub struct Auditor {
    opts: AuditOptions,
    report: AuditReport,
    header: Option<(Header, Checkpoint)>,
    trusted: Option<Trusted>,
    /// The tree root when it had `trusted.size` leaves.
    root_at_trusted: Option<Hash>,
    chain: ChainChecker,
    frontier: Frontier,
    line: u64,
    failed: Option<Finding>,
}

impl Auditor {
    pub fn new(opts: AuditOptions) -> Self {
        Auditor {
            opts,
            report: AuditReport::new(),
            header: None,
            trusted: None,
            root_at_trusted: None,
            chain: ChainChecker::default(),
            frontier: Frontier::new(),
            line: 0,
            failed: None,
        }
    }

    /// Entries checked so far.
    pub fn entries(&self) -> u64 {
        self.frontier.size()
    }

    /// Feed the next line (without its newline). Stops at the first finding;
    /// after one, further lines are ignored.
    pub fn feed(&mut self, line: &str) -> Result<(), Finding> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        self.line += 1;
        let r = if self.line == 1 {
            self.header(line)
        } else {
            self.entry(line)
        };
        if let Err(f) = &r {
            self.failed = Some(f.clone());
        }
        r
    }

    fn header(&mut self, line: &str) -> Result<(), Finding> {
        let h: Header = serde_json::from_str(line)
            .map_err(|e| unreadable(Some(1), format!("line 1 is not a bundle header: {e}")))?;
        if h.format != FORMAT {
            return Err(unreadable(
                Some(1),
                format!("unknown bundle format '{}' (expected {FORMAT})", h.format),
            ));
        }
        self.report.payloads = Some(h.payloads);
        if h.payloads == Payloads::Withheld {
            self.report.warnings.push(
                "payloads were withheld from this bundle (exported by an auditor): the chain, \
                 entry hashes and tree are checked, payload hashes are not"
                    .into(),
            );
        }
        let (vkey, from_bundle) = match &self.opts.log_key {
            Some(k) => (k.clone(), false),
            None => (h.log_key.clone(), true),
        };
        if from_bundle {
            self.report.warnings.push(
                "the log key was taken from the bundle itself: pin it with --log-key to detect \
                 a bundle re-signed under another key"
                    .into(),
            );
        } else if h.log_key != vkey {
            self.report.warnings.push(format!(
                "the bundle names log key {} but the pinned key is {vkey}",
                h.log_key
            ));
        }
        self.report.log_key = Some(vkey.clone());
        self.report.log_key_from_bundle = from_bundle;
        let log = Verifier::from_key_string(&vkey).map_err(|e| {
            if from_bundle {
                tampered(
                    None,
                    1,
                    format!("the header's log_key is not a verifier key: {e}"),
                )
            } else {
                unreadable(None, format!("--log-key is not a verifier key: {e}"))
            }
        })?;
        let mut witnesses = Vec::new();
        for w in &self.opts.witness_keys {
            witnesses.push(
                CosignatureVerifier::from_key_string(w)
                    .map_err(|e| unreadable(None, format!("--witness-key {w}: {e}")))?,
            );
        }
        // The trusted checkpoint first: it is the caller's, so a bad one is a usage error
        // unless it is simply not signed by the (bundle's) log key.
        if let Some(t) = &self.opts.trusted_checkpoint {
            let opened =
                note::open_checkpoint(t, std::slice::from_ref(&log), &[]).map_err(|e| {
                    tampered(
                        None,
                        1,
                        format!(
                            "the trusted checkpoint does not verify under the log key {vkey}: {e}"
                        ),
                    )
                })?;
            self.trusted = Some(Trusted {
                size: opened.checkpoint.size(),
                root: *opened.checkpoint.root_hash(),
            });
        }
        let opened = note::open_checkpoint(&h.checkpoint, std::slice::from_ref(&log), &[])
            .map_err(|e| {
                tampered(
                    None,
                    1,
                    format!("the header's checkpoint is not signed by the log key {vkey}: {e}"),
                )
            })?;
        let cp = opened.checkpoint;
        if cp.origin() != h.origin {
            return Err(tampered(
                None,
                1,
                format!(
                    "the checkpoint's origin '{}' differs from the header's '{}'",
                    cp.origin(),
                    h.origin
                ),
            ));
        }
        if cp.size() != h.size {
            return Err(tampered(
                None,
                1,
                format!(
                    "the header says size {} but its checkpoint signs size {}",
                    h.size,
                    cp.size()
                ),
            ));
        }
        for (w, key) in witnesses.iter().zip(&self.opts.witness_keys) {
            match note::open_checkpoint(
                &h.checkpoint,
                std::slice::from_ref(&log),
                std::slice::from_ref(w),
            ) {
                Ok(v) if !v.cosignatures.is_empty() => {
                    self.report.witnesses_verified.push(key.clone())
                }
                Ok(_) => self.report.witnesses_missing.push(key.clone()),
                Err(e) => {
                    return Err(tampered(
                        None,
                        1,
                        format!("witness {key}'s cosignature on the checkpoint is invalid: {e}"),
                    ))
                }
            }
        }
        if let Some(t) = &self.trusted {
            if t.size == 0 {
                self.root_at_trusted = Some(crate::core::merkle::empty_root());
            }
        }
        self.report.checkpoint_size = Some(cp.size());
        self.header = Some((h, cp));
        Ok(())
    }

    fn entry(&mut self, line: &str) -> Result<(), Finding> {
        let n = self.line;
        let expected = self.chain.size;
        let Some((h, _)) = &self.header else {
            return Err(unreadable(Some(n), "no header"));
        };
        if line.trim().is_empty() {
            return Err(tampered(
                Some(expected),
                n,
                "an empty line where an entry should be",
            ));
        }
        let e: EntryLine = serde_json::from_str(line).map_err(|err| {
            tampered(
                Some(expected),
                n,
                format!("line {n} is not a ledger entry: {err}"),
            )
        })?;
        if e.seq as u64 >= h.size && e.seq == expected {
            return Err(tampered(
                Some(e.seq),
                n,
                format!(
                    "entry {} is beyond the checkpoint, which covers {} entries",
                    e.seq, h.size
                ),
            ));
        }
        let entry = e
            .to_entry()
            .map_err(|p| tampered(Some(e.seq), n, format!("entry {}: {p}", e.seq)))?;
        let payload = e
            .canonical_payload()
            .map_err(|p| tampered(Some(e.seq), n, format!("entry {}: {p}", e.seq)))?;
        if payload.is_some() && h.payloads == Payloads::Withheld {
            return Err(tampered(
                Some(e.seq),
                n,
                "a payload in a bundle whose header says payloads are withheld",
            ));
        }
        self.chain
            .check(&entry, payload.as_deref())
            .map_err(|f| tampered(Some(f.seq), n, f.problem))?;
        if payload.is_none() {
            self.report.payloads_absent += 1;
        }
        self.frontier.push(entry.entry_hash);
        if let Some(t) = &self.trusted {
            if t.size == self.frontier.size() {
                self.root_at_trusted = Some(self.frontier.root());
            }
        }
        Ok(())
    }

    /// Conclude: every entry read, the tree against the checkpoints.
    pub fn finish(mut self) -> AuditReport {
        let size = self.frontier.size();
        self.report.entries = size;
        let verdict = self
            .failed
            .take()
            .map(Err)
            .unwrap_or_else(|| self.conclude());
        if let Err(f) = verdict {
            self.report.outcome = f.outcome;
            self.report.first_bad_seq = f.seq;
            self.report.first_bad_line = f.line;
            self.report.problem = Some(f.problem);
        }
        self.report
    }

    fn conclude(&mut self) -> Result<(), Finding> {
        let Some((h, cp)) = &self.header else {
            return Err(unreadable(None, "the bundle is empty: no header line"));
        };
        let size = self.frontier.size();
        let next_line = self.line + 1;
        if size < h.size {
            return Err(tampered(
                Some(size as i64),
                next_line,
                format!(
                    "entry {size} is missing: the bundle ends after {size} entries but its checkpoint covers {}",
                    h.size
                ),
            ));
        }
        let root = self.frontier.root();
        self.report.root = Some(hex::encode(root));
        if &root != cp.root_hash() {
            return Err(tampered(
                None,
                1,
                format!(
                    "the recomputed tree root {} differs from the signed checkpoint's {} at size {size}",
                    hex::encode(root),
                    hex::encode(cp.root_hash())
                ),
            ));
        }
        if let Some(t) = &self.trusted {
            let Some(at) = self.root_at_trusted else {
                self.report.trusted_checkpoint_ok = Some(false);
                return Err(tampered(
                    None,
                    1,
                    format!(
                        "the trusted checkpoint covers {} entries but the bundle only {size}: \
                         the log cannot have shrunk (rollback, or an older bundle)",
                        t.size
                    ),
                ));
            };
            if at != t.root {
                self.report.trusted_checkpoint_ok = Some(false);
                let problem = if t.size == size {
                    format!(
                        "fork: the trusted checkpoint and the bundle's checkpoint are both signed \
                         for size {size} but with different roots (trusted {}, bundle {})",
                        hex::encode(t.root),
                        hex::encode(at)
                    )
                } else {
                    format!(
                        "history rewritten: the tree of the bundle's first {} entries has root {} \
                         but the trusted checkpoint signed {}; an entry below seq {} was changed \
                         and the hashes after it recomputed",
                        t.size,
                        hex::encode(at),
                        hex::encode(t.root),
                        t.size
                    )
                };
                return Err(tampered(None, 1, problem));
            }
            self.report.trusted_checkpoint_ok = Some(true);
        }
        Ok(())
    }
}

/// Audit in-memory or streamed lines. `progress(entries, elapsed)` is called every
/// [`PROGRESS_EVERY`] entries. An I/O error while reading is [`Outcome::Unreadable`].
pub fn audit_lines<I>(
    lines: I,
    opts: AuditOptions,
    mut progress: impl FnMut(u64, std::time::Duration),
) -> AuditReport
where
    I: IntoIterator<Item = std::io::Result<String>>,
{
    let start = Instant::now();
    let mut a = Auditor::new(opts);
    for line in lines {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let mut r = a.finish();
                r.outcome = Outcome::Unreadable;
                r.problem = Some(format!("reading the bundle: {e}"));
                return r;
            }
        };
        if a.feed(&line).is_err() {
            break;
        }
        let n = a.entries();
        if n > 0 && n.is_multiple_of(PROGRESS_EVERY) {
            progress(n, start.elapsed());
        }
    }
    a.finish()
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
        Ok(f) => audit_lines(
            std::io::BufReader::with_capacity(1 << 20, f).lines(),
            opts,
            progress,
        ),
        Err(e) => {
            let mut r = AuditReport::new();
            r.outcome = Outcome::Unreadable;
            r.problem = Some(format!("{}: {e}", path.display()));
            r
        }
    }
}

// ---------------------------------------------------------------------------
// Synthetic bundles, for benchmarks

/// Write a valid bundle of `n` synthetic entries, its checkpoint signed by `key`; returns its header.
pub fn synth<W: Write>(n: u64, key: &LogKey, out: &mut W) -> Result<Header, String> {
    use crate::core::ladder::Role;
    let origin = key.origin.as_str();
    let actor = Actor {
        sub: "bench@kingston".into(),
        role: Role::Agency,
        agency: Some("kingston-council".into()),
        partner: None,
    };
    let t0 = ledger::ledger_time(Utc::now());
    // Seal and hash first, to know the root for the header.
    let seal_one = |i: u64, head: Option<(i64, Hash)>| {
        ledger::seal(
            ledger::NewEntry {
                dispute_id: Some(format!("00000000-0000-4000-8000-{:012x}", i / 4)),
                event: "proposal_made".into(),
                actor: actor.clone(),
                facts: serde_json::json!({"proposal_id": format!("p-{i}"), "rung": "agencies"}),
                payload: serde_json::json!({"resolution": format!("Synthetic resolution number {i}")}),
            },
            head,
            t0 + chrono::Duration::microseconds(i as i64),
        )
    };
    let mut frontier = Frontier::new();
    let mut head = None;
    for i in 0..n {
        let s = seal_one(i, head)?;
        frontier.push(s.entry.entry_hash);
        head = Some((s.entry.seq, s.entry.entry_hash));
    }
    let body = Checkpoint::new(origin, n, frontier.root()).map_err(|e| e.to_string())?;
    let note = note::sign_note(&body.to_string(), &[&key.signer]).map_err(|e| e.to_string())?;
    let header = Header {
        format: FORMAT.into(),
        origin: origin.into(),
        log_key: key.verifier_key(),
        witness_keys: Vec::new(),
        checkpoint: note,
        size: n,
        exported_at: format_time(&ledger::ledger_time(Utc::now())),
        payloads: Payloads::Included,
    };
    let io = |e: std::io::Error| e.to_string();
    write_line(out, &header).map_err(io)?;
    let mut head = None;
    for i in 0..n {
        let s = seal_one(i, head)?;
        head = Some((s.entry.seq, s.entry.entry_hash));
        let payload: Value = serde_json::from_str(&s.payload).map_err(|e| e.to_string())?;
        write_line(out, &EntryLine::from_entry(s.entry, Some(payload))).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(n: u64) -> (Vec<String>, String) {
        let mut buf = Vec::new();
        let key = LogKey::generate("test.krscp/bundle").unwrap();
        let h = synth(n, &key, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        (text.lines().map(str::to_string).collect(), h.log_key)
    }

    fn audit(lines: &[String], opts: AuditOptions) -> AuditReport {
        audit_lines(lines.iter().cloned().map(Ok), opts, |_, _| {})
    }

    fn pinned(key: &str) -> AuditOptions {
        AuditOptions {
            log_key: Some(key.into()),
            ..Default::default()
        }
    }

    fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut EntryLine)) {
        let mut e: EntryLine = serde_json::from_str(&lines[i]).unwrap();
        f(&mut e);
        lines[i] = serde_json::to_string(&e).unwrap();
    }

    #[test]
    fn a_synthetic_bundle_is_intact() {
        let (lines, key) = bundle(37);
        let r = audit(&lines, pinned(&key));
        assert_eq!(r.outcome, Outcome::Intact, "{r:?}");
        assert_eq!(r.entries, 37);
        assert_eq!(r.payloads_absent, 0);
        assert!(!r.log_key_from_bundle);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        let r = audit(&lines, AuditOptions::default());
        assert_eq!(r.outcome, Outcome::Intact);
        assert!(r.log_key_from_bundle);
        assert!(r.warnings[0].contains("taken from the bundle"));
    }

    #[test]
    fn an_empty_ledger_bundle_is_intact() {
        let (lines, key) = bundle(0);
        assert_eq!(lines.len(), 1);
        assert_eq!(audit(&lines, pinned(&key)).outcome, Outcome::Intact);
    }

    #[test]
    fn edits_are_named_by_seq() {
        let (lines, key) = bundle(10);
        // Payload text changed.
        let mut l = lines.clone();
        edit(&mut l, 4, |e| {
            e.payload = Some(serde_json::json!({"resolution": "forged"}))
        });
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(3)),
            "{r:?}"
        );
        assert_eq!(
            r.problem.as_deref(),
            Some("payload does not match payload_hash")
        );
        assert_eq!(r.first_bad_line, Some(5));

        // Erasing a payload is allowed and counted.
        let mut l = lines.clone();
        edit(&mut l, 4, |e| e.payload = None);
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.payloads_absent),
            (Outcome::Intact, 1),
            "{r:?}"
        );

        // A fact changed: the entry hash no longer matches.
        let mut l = lines.clone();
        edit(&mut l, 6, |e| e.event = "resolved".into());
        let r = audit(&l, pinned(&key));
        assert_eq!(r.first_bad_seq, Some(5));
        assert!(r.problem.unwrap().starts_with("entry_hash"));

        // A line dropped, two swapped, one duplicated.
        let mut l = lines.clone();
        l.remove(3);
        let r = audit(&l, pinned(&key));
        assert_eq!(r.first_bad_seq, Some(2));
        assert!(r.problem.unwrap().contains("entry 2 is missing"));
        let mut l = lines.clone();
        l.swap(7, 8);
        assert_eq!(audit(&l, pinned(&key)).first_bad_seq, Some(6));
        let mut l = lines.clone();
        l.insert(5, lines[2].clone());
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(4)),
            "{r:?}"
        );

        // The last line dropped: the checkpoint covers more than the file.
        let mut l = lines.clone();
        l.pop();
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(9)),
            "{r:?}"
        );

        // Garbage in an entry line.
        let mut l = lines.clone();
        l[3] = "{not json".into();
        let r = audit(&l, pinned(&key));
        assert_eq!((r.outcome, r.first_bad_line), (Outcome::Tampered, Some(4)));
    }

    #[test]
    fn headers_are_checked() {
        let (lines, key) = bundle(5);
        let (other, other_key) = bundle(5);
        // Another log's checkpoint, pinned to ours.
        let mut l = lines.clone();
        l[0] = other[0].clone();
        let r = audit(&l, pinned(&key));
        assert_eq!(r.outcome, Outcome::Tampered);
        assert!(r.problem.unwrap().contains("not signed by the log key"));
        // Our entries under the other log's (valid) header: the root differs.
        let r = audit(&l, pinned(&other_key));
        assert_eq!(r.outcome, Outcome::Tampered);
        assert!(r.problem.unwrap().contains("root"), "{:?}", r.first_bad_seq);

        assert_eq!(
            audit(&["nonsense".into()], pinned(&key)).outcome,
            Outcome::Unreadable
        );
        assert_eq!(audit(&[], pinned(&key)).outcome, Outcome::Unreadable);
        assert_eq!(
            audit(&lines, pinned("not a key")).outcome,
            Outcome::Unreadable
        );
        let mut h: Header = serde_json::from_str(&lines[0]).unwrap();
        h.format = "something-else/9".into();
        let mut l = lines.clone();
        l[0] = serde_json::to_string(&h).unwrap();
        assert_eq!(audit(&l, pinned(&key)).outcome, Outcome::Unreadable);
    }

    #[test]
    fn trusted_checkpoints_catch_rewrites_and_forks() {
        let (lines, key) = bundle(6);
        let h: Header = serde_json::from_str(&lines[0]).unwrap();
        let mut opts = pinned(&key);
        opts.trusted_checkpoint = Some(h.checkpoint.clone());
        let r = audit(&lines, opts.clone());
        assert_eq!(
            (r.outcome, r.trusted_checkpoint_ok),
            (Outcome::Intact, Some(true))
        );
        // A trusted checkpoint larger than the bundle.
        let (bigger, _) = bundle(7);
        let bh: Header = serde_json::from_str(&bigger[0]).unwrap();
        let o = AuditOptions {
            trusted_checkpoint: Some(bh.checkpoint),
            ..Default::default()
        };
        let r = audit(&bigger[..7], o);
        assert_eq!(r.outcome, Outcome::Tampered, "{r:?}");
    }
}
