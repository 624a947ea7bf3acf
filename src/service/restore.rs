//! `escalation-ledger restore`: rebuild an empty database, of either backend,
//! from an export bundle. The ledger is the source of truth, so any copy of a
//! bundle (a partner's, a witness's) is a disaster-recovery copy.
//!
//! In order, and writing nothing unless every step passes:
//! 1. the bundle must pass the offline audit (`core::audit`, the same check
//!    `escalation-ledger audit` runs) and carry its payloads;
//! 2. the target is migrated and must be empty;
//! 3. in one write transaction every entry is inserted exactly as the bundle
//!    states it (hashes, times and actors unchanged; an erased payload stays
//!    erased) with its Merkle leaf, and projected into the tables by the
//!    store and service functions the live write paths use
//!    (`store::disputes::project`, the scrutiny row builders, the policy,
//!    witness, redaction and warning rows); then the bundle's signed
//!    checkpoint is stored with the cosignatures of registered witnesses
//!    (each checked again by `service::cosign::add`);
//! 4. `verify` runs inside that transaction, and the transaction commits only
//!    if it passes with the bundle's head hash and the checkpoint's root.
//!
//! What a bundle does not hold, and so is not restored: the outbox (no old
//! notification is sent again), webhook paths and secrets (an endpoint comes
//! back with its origin as URL and a fresh secret: re-register it),
//! `whistleblower_identities` (the scrutineer's look-up of a pseudonym), and
//! signed checkpoints older than the bundle's.

use std::io::BufRead;
use std::path::Path;

use chrono::NaiveDateTime;

use crate::core::audit::{AuditOptions, EntryLine, Header, Outcome, Payloads};
use crate::core::checkpoint::{Checkpoint, Cosignature};
use crate::core::event::{LedgerEvent, ScrutinyEvent};
use crate::core::ledger::{self, Entry};
use crate::core::note::Note;
use crate::core::policy;
use crate::core::registry::{Agency, AgencyKind};
use crate::core::scrutiny::{
    attendees_json, read_facts, MediationClosed, MediationOpened, RecommendationIssued,
    ResponseRecorded, ReviewRequested, ReviewStep, SessionRecorded,
};
use crate::service::cosign;
use crate::service::error::ServiceError;
use crate::service::export::{audit_file, bundle_path};
use crate::service::scrutiny::{issued_row, opened_row, requested_row, review_step};
use crate::service::verify::{self, VerifyReport};
use crate::store::checkpoints::{self, Signed};
use crate::store::db::{self, write_tx, DbConn};
use crate::store::restore::{self as rows, RestoredWebhook};
use crate::store::scrutiny::{self as scrutiny_rows, SessionRow};
use crate::store::witnesses::{self, WitnessRow};
use crate::store::{agencies, deadlines, disputes, policies, redactions};

/// What the caller trusts and supplies beside the bundle.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The log's verifier key to pin; `None` trusts the bundle's (reported).
    pub log_key: Option<String>,
    /// Witness keys whose cosignatures the audit must verify.
    pub witness_keys: Vec<String>,
    /// Texts of policy documents that are not shipped with the binary but
    /// were activated in the ledger (an activation records only the hash).
    pub policy_texts: Vec<String>,
}

/// What a restore rebuilt.
#[derive(Debug, Clone)]
pub struct Restored {
    pub size: i64,
    /// Hex `entry_hash` of the newest entry (`None` for an empty bundle).
    pub head_hash: Option<String>,
    /// Hex Merkle root, equal to the bundle's signed checkpoint's.
    pub root: String,
    pub disputes: usize,
    pub cosignatures: usize,
    /// Webhook endpoints restored with only their origin and a fresh secret.
    pub webhooks: Vec<String>,
    /// The audit took the log key from the bundle (none was pinned).
    pub log_key_from_bundle: bool,
    /// `verify` on the restored database, before the commit.
    pub report: VerifyReport,
}

