//! Whole-ledger verification: recompute the chain, replay every event, and
//! compare the replay with the projection tables, on one snapshot.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::core::checkpoint::LogKeyHistory;
use crate::core::event::LedgerEvent;
use crate::core::ladder::{self, Dispute};
use crate::service::cosign;
use crate::service::deadline;
use crate::service::error::ServiceError;
use crate::store::db::{read_tx, DbConn};
use chrono::NaiveDateTime;

use crate::core::ledger::{format_time, ChainChecker, OwnHashes};
use crate::core::merkle::{self, Frontier};
use crate::core::registry::{Registry, SeedAgency};
use crate::service::notify;
use crate::service::policy_store;
use crate::service::redaction::{self, Redacted};
use crate::store::checkpoints;
use crate::store::ledger as store;
use crate::store::tree::{self, DbNodes};

const BATCH: i64 = 2000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// Entries checked.
    pub size: i64,
    /// Hex `entry_hash` of the last good entry, or null for an empty ledger.
    pub head_hash: Option<String>,
    /// The first entry that is wrong, if the fault is in the ledger itself.
    pub first_bad_seq: Option<i64>,
    /// The dispute whose tables disagree with the replayed ledger, if any.
    pub mismatched_dispute: Option<String>,
    /// The size of a signed checkpoint whose root the ledger does not reproduce.
    pub bad_checkpoint: Option<i64>,
    pub problem: Option<String>,
    /// Entries whose payload was erased by an approved redaction.
    pub redacted: Vec<Redacted>,
}

impl VerifyReport {
    fn bad(c: &ChainChecker, seq: Option<i64>, dispute: Option<String>, problem: String) -> Self {
        VerifyReport {
            ok: false,
            size: c.size,
            head_hash: c.head.map(hex::encode),
            first_bad_seq: seq,
            mismatched_dispute: dispute,
            bad_checkpoint: None,
            problem: Some(problem),
            redacted: Vec::new(),
        }
    }
}

/// Each decoded entry's own hashes (`OwnHashes`), the batch split across
/// the machine's cores: the part of `verify` that is hashing, off the one
/// thread that reads the snapshot and replays in order.
fn own_hashes(batch: &[Result<store::StoredEntry, (i64, String)>]) -> Vec<Option<OwnHashes>> {
    let one = |item: &Result<store::StoredEntry, (i64, String)>| {
        item.as_ref()
            .ok()
            .map(|s| OwnHashes::of(&s.entry, s.payload.as_deref()))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || batch.len() < 256 {
        return batch.iter().map(one).collect();
    }
    let chunk = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = batch
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(batch.len());
        for p in parts {
            match p.join() {
                Ok(v) => out.extend(v),
                // A panicking worker: hash those entries here instead (`None`).
                Err(_) => out.resize(out.len() + chunk.min(batch.len() - out.len()), None),
            }
        }
        out
    })
}

/// Check the whole ledger and the projection built from it.
pub fn verify(conn: &mut DbConn) -> Result<VerifyReport, ServiceError> {
    read_tx(conn, verify_snapshot)
}

/// [`verify`] inside the caller's transaction (which it neither opens nor
/// ends): `restore` checks what it wrote before committing it.
pub fn verify_in_transaction(conn: &mut DbConn) -> Result<VerifyReport, ServiceError> {
    verify_snapshot(conn)
}

