//! The audit bundle format and its offline check (`docs/ledger-format.md`,
//! "Audit bundles"), pure: fed lines, so it runs on a file, a stream or memory.
//!
//! Line 1 is a [`Header`] carrying the log's newest signed checkpoint; every
//! further line is one entry ([`EntryLine`]), oldest first, in the shape
//! `GET /v1/ledger/entries` returns. The [`Auditor`] checks the lines one by
//! one with [`ChainChecker`] and a Merkle [`Frontier`], in memory that does not
//! grow with the ledger. Writing bundles and reading files are
//! `service::export`'s.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::checkpoint::{self, Checkpoint, CosignatureVerifier, LogKeyHistory};
use crate::core::event::LedgerEvent;
use crate::core::ladder::Actor;
use crate::core::ledger::{self, format_time, ChainChecker, Entry, Hash};
use crate::core::merkle::Frontier;
use crate::core::note::Verifier;

/// The `format` of line 1.
pub const FORMAT: &str = "escalation-ledger-bundle/1";
/// The file name inside an export directory.
pub const FILE_NAME: &str = "bundle.jsonl";
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

// One entry's wire shape: a bundle line, and each item of `GET
// /v1/ledger/entries` and a dispute's history (named `EntryView` in the API
// document). One type, so the two can never drift apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EntryView)]
pub struct EntryLine {
    pub seq: i64,
    pub recorded_at: String,
    pub dispute_id: Option<String>,
    pub event: String,
    pub actor: Actor,
    #[schema(value_type = Object)]
    pub facts: Value,
    /// The canonical payload as JSON; null once erased or when withheld from this caller.
    #[schema(value_type = Option<Object>)]
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
    /// The report of an audit that could not read its input at all.
    pub fn unreadable(problem: String) -> Self {
        let mut r = AuditReport::new();
        r.outcome = Outcome::Unreadable;
        r.problem = Some(problem);
        r
    }

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
    /// The log keys the chain records (`log_key_recorded` entries).
    log_keys: LogKeyHistory,
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
            log_keys: LogKeyHistory::default(),
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