/// Rebuild the empty database at `url` from the bundle at `bundle` (its
/// directory or its `bundle.jsonl`). On any refusal or failure nothing is
/// kept: the message says why.
pub fn restore(bundle: &Path, url: &str, opts: RestoreOptions) -> Result<Restored, String> {
    let file = bundle_path(bundle);
    let audit = audit_file(
        &file,
        AuditOptions {
            log_key: opts.log_key.clone(),
            witness_keys: opts.witness_keys.clone(),
            trusted_checkpoint: None,
        },
        |_, _| {},
    );
    if audit.outcome != Outcome::Intact {
        let at = audit
            .first_bad_seq
            .map(|s| format!(" (entry {s})"))
            .unwrap_or_default();
        return Err(format!(
            "refused: the bundle fails the offline audit{at}: {}; nothing was written",
            audit.problem.as_deref().unwrap_or("no reason given")
        ));
    }
    if audit.payloads == Some(Payloads::Withheld) {
        return Err(
            "refused: the bundle's payloads are withheld (an auditor's export); \
                    restore needs one exported with payloads (`escalation-ledger export`)"
                .into(),
        );
    }
    let root = audit
        .root
        .clone()
        .ok_or("refused: the audit computed no Merkle root")?;

    let pool = db::pool(url, 1).map_err(|e| e.to_string())?;
    let mut conn = db::checkout(&pool).map_err(|e| e.to_string())?;
    db::migrate(&mut conn).map_err(|e| e.to_string())?;
    let occupied = rows::occupied(&mut conn).map_err(|e| e.to_string())?;
    if !occupied.is_empty() {
        let what: Vec<String> = occupied
            .iter()
            .map(|(t, n)| format!("{t}: {n} rows"))
            .collect();
        return Err(format!(
            "refused: the target database is not empty ({}); restore only into an empty one",
            what.join(", ")
        ));
    }

    let mut restored = write_tx(&mut conn, |conn| {
        // Checked again under the write lock: nobody filled it meanwhile.
        if !rows::occupied(conn)?.is_empty() {
            return Err(ServiceError::Conflict(
                "refused: the target database stopped being empty".into(),
            ));
        }
        let r = replay_file(conn, &file, &opts)?;
        let report = verify::verify_in_transaction(conn)?;
        if !report.ok {
            return Err(ServiceError::Unprocessable(format!(
                "the restored database does not verify (rolled back): {}",
                report.problem.as_deref().unwrap_or("no reason given")
            )));
        }
        if report.size != r.size || report.head_hash != r.head_hash {
            return Err(ServiceError::Internal(format!(
                "verify saw {} entries ending {:?}, the bundle has {} ending {:?} (rolled back)",
                report.size, report.head_hash, r.size, r.head_hash
            )));
        }
        Ok(Restored { report, ..r })
    })
    .map_err(|e: ServiceError| e.to_string())?;
    if restored.root != root {
        // The checkpoint's root was compared with the tree before commit; the
        // audit's must agree with it too.
        return Err(format!(
            "the audit's root {root} differs from the restored checkpoint's {}",
            restored.root
        ));
    }
    restored.log_key_from_bundle = audit.log_key_from_bundle;
    Ok(restored)
}

fn bad(seq: i64, what: impl std::fmt::Display) -> ServiceError {
    ServiceError::Unprocessable(format!("entry {seq}: {what}"))
}

/// Read the bundle again, line by line, and write it into the tables.
fn replay_file(
    conn: &mut DbConn,
    file: &Path,
    opts: &RestoreOptions,
) -> Result<Restored, ServiceError> {
    let io = |e: std::io::Error| ServiceError::Unprocessable(format!("{}: {e}", file.display()));
    let f = std::fs::File::open(file).map_err(io)?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, f).lines();
    let header: Header = match lines.next() {
        Some(l) => serde_json::from_str(&l.map_err(io)?)
            .map_err(|e| ServiceError::Unprocessable(format!("bundle header: {e}")))?,
        None => return Err(ServiceError::Unprocessable("the bundle is empty".into())),
    };
    let mut out = Restored {
        size: 0,
        head_hash: None,
        root: String::new(),
        disputes: 0,
        cosignatures: 0,
        webhooks: Vec::new(),
        log_key_from_bundle: false,
        report: empty_report(),
    };
    for line in lines {
        let line = line.map_err(io)?;
        if line.is_empty() {
            continue;
        }
        let parsed: EntryLine = serde_json::from_str(&line)
            .map_err(|e| bad(out.size, format!("not an entry line: {e}")))?;
        let entry = parsed.to_entry().map_err(|e| bad(parsed.seq, e))?;
        if entry.seq != out.size {
            return Err(bad(entry.seq, format!("expected seq {}", out.size)));
        }
        let payload = parsed.canonical_payload().map_err(|e| bad(entry.seq, e))?;
        crate::store::ledger::insert_verbatim(conn, &entry, payload)?;
        project(conn, &entry, parsed.payload.as_ref(), opts, &mut out)?;
        out.size += 1;
        out.head_hash = Some(hex::encode(entry.entry_hash));
    }
    if out.size as u64 != header.size {
        return Err(ServiceError::Unprocessable(format!(
            "the header says {} entries, the file holds {}",
            header.size, out.size
        )));
    }
    let (root, cosignatures) = store_checkpoint(conn, &header)?;
    out.root = root;
    out.cosignatures = cosignatures;
    Ok(out)
}