/// [`verify`], telling `progress` after each batch how many entries of the
/// snapshot's total have been checked (`(checked, total)`): the console's
/// background verification (`service::verify_job`) shows it as a bar.
pub fn verify_with_progress(
    conn: &mut DbConn,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<VerifyReport, ServiceError> {
    read_tx(conn, |conn| verify_snapshot_with(conn, progress))
}

fn verify_snapshot(conn: &mut DbConn) -> Result<VerifyReport, ServiceError> {
    verify_snapshot_with(conn, &mut |_, _| {})
}

fn verify_snapshot_with(
    conn: &mut DbConn,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<VerifyReport, ServiceError> {
    let total = store::head(conn)?.map_or(0, |(seq, _)| seq + 1);
    progress(0, total);
    let mut chain = ChainChecker::default();
    let mut state = Replayed {
        policies: policy_store::Replay::new(conn)?,
        ..Replayed::default()
    };
    let mut frontier = Frontier::new();
    let mut redactions = redaction::Replay::default();
    let signed = checkpoints::roots(conn)?;
    let mut signed = signed.into_iter().peekable();
    if let Some((size, root)) = signed.next_if(|(s, _)| *s == 0) {
        if let Some(r) = checkpoint_mismatch(&chain, &frontier, size, &root) {
            return Ok(r);
        }
    }
    loop {
        let batch = store::entries_for_audit(conn, None, chain.size, BATCH)?;
        let n = batch.len() as i64;
        let leaves = tree::leaves_in(conn, chain.size, chain.size + n)?;
        let own = own_hashes(&batch);
        for (item, own) in batch.into_iter().zip(own) {
            let stored = match item {
                Ok(s) => s,
                Err((seq, problem)) => {
                    return Ok(VerifyReport::bad(&chain, Some(seq), None, problem))
                }
            };
            let e = &stored.entry;
            let own = own.unwrap_or_else(|| OwnHashes::of(e, stored.payload.as_deref()));
            if let Err(f) = chain.check_hashed(e, &own) {
                return Ok(VerifyReport::bad(&chain, Some(f.seq), None, f.problem));
            }
            let leaf = leaves.get(&e.seq);
            if leaf.map(|h| h.as_slice()) != Some(e.entry_hash.as_slice()) {
                let problem = match leaf {
                    None => "the entry is not in the Merkle tree".to_string(),
                    Some(_) => "the entry's leaf in the Merkle tree holds another hash".to_string(),
                };
                let mut r = VerifyReport::bad(&chain, Some(e.seq), None, problem);
                r.size -= 1;
                return Ok(r);
            }
            redactions.saw(&stored);
            let replayed = if redaction::Replay::is_redaction(&e.event) {
                redactions.apply(&stored)
            } else {
                state.replay_one(&stored)
            };
            if let Err(problem) = replayed {
                let mut r = VerifyReport::bad(&chain, Some(e.seq), None, problem);
                r.size -= 1;
                return Ok(r);
            }
            frontier.push(e.entry_hash);
            while let Some((size, root)) = signed.next_if(|(s, _)| *s <= chain.size) {
                if let Some(r) = checkpoint_mismatch(&chain, &frontier, size, &root) {
                    return Ok(r);
                }
            }
        }
        progress(chain.size, total.max(chain.size));
        if n < BATCH {
            break;
        }
    }
    if let Some((size, root)) = signed.next() {
        if let Some(r) = checkpoint_mismatch(&chain, &frontier, size, &root) {
            return Ok(r);
        }
    }
    // Every stored checkpoint is signed by the log key the ledger records
    // at its size (`core::checkpoint::LogKeyHistory::at`).
    for (size, root, note) in checkpoints::all_signed(conn)? {
        if let Err(problem) = state.log_keys.check(size.max(0) as u64, &root, &note) {
            let mut r = VerifyReport::bad(&chain, None, None, problem);
            r.bad_checkpoint = Some(size);
            return Ok(r);
        }
    }
    if let Some(seq) = redactions.unexplained() {
        return Ok(VerifyReport::bad(
            &chain,
            Some(seq),
            None,
            format!("entry {seq}: payload erased without an approved redaction"),
        ));
    }
    if let Some((seq, problem)) = redactions.dispute_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, Some(seq), None, problem));
    }
    let stored_leaves = tree::leaves(conn)?;
    let stored_root = if stored_leaves == chain.size {
        merkle::root(&mut DbNodes::new(conn), chain.size as u64).ok()
    } else {
        None
    };
    if stored_root != Some(frontier.root()) {
        return Ok(VerifyReport::bad(
            &chain,
            None,
            None,
            format!(
                "the stored Merkle tree ({stored_leaves} leaves) does not reproduce the ledger's root"
            ),
        ));
    }
    if let Err((dispute, problem)) = compare(conn, &state)? {
        return Ok(VerifyReport::bad(&chain, None, dispute, problem));
    }
    if let Some((dispute, problem)) = state.warnings.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, Some(dispute), problem));
    }
    if let Some(problem) = cosign::check(conn, &state.witnesses)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    if let Some(problem) = redactions.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    if let Some(problem) = state.scrutiny.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    if let Some(problem) = state.webhooks.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    if let Some(problem) = state.email.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    if let Some(problem) = state.policies.table_mismatch(conn)? {
        return Ok(VerifyReport::bad(&chain, None, None, problem));
    }
    Ok(VerifyReport {
        ok: true,
        size: chain.size,
        head_hash: chain.head.map(hex::encode),
        first_bad_seq: None,
        mismatched_dispute: None,
        bad_checkpoint: None,
        problem: None,
        redacted: redactions.redacted(),
    })
}