    /// [`Auditor::feed`] for an entry line `fast::precheck` already parsed and
    /// hashed (`pre`): only the checks that depend on the lines before it
    /// (seq, prev_hash, the checkpoint's size) are left. Anything else, and
    /// any doubt, goes through [`Auditor::feed`], so findings are the same.
    pub fn feed_prechecked(
        &mut self,
        line: &str,
        pre: Option<&fast::Checked>,
    ) -> Result<(), Finding> {
        if let (Some(c), None, Some((h, _))) = (pre, &self.failed, &self.header) {
            let withheld = h.payloads == Payloads::Withheld;
            if self.line > 0
                && c.seq == self.chain.size
                && (c.seq as u64) < h.size
                && c.prev_hash == self.chain.head.unwrap_or(ledger::ZERO_HASH)
                && !(c.payload_present && withheld)
            {
                self.line += 1;
                self.chain.size += 1;
                self.chain.head = Some(c.entry_hash);
                if !c.payload_present {
                    self.report.payloads_absent += 1;
                }
                self.frontier.push(c.entry_hash);
                if let Some(t) = &self.trusted {
                    if t.size == self.frontier.size() {
                        self.root_at_trusted = Some(self.frontier.root());
                    }
                }
                return Ok(());
            }
        }
        self.feed(line)
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
                checkpoint::open_checkpoint(t, std::slice::from_ref(&log), &[]).map_err(|e| {
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
        let opened = checkpoint::open_checkpoint(&h.checkpoint, std::slice::from_ref(&log), &[])
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
            match checkpoint::open_checkpoint(
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
        if entry.event == LedgerEvent::LogKeyRecorded.as_str() {
            if entry.dispute_id.is_some() {
                return Err(tampered(
                    Some(entry.seq),
                    n,
                    format!(
                        "entry {}: a log_key_recorded entry that names a dispute",
                        entry.seq
                    ),
                ));
            }
            self.log_keys
                .record(entry.seq, &entry.facts)
                .map_err(|p| tampered(Some(entry.seq), n, format!("entry {}: {p}", entry.seq)))?;
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
        // The checkpoint must be signed by the key the chain records at its
        // size, whatever key was pinned or named in the header.
        if self.log_keys.is_empty() {
            self.report.warnings.push(
                "the chain records no log key (a ledger from before keys were recorded): \
                 the checkpoint is checked against the pinned or bundled key only"
                    .into(),
            );
        } else if let Err(problem) = self.log_keys.check(cp.size(), &root, &h.checkpoint) {
            return Err(tampered(
                None,
                1,
                format!("the header's checkpoint (size {}): {problem}", cp.size()),
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
    progress: impl FnMut(u64, std::time::Duration),
) -> AuditReport
where
    I: IntoIterator<Item = std::io::Result<String>>,
{
    let mut lines = lines.into_iter();
    pipeline::run(
        |buf: &mut String| {
            lines.next().map(|l| {
                l.map(|l| {
                    buf.push_str(&l);
                })
            })
        },
        opts,
        progress,
    )
}

/// [`audit_lines`] over a reader, split as `BufRead::lines` splits (`\n`,
/// or `\r\n`), without a `String` per line.
pub fn audit_reader<R: std::io::BufRead>(
    mut reader: R,
    opts: AuditOptions,
    progress: impl FnMut(u64, std::time::Duration),
) -> AuditReport {
    if pipeline::serial_requested() {
        return audit_lines_serial(reader.lines(), opts, progress);
    }
    pipeline::run(
        |buf: &mut String| {
            let start = buf.len();
            match reader.read_line(buf) {
                Ok(0) => None,
                Ok(_) => {
                    if buf.ends_with('\n') {
                        buf.pop();
                        if buf.ends_with('\r') {
                            buf.pop();
                        }
                    }
                    Some(Ok(()))
                }
                Err(e) => {
                    buf.truncate(start);
                    Some(Err(e))
                }
            }
        },
        opts,
        progress,
    )
}

/// [`audit_lines`] one line at a time on the calling thread, every line
/// through [`Auditor::feed`]: the reference the fast path is tested against.
pub fn audit_lines_serial<I>(
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

/// The audit across cores. The calling thread reads lines into batches (one
/// buffer per batch, recycled) and feeds the [`Auditor`] in order; worker
/// threads parse and hash each batch (`fast::precheck`) meanwhile. At most
/// `IN_FLIGHT_PER_WORKER` batches per worker exist at once, so memory stays
/// flat whatever the ledger's size.
mod pipeline {
    use std::collections::BTreeMap;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::fast::{precheck, Checked, Scratch};
    use super::{AuditOptions, AuditReport, Auditor, Outcome, PROGRESS_EVERY};

    const BATCH_LINES: usize = 2048;
    const IN_FLIGHT_PER_WORKER: usize = 3;

    #[derive(Default)]
    struct Batch {
        id: u64,
        text: String,
        ends: Vec<usize>,
        pre: Vec<Option<Checked>>,
    }

    impl Batch {
        fn line(&self, i: usize) -> &str {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        }
    }

    fn threads_setting() -> Option<usize> {
        std::env::var("AUDIT_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
    }

    /// `AUDIT_THREADS=0`: the serial reference path, for side-by-side benchmarks.
    pub(super) fn serial_requested() -> bool {
        threads_setting() == Some(0)
    }

    fn workers() -> usize {
        threads_setting()
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 16)
    }

    /// `next(buf)` appends the next line (without its newline) to `buf`:
    /// `None` at the end, `Some(Err)` for a read error.
    pub(super) fn run(
        mut next: impl FnMut(&mut String) -> Option<std::io::Result<()>>,
        opts: AuditOptions,
        mut progress: impl FnMut(u64, std::time::Duration),
    ) -> AuditReport {
        let start = Instant::now();
        let mut a = Auditor::new(opts);
        // Line 1, the header, here: the entries need it.
        let mut first = String::new();
        match next(&mut first) {
            None => return a.finish(),
            Some(Err(e)) => return unreadable(a, e),
            Some(Ok(())) => {
                if a.feed(&first).is_err() {
                    return a.finish();
                }
            }
        }
        let n_workers = workers();
        let max_in_flight = n_workers * IN_FLIGHT_PER_WORKER;
        let mut read_error = None;
        std::thread::scope(|s| {
            let (job_tx, job_rx) = mpsc::sync_channel::<Batch>(max_in_flight);
            let job_rx = Arc::new(Mutex::new(job_rx));
            let (done_tx, done_rx) = mpsc::channel::<Batch>();
            for _ in 0..n_workers {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                s.spawn(move || {
                    let mut scratch = Scratch::default();
                    loop {
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(mut b) = job else { return };
                        b.pre.clear();
                        for i in 0..b.ends.len() {
                            let pre = precheck(b.line(i), &mut scratch);
                            b.pre.push(pre);
                        }
                        if done_tx.send(b).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut spare: Vec<Batch> = Vec::new();
            let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
            let (mut sent, mut fed) = (0u64, 0u64);
            let mut eof = false;
            'run: loop {
                while !eof && ((sent - fed) as usize) < max_in_flight {
                    let mut b = spare.pop().unwrap_or_default();
                    b.id = sent;
                    b.text.clear();
                    b.ends.clear();
                    while b.ends.len() < BATCH_LINES {
                        match next(&mut b.text) {
                            None => {
                                eof = true;
                                break;
                            }
                            Some(Err(e)) => {
                                read_error = Some(e);
                                eof = true;
                                break;
                            }
                            Some(Ok(())) => b.ends.push(b.text.len()),
                        }
                    }
                    if b.ends.is_empty() {
                        break;
                    }
                    if job_tx.send(b).is_err() {
                        break 'run;
                    }
                    sent += 1;
                }
                if sent == fed {
                    break;
                }
                let Ok(b) = done_rx.recv() else { break };
                pending.insert(b.id, b);
                while let Some(b) = pending.remove(&fed) {
                    fed += 1;
                    for i in 0..b.ends.len() {
                        if a.feed_prechecked(b.line(i), b.pre[i].as_ref()).is_err() {
                            break 'run;
                        }
                        let n = a.entries();
                        if n > 0 && n.is_multiple_of(PROGRESS_EVERY) {
                            progress(n, start.elapsed());
                        }
                    }
                    spare.push(b);
                }
            }
            drop(job_tx);
        });
        match read_error {
            Some(e) if a.failed.is_none() => unreadable(a, e),
            _ => a.finish(),
        }
    }

    fn unreadable(a: Auditor, e: std::io::Error) -> AuditReport {
        let mut r = a.finish();
        r.outcome = Outcome::Unreadable;
        r.problem = Some(format!("reading the bundle: {e}"));
        r
    }
}

/// Parsing and hashing one entry line without a `Value` or a `String` per
/// field: the line is borrowed (`facts` and `payload` as raw JSON), checked to
/// be in canonical form already, and the canonical entry written into a
/// reused buffer. A line that is not plainly good (an escape in a string, a
/// non-canonical `facts`, a hash that does not match, a `log_key_recorded`
/// entry) gets `None`, and the auditor checks it the slow way, which names
/// what is wrong exactly as before.
pub mod fast {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    use crate::core::event::LedgerEvent;
    use crate::core::ladder::{Partner, Role};
    use crate::core::ledger::{leaf_hash, push_hex, sha256, Hash};

    /// What a good line states, once its own hashes are checked.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Checked {
        pub seq: i64,
        pub prev_hash: Hash,
        pub entry_hash: Hash,
        pub payload_present: bool,
    }

    /// Buffers a worker reuses from line to line.
    #[derive(Default)]
    pub struct Scratch {
        canonical: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line<'a> {
        seq: i64,
        recorded_at: &'a str,
        #[serde(borrow)]
        dispute_id: Option<&'a str>,
        event: &'a str,
        #[serde(borrow)]
        actor: LineActor<'a>,
        #[serde(borrow)]
        facts: &'a RawValue,
        #[serde(borrow)]
        payload: Option<&'a RawValue>,
        payload_hash: &'a str,
        prev_hash: &'a str,
        entry_hash: &'a str,
    }

    // As `ladder::Actor` reads it (unknown members ignored).
    #[derive(Deserialize)]
    struct LineActor<'a> {
        sub: &'a str,
        role: Role,
        #[serde(borrow)]
        agency: Option<&'a str>,
        partner: Option<Partner>,
    }

    fn hash_of(s: &str) -> Option<Hash> {
        let mut h = [0u8; 32];
        hex::decode_to_slice(s, &mut h).ok()?;
        Some(h)
    }

    /// `recorded_at` in the ledger's exact form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`)
    /// and a real instant, so that it reads back to itself.
    fn exact_time(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() != 27 {
            return false;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let seps = [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ];
        if seps.iter().any(|&(i, c)| b[i] != c) {
            return false;
        }
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec), Some(us)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
            digits(20..26),
        ) else {
            return false;
        };
        sec < 60
            && chrono::NaiveDate::from_ymd_opt(y as i32, mo, d).is_some()
            && chrono::NaiveTime::from_hms_micro_opt(h, mi, sec, us).is_some()
    }

    /// Parse and hash one entry line; `None` unless it is plainly good on its own.
    pub fn precheck(line: &str, scratch: &mut Scratch) -> Option<Checked> {
        let l: Line = serde_json::from_str(line).ok()?;
        if l.event == LedgerEvent::LogKeyRecorded.as_str() || !exact_time(l.recorded_at) {
            return None;
        }
        let facts = l.facts.get();
        if !canonical(facts.as_bytes()) {
            return None;
        }
        let payload_hash = hash_of(l.payload_hash)?;
        let prev_hash = hash_of(l.prev_hash)?;
        let entry_hash = hash_of(l.entry_hash)?;
        if let Some(p) = l.payload {
            let p = p.get();
            if !canonical(p.as_bytes()) || sha256(p.as_bytes()) != payload_hash {
                return None;
            }
        }
        let out = &mut scratch.canonical;
        out.clear();
        let plain = |s: &str, out: &mut String| {
            // Borrowed, so it held no escape: nothing to escape either.
            out.push('"');
            out.push_str(s);
            out.push('"');
        };
        let opt = |v: Option<&str>, out: &mut String| match v {
            Some(s) => plain(s, out),
            None => out.push_str("null"),
        };
        out.push_str("{\"actor\":{\"agency\":");
        opt(l.actor.agency, out);
        out.push_str(",\"partner\":");
        opt(l.actor.partner.map(Partner::as_str), out);
        out.push_str(",\"role\":\"");
        out.push_str(l.actor.role.as_str());
        out.push_str("\",\"sub\":");
        plain(l.actor.sub, out);
        out.push_str("},\"dispute_id\":");
        opt(l.dispute_id, out);
        out.push_str(",\"event\":");
        plain(l.event, out);
        out.push_str(",\"facts\":");
        out.push_str(facts);
        out.push_str(",\"payload_hash\":\"");
        push_hex(&payload_hash, out);
        out.push_str("\",\"prev_hash\":\"");
        push_hex(&prev_hash, out);
        out.push_str("\",\"recorded_at\":\"");
        out.push_str(l.recorded_at);
        out.push_str("\",\"seq\":");
        let mut n = itoa_buf();
        out.push_str(itoa(l.seq, &mut n));
        out.push('}');
        if leaf_hash(out.as_bytes()) != entry_hash {
            return None;
        }
        Some(Checked {
            seq: l.seq,
            prev_hash,
            entry_hash,
            payload_present: l.payload.is_some(),
        })
    }

    fn itoa_buf() -> [u8; 20] {
        [0; 20]
    }

    fn itoa(v: i64, buf: &mut [u8; 20]) -> &str {
        let neg = v < 0;
        let mut u = v.unsigned_abs();
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if neg {
            i -= 1;
            buf[i] = b'-';
        }
        std::str::from_utf8(&buf[i..]).unwrap_or("")
    }

    /// Whether `b`, valid JSON, is exactly its own canonical form
    /// (`ledger::canonical_json` of it parsed). Conservative: `false` for
    /// anything in doubt (escapes in keys, keys beyond U+E000, numbers over
    /// 18 digits, deep nesting).
    pub fn canonical(b: &[u8]) -> bool {
        let mut i = 0;
        value(b, &mut i, 0) && i == b.len()
    }

    fn value(b: &[u8], i: &mut usize, depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        match b.get(*i) {
            Some(b'{') => {
                *i += 1;
                if b.get(*i) == Some(&b'}') {
                    *i += 1;
                    return true;
                }
                let mut prev: Option<&[u8]> = None;
                loop {
                    let Some((ks, ke)) = string(b, i, true) else {
                        return false;
                    };
                    let key = &b[ks..ke];
                    if prev.is_some_and(|p| p >= key) {
                        return false;
                    }
                    prev = Some(key);
                    if b.get(*i) != Some(&b':') {
                        return false;
                    }
                    *i += 1;
                    if !value(b, i, depth + 1) {
                        return false;
                    }
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            return true;
                        }
                        _ => return false,
                    }
                }
            }
            Some(b'[') => {
                *i += 1;
                if b.get(*i) == Some(&b']') {
                    *i += 1;
                    return true;
                }
                loop {
                    if !value(b, i, depth + 1) {
                        return false;
                    }
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b']') => {
                            *i += 1;
                            return true;
                        }
                        _ => return false,
                    }
                }
            }
            Some(b'"') => string(b, i, false).is_some(),
            Some(b't') => literal(b, i, b"true"),
            Some(b'f') => literal(b, i, b"false"),
            Some(b'n') => literal(b, i, b"null"),
            Some(b'-' | b'0'..=b'9') => number(b, i),
            _ => false,
        }
    }

    fn literal(b: &[u8], i: &mut usize, lit: &[u8]) -> bool {
        if b[*i..].starts_with(lit) {
            *i += lit.len();
            true
        } else {
            false
        }
    }

    fn number(b: &[u8], i: &mut usize) -> bool {
        let neg = b[*i] == b'-';
        if neg {
            *i += 1;
        }
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        let digits = &b[start..*i];
        !digits.is_empty()
            && digits.len() <= 18
            && !(digits[0] == b'0' && (digits.len() > 1 || neg))
            && !matches!(b.get(*i), Some(b'.' | b'e' | b'E'))
    }

    /// A string at `b[*i]`; returns its contents' range. Escapes only as JCS
    /// writes them, and none at all in a key.
    fn string(b: &[u8], i: &mut usize, key: bool) -> Option<(usize, usize)> {
        if b.get(*i) != Some(&b'"') {
            return None;
        }
        *i += 1;
        let start = *i;
        loop {
            let c = *b.get(*i)?;
            match c {
                b'"' => {
                    let end = *i;
                    *i += 1;
                    return Some((start, end));
                }
                b'\\' if key => return None,
                b'\\' => match *b.get(*i + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => *i += 2,
                    b'u' => {
                        let h = b.get(*i + 2..*i + 6)?;
                        let lower_hex = |c: &u8| c.is_ascii_digit() || (b'a'..=b'f').contains(c);
                        if h[0] != b'0' || h[1] != b'0' || !h[2..].iter().all(lower_hex) {
                            return None;
                        }
                        let v = u8::from_str_radix(std::str::from_utf8(&h[2..]).ok()?, 16).ok()?;
                        if v >= 0x20 || matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                            return None;
                        }
                        *i += 6;
                    }
                    _ => return None,
                },
                0xEE..=0xFF if key => return None,
                _ => *i += 1,
            }
        }
    }
}