fn empty_report() -> VerifyReport {
    VerifyReport {
        ok: false,
        size: 0,
        head_hash: None,
        first_bad_seq: None,
        mismatched_dispute: None,
        bad_checkpoint: None,
        problem: None,
        redacted: Vec::new(),
    }
}

fn str_fact<'a>(e: &'a Entry, key: &str) -> Result<&'a str, ServiceError> {
    e.facts
        .get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad(e.seq, format!("'{}' without '{key}'", e.event)))
}

fn seq_fact(e: &Entry, key: &str) -> Result<i64, ServiceError> {
    e.facts
        .get(key)
        .and_then(|v| v.as_i64())
        .ok_or_else(|| bad(e.seq, format!("'{}' without '{key}'", e.event)))
}

/// Write one entry's projection, as its live write path does.
fn project(
    conn: &mut DbConn,
    e: &Entry,
    payload: Option<&serde_json::Value>,
    opts: &RestoreOptions,
    out: &mut Restored,
) -> Result<(), ServiceError> {
    let kind = LedgerEvent::parse(&e.event)
        .ok_or_else(|| bad(e.seq, format!("unknown event '{}'", e.event)))?;
    match kind {
        LedgerEvent::RegistrySeeded => {
            let list: Vec<Agency> =
                serde_json::from_value(e.facts.get("agencies").cloned().unwrap_or_default())
                    .map_err(|err| bad(e.seq, format!("bad registry: {err}")))?;
            agencies::insert_agencies(conn, &list)?;
        }
        kind_event @ (LedgerEvent::AgencyRegistered | LedgerEvent::AgencyUpdated) => {
            let id = str_fact(e, "agency")?;
            let kind: AgencyKind =
                serde_json::from_value(e.facts.get("kind").cloned().unwrap_or_default())
                    .map_err(|err| bad(e.seq, format!("bad agency kind: {err}")))?;
            // An erased name comes back as the id: the bundle no longer holds it.
            let name = payload
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or(id)
                .to_string();
            if kind_event == LedgerEvent::AgencyRegistered {
                agencies::insert_agency(
                    conn,
                    &Agency {
                        id: id.to_string(),
                        name,
                        kind,
                        statutory_partner: None,
                        retired_at: None,
                    },
                )?;
            } else {
                agencies::update_agency(conn, id, &name, kind)?;
            }
        }
        // Held by the ledger alone: the key history is read from the entries.
        LedgerEvent::LogKeyRecorded => {}
        LedgerEvent::AgencyRetired => {
            agencies::retire_agency(conn, str_fact(e, "agency")?, e.recorded_at)?;
        }
        LedgerEvent::PolicyActivated => {
            let (version, sha) = (str_fact(e, "version")?, str_fact(e, "sha256")?);
            let text = policy::shipped_text(version)
                .into_iter()
                .chain(opts.policy_texts.iter().map(String::as_str))
                .find(|t| policy::sha256_hex(t) == sha)
                .ok_or_else(|| {
                    bad(
                        e.seq,
                        format!(
                            "policy {version} (sha256 {sha}) is not shipped with this binary; \
                             give its document with --policy FILE"
                        ),
                    )
                })?;
            let parsed = policy::parse(text).map_err(|err| bad(e.seq, err))?;
            if parsed.version != version {
                return Err(bad(
                    e.seq,
                    format!(
                        "the document for {version} names version {}",
                        parsed.version
                    ),
                ));
            }
            if policies::get(conn, version)?.is_none() {
                policies::insert(conn, version, sha, text)?;
            }
            policies::record_activation(conn, e.seq, version, e.recorded_at)?;
        }
        LedgerEvent::WitnessRegistered => {
            let w = cosign::replay(&e.facts, e.seq).map_err(|err| bad(e.seq, err))?;
            witnesses::insert_witness(
                conn,
                &WitnessRow {
                    name: w.name,
                    key: w.key,
                    registered_seq: w.registered_seq,
                    url: w.url,
                },
            )?;
        }
        LedgerEvent::WebhookRegistered => {
            let id = str_fact(e, "id")?;
            let origin = str_fact(e, "origin")?;
            let target = e.facts.get("target");
            let (kind, value) = match (
                target
                    .and_then(|t| t.get("agency"))
                    .and_then(|v| v.as_str()),
                target.and_then(|t| t.get("role")).and_then(|v| v.as_str()),
            ) {
                (Some(a), None) => ("agency", a),
                (None, Some(r)) => ("role", r),
                _ => return Err(bad(e.seq, "webhook_registered with a bad target")),
            };
            let secret = crate::service::notify::parse_secret(None)?;
            use base64::Engine as _;
            let secret = base64::engine::general_purpose::STANDARD.encode(secret);
            rows::insert_webhook(
                conn,
                &RestoredWebhook {
                    id,
                    target_kind: kind,
                    target: value,
                    url: origin,
                    secret: &secret,
                    registered_seq: e.seq,
                    created_at: e.recorded_at,
                },
            )?;
            out.webhooks.push(id.to_string());
        }
        LedgerEvent::EmailRecipientsSet => {
            crate::service::email::restore_list(conn, e, payload).map_err(|err| bad(e.seq, err))?;
        }
        LedgerEvent::WebhookDeactivated => {
            let id = str_fact(e, "id")?;
            if rows::deactivate_webhook(conn, id, e.seq)? != 1 {
                return Err(bad(
                    e.seq,
                    format!("webhook {id} deactivated, never registered"),
                ));
            }
            out.webhooks.retain(|w| w != id);
        }
        LedgerEvent::RedactionRequested => {
            redactions::insert_request(conn, seq_fact(e, "seq")?, e.seq)?;
        }
        LedgerEvent::RedactionApproved => {
            let target = seq_fact(e, "seq")?;
            redactions::set_approved(conn, target, e.seq)?;
            // Already absent from the bundle; erased here as the approval does.
            redactions::erase_payload(conn, target)?;
        }
        LedgerEvent::Raised
        | LedgerEvent::ProposalMade
        | LedgerEvent::ProposalAccepted
        | LedgerEvent::ProposalRejected
        | LedgerEvent::Escalated
        | LedgerEvent::DeadlineMissed
        | LedgerEvent::Resolved
        | LedgerEvent::Withdrawn
        | LedgerEvent::PolicyMigrated => {
            let id = e
                .dispute_id
                .as_deref()
                .ok_or_else(|| bad(e.seq, format!("'{}' names no dispute", e.event)))?;
            let event = ledger::event_of(e).map_err(|err| bad(e.seq, err))?;
            disputes::project(conn, id, &e.actor, &event, e)?;
            if kind == LedgerEvent::Raised {
                out.disputes += 1;
            }
        }
        LedgerEvent::DeadlineApproaching => {
            let id = e
                .dispute_id
                .clone()
                .ok_or_else(|| bad(e.seq, "'deadline_approaching' names no dispute"))?;
            let due = str_fact(e, "due_at")?;
            let due_at = NaiveDateTime::parse_from_str(due, "%Y-%m-%dT%H:%M:%SZ")
                .map_err(|_| bad(e.seq, format!("due_at {due} is not a UTC time")))?;
            deadlines::insert_warning(
                conn,
                &deadlines::WarningRow {
                    dispute_id: id,
                    rung: str_fact(e, "rung")?.to_string(),
                    due_at,
                    seq: e.seq,
                },
            )?;
        }
        LedgerEvent::Scrutiny(s) => project_scrutiny(conn, s, e)?,
    }
    Ok(())
}