/// A signed checkpoint must have the root the ledger gives at its size.
fn checkpoint_mismatch(
    chain: &ChainChecker,
    frontier: &Frontier,
    size: i64,
    root: &[u8],
) -> Option<VerifyReport> {
    if size == chain.size && root == frontier.root().as_slice() {
        return None;
    }
    let problem = if size != chain.size {
        format!(
            "a checkpoint was signed for size {size}, beyond the ledger's {} entries",
            chain.size
        )
    } else {
        format!(
            "the checkpoint signed at size {size} has root {}, the ledger gives {}",
            hex::encode(root),
            hex::encode(frontier.root())
        )
    };
    let mut r = VerifyReport::bad(chain, None, None, problem);
    r.bad_checkpoint = Some(size);
    Some(r)
}

/// Everything `verify` rebuilds from the entries.
#[derive(Default)]
struct Replayed {
    disputes: BTreeMap<String, Dispute>,
    /// When each dispute was put on the rung it is on: the `recorded_at` and
    /// `seq` of that entry (its `raised`, or the latest that moved its rung).
    entered: BTreeMap<String, (NaiveDateTime, i64)>,
    /// The registry at this point: seed, then every agency entry.
    registry: Registry,
    witnesses: Vec<cosign::Witness>,
    scrutiny: crate::service::scrutiny_replay::Replay,
    webhooks: notify::Replay,
    email: crate::service::email::Replay,
    warnings: deadline::Replay,
    policies: policy_store::Replay,
    /// The log keys recorded so far (`log_key_recorded`).
    log_keys: LogKeyHistory,
}

impl Replayed {
    /// New disputes follow the policy in force; migrations go to an
    /// activated policy, onto one of its rungs.
    fn check_policy(&self, event: &ladder::Event) -> Result<(), String> {
        let active = self.policies.active();
        match event {
            ladder::Event::Raised { policy, .. } if policy != active => Err(format!(
                "dispute raised under policy {policy} while {active} was in force"
            )),
            ladder::Event::PolicyMigrated { to, rung, .. }
                if !self.policies.may_migrate_to(to, *rung) =>
            {
                Err(format!(
                    "migration to policy {to}, rung {rung}, which no activated policy has"
                ))
            }
            _ => Ok(()),
        }
    }

    /// An escalation leaves the rung the open dispute is on for the next rung
    /// of the policy it follows: never a skip (invariant 6), whoever wrote it.
    fn check_one_rung(&self, id: &str, event: &ladder::Event) -> Result<(), String> {
        let ladder::Event::Escalated { from, to, .. } = event else {
            return Ok(());
        };
        let d = self
            .disputes
            .get(id)
            .ok_or_else(|| format!("an escalation of dispute {id}, never raised"))?;
        let next = self.policies.policy(&d.policy).and_then(|p| p.next(*from));
        if d.status != ladder::Status::Open || d.rung != *from || next != Some(*to) {
            return Err(format!(
                "an escalation from {from} to {to}, but the dispute is {} on {} and the next rung is {}",
                d.status,
                d.rung,
                next.map_or("none".to_string(), |r| r.to_string())
            ));
        }
        Ok(())
    }

    fn replay_one(&mut self, s: &store::StoredEntry) -> Result<(), String> {
        let e = &s.entry;
        let kind = LedgerEvent::parse(&e.event)
            .ok_or_else(|| format!("unknown ledger event '{}'", e.event))?;
        match (kind, &e.dispute_id) {
            (LedgerEvent::Scrutiny(_), _) => {
                self.scrutiny
                    .apply(s, &self.disputes, self.registry.agencies(), &self.policies)
            }
            (LedgerEvent::RegistrySeeded, None) => {
                let list = e
                    .facts
                    .get("agencies")
                    .cloned()
                    .ok_or("registry_seeded without agencies")?;
                let list: Vec<SeedAgency> =
                    serde_json::from_value(list).map_err(|err| format!("bad registry: {err}"))?;
                self.registry
                    .seed(list)
                    .map_err(|err| format!("bad registry: {err}"))
            }
            (
                LedgerEvent::AgencyRegistered
                | LedgerEvent::AgencyUpdated
                | LedgerEvent::AgencyRetired,
                None,
            ) => crate::service::registry::replay(&mut self.registry, kind, s),
            (LedgerEvent::WitnessRegistered, None) => {
                if e.actor.role != ladder::Role::PartnershipAdmin {
                    return Err(
                        "a witness registered by someone other than partnership_admin".into(),
                    );
                }
                let w = cosign::replay(&e.facts, e.seq)?;
                if self
                    .witnesses
                    .iter()
                    .any(|o| o.name == w.name || o.key == w.key)
                {
                    return Err(format!("witness '{}' registered twice", w.name));
                }
                self.witnesses.push(w);
                Ok(())
            }
            (LedgerEvent::WebhookRegistered | LedgerEvent::WebhookDeactivated, None) => {
                self.webhooks.apply(e)
            }
            (LedgerEvent::EmailRecipientsSet, None) => self.email.apply(s),
            (LedgerEvent::PolicyActivated, None) => self.policies.apply(e),
            (LedgerEvent::LogKeyRecorded, None) => self.log_keys.record(e.seq, &e.facts),
            (LedgerEvent::DeadlineApproaching, Some(_)) => self.warnings.apply(e, &self.disputes),
            (
                LedgerEvent::Raised
                | LedgerEvent::ProposalMade
                | LedgerEvent::ProposalAccepted
                | LedgerEvent::ProposalRejected
                | LedgerEvent::Escalated
                | LedgerEvent::DeadlineMissed
                | LedgerEvent::Resolved
                | LedgerEvent::Withdrawn
                | LedgerEvent::PolicyMigrated,
                Some(id),
            ) => {
                let event = crate::core::ledger::event_of(e)?;
                self.check_policy(&event)?;
                // A new dispute names agencies in the registry, none retired, at that point.
                if let ladder::Event::Raised { parties, .. } = &event {
                    self.registry
                        .check_active(parties)
                        .map_err(|err| format!("a dispute raised naming {err}"))?;
                }
                self.check_one_rung(id, &event)?;
                let rung_before = match self.disputes.get_mut(id) {
                    None => {
                        let d = ladder::start(id, &e.actor, &event)?;
                        self.disputes.insert(id.clone(), d);
                        None
                    }
                    Some(d) => {
                        let before = d.rung;
                        ladder::apply(d, &e.actor, &event)?;
                        Some(before)
                    }
                };
                // Whatever entry puts the dispute on a rung starts that rung's clock.
                let now_on = self.disputes.get(id).map(|d| d.rung);
                let migrated = matches!(event, ladder::Event::PolicyMigrated { .. });
                if rung_before.is_none() || rung_before != now_on || migrated {
                    self.entered.insert(id.clone(), (e.recorded_at, e.seq));
                }
                Ok(())
            }
            // Replayed beside this, by `redaction::Replay` (see `verify_snapshot`).
            (LedgerEvent::RedactionRequested | LedgerEvent::RedactionApproved, _) => {
                Err(format!("a '{kind}' entry out of the redaction replay"))
            }
            (
                LedgerEvent::RegistrySeeded
                | LedgerEvent::AgencyRegistered
                | LedgerEvent::AgencyUpdated
                | LedgerEvent::AgencyRetired
                | LedgerEvent::PolicyActivated
                | LedgerEvent::WitnessRegistered
                | LedgerEvent::WebhookRegistered
                | LedgerEvent::WebhookDeactivated
                | LedgerEvent::EmailRecipientsSet
                | LedgerEvent::LogKeyRecorded,
                Some(_),
            ) => Err(format!("a '{kind}' entry that names a dispute")),
            (
                LedgerEvent::Raised
                | LedgerEvent::ProposalMade
                | LedgerEvent::ProposalAccepted
                | LedgerEvent::ProposalRejected
                | LedgerEvent::Escalated
                | LedgerEvent::DeadlineMissed
                | LedgerEvent::Resolved
                | LedgerEvent::Withdrawn
                | LedgerEvent::PolicyMigrated
                | LedgerEvent::DeadlineApproaching,
                None,
            ) => Err(format!("a '{kind}' entry that names no dispute")),
        }
    }
}