/// The scrutiny tables, from the row builders `service::scrutiny` writes with.
fn project_scrutiny(conn: &mut DbConn, s: ScrutinyEvent, e: &Entry) -> Result<(), ServiceError> {
    let facts = |err: String| bad(e.seq, err);
    match s {
        ScrutinyEvent::MediationOpened => {
            let f: MediationOpened = read_facts(e).map_err(facts)?;
            let (row, agencies) = opened_row(e, &f);
            scrutiny_rows::insert_mediation(conn, &row, &agencies)?;
        }
        ScrutinyEvent::MediationSessionRecorded => {
            let f: SessionRecorded = read_facts(e).map_err(facts)?;
            scrutiny_rows::insert_session(
                conn,
                &SessionRow {
                    seq: e.seq,
                    attendees: attendees_json(&f.attendees).map_err(facts)?,
                    mediation_id: f.mediation_id,
                    held_on: f.date,
                },
            )?;
        }
        ScrutinyEvent::MediationClosed => {
            let f: MediationClosed = read_facts(e).map_err(facts)?;
            scrutiny_rows::close_mediation(conn, &f.mediation_id, e.seq, f.proposal_id)?;
        }
        ScrutinyEvent::ReviewRequested => {
            let f: ReviewRequested = read_facts(e).map_err(facts)?;
            scrutiny_rows::insert_review(conn, &requested_row(e, &f).map_err(facts)?)?;
        }
        ScrutinyEvent::ReviewAccepted
        | ScrutinyEvent::ReviewDeclined
        | ScrutinyEvent::ReviewFindingsRecorded => {
            let f: ReviewStep = read_facts(e).map_err(facts)?;
            let mut row = scrutiny_rows::find_review(conn, &f.review_id)?
                .ok_or_else(|| bad(e.seq, format!("review {} never requested", f.review_id)))?;
            review_step(&mut row, s, e.seq)?;
            scrutiny_rows::update_review(conn, &row)?;
        }
        ScrutinyEvent::RecommendationIssued => {
            let f: RecommendationIssued = read_facts(e).map_err(facts)?;
            scrutiny_rows::insert_recommendation(conn, &issued_row(e, &f))?;
        }
        ScrutinyEvent::RecommendationResponseRecorded => {
            let f: ResponseRecorded = read_facts(e).map_err(facts)?;
            scrutiny_rows::set_response(conn, &f.recommendation_id, e.seq, f.accepted)?;
        }
    }
    Ok(())
}