type Mismatch = Result<(), (Option<String>, String)>;

fn compare(conn: &mut DbConn, state: &Replayed) -> Result<Mismatch, ServiceError> {
    let replay = &state.disputes;
    let stored = crate::store::agencies::list_agencies(conn)?;
    if let Some(problem) = state.registry.differs(&stored) {
        return Ok(Err((
            None,
            format!("the agencies table differs from the registry in the ledger: {problem}"),
        )));
    }
    let tables = crate::store::disputes::all_disputes(conn)?;
    let mut seen = 0usize;
    for rec in &tables {
        let id = rec.state.id.clone();
        match replay.get(&id) {
            None => {
                return Ok(Err((
                    Some(id.clone()),
                    format!("dispute {id} is in the tables but not in the ledger"),
                )))
            }
            Some(d) if d != &rec.state => {
                return Ok(Err((
                    Some(id.clone()),
                    format!(
                        "dispute {id} differs from its replayed ledger: {}",
                        diff(d, &rec.state)
                    ),
                )))
            }
            Some(d) => {
                // Deadlines count from `rung_entered_at`: it must be the time
                // of the entry that put the dispute on its rung.
                if let Some((at, seq)) = state.entered.get(&id) {
                    if *at != rec.rung_entered_at {
                        return Ok(Err((
                            Some(id.clone()),
                            format!(
                                "dispute {id} differs from its replayed ledger: rung_entered_at {} in the tables, but it entered {} at {} (seq {seq}) in the ledger",
                                format_time(&rec.rung_entered_at),
                                d.rung,
                                format_time(at),
                            ),
                        )));
                    }
                }
                seen += 1
            }
        }
    }
    if seen != replay.len() {
        let missing = replay
            .keys()
            .find(|k| !tables.iter().any(|r| &r.state.id == *k))
            .cloned();
        let id = missing.clone().unwrap_or_default();
        return Ok(Err((
            missing,
            format!("dispute {id} is in the ledger but missing from the tables"),
        )));
    }
    Ok(Ok(()))
}

fn diff(ledger: &Dispute, tables: &Dispute) -> String {
    let mut out = Vec::new();
    if ledger.status != tables.status {
        out.push(format!(
            "status {} in the ledger, {} in the tables",
            ledger.status, tables.status
        ));
    }
    if ledger.rung != tables.rung {
        out.push(format!(
            "rung {} in the ledger, {} in the tables",
            ledger.rung, tables.rung
        ));
    }
    if ledger.parties != tables.parties {
        out.push("parties differ".into());
    }
    if ledger.proposals != tables.proposals {
        out.push("proposals differ".into());
    }
    if ledger.missed != tables.missed {
        out.push("missed deadlines differ".into());
    }
    if out.is_empty() {
        out.push("other fields differ".into());
    }
    out.join("; ")
}