/// Store the bundle's checkpoint as the log signed it (its own signature
/// lines), then each registered witness's cosignature line on it, checked
/// by `cosign::add`. The checkpoint's root (hex) and the cosignatures stored.
fn store_checkpoint(conn: &mut DbConn, header: &Header) -> Result<(String, usize), ServiceError> {
    let cp_err = |e: String| ServiceError::Unprocessable(format!("the bundle's checkpoint: {e}"));
    let note = Note::parse(&header.checkpoint).map_err(|e| cp_err(e.to_string()))?;
    let cp = Checkpoint::parse(note.text()).map_err(|e| cp_err(e.to_string()))?;
    if cp.size() != header.size {
        return Err(cp_err(format!(
            "size {} for {} entries",
            cp.size(),
            header.size
        )));
    }
    let registered: Vec<String> = witnesses::list(conn)?.into_iter().map(|w| w.name).collect();
    let (cosigs, own): (Vec<_>, Vec<_>) = note
        .signatures()
        .iter()
        .cloned()
        .partition(|s| registered.iter().any(|n| n == s.name()));
    let mut logs = Note::new(note.text()).map_err(|e| cp_err(e.to_string()))?;
    for s in own {
        logs.push(s).map_err(|e| cp_err(e.to_string()))?;
    }
    let signed_at = NaiveDateTime::parse_from_str(&header.exported_at, "%Y-%m-%dT%H:%M:%S%.fZ")
        .map_err(|_| {
            cp_err(format!(
                "exported_at {} is not a UTC time",
                header.exported_at
            ))
        })?;
    checkpoints::insert(
        conn,
        &Signed {
            size: cp.size() as i64,
            root: cp.root_hash().to_vec(),
            note: logs.to_string(),
            signed_at,
        },
    )?;
    let mut stored = 0;
    for s in &cosigs {
        let line = Cosignature::from_note_signature(s)
            .map_err(|e| cp_err(format!("cosignature by {}: {e}", s.name())))?
            .to_line();
        if cosign::add(conn, cp.size() as i64, &line)?.0 {
            stored += 1;
        }
    }
    Ok((hex::encode(cp.root_hash()), stored))
}
