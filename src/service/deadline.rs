//! Deadlines: each rung's target (in [`crate::core::ladder::RungRule`]) turned into a
//! `due_at`, and the sweeper that records approaching and missed ones in the
//! ledger.
//!
//! The first half is pure (no diesel): [`due_at`], [`is_overdue`], [`misses`],
//! which decides, given `now`, which open disputes have missed the target of
//! the rung they are on and have no `deadline_missed` entry for it, and
//! [`approaching`], which decides which are within the warning lead time of it
//! and have no `deadline_approaching` entry for it. The second half, [`sweep`],
//! runs both decisions and appends the entries inside one [`write_tx`], which
//! serialises it with every other append (SQLite `BEGIN IMMEDIATE`, the
//! PostgreSQL advisory lock); the primary keys `deadline_misses (dispute_id,
//! rung)` and `deadline_warnings (dispute_id, rung)` are the backstop. So two
//! sweepers racing (two instances, or two threads) still record each exactly once.
//!
//! `deadline_approaching` is not a ladder event (it changes no dispute state):
//! it is appended here with its `deadline_warnings` row and its outbox rows
//! ([`crate::service::notify::enqueue`], the same addressees as every dispute event) in
//! the sweep's transaction, and [`Replay`] is how `verify` checks it.
//!
//! Days are counted on [`calendar`], the bank holiday feed in use
//! ([`crate::service::holidays`]), which may be replaced while the service runs. An
//! entry records the `due_at` it was judged against; a later feed never
//! rewrites it, and `verify` does not recompute it.
//!
//! Working time is 09:00 to 17:00 London time (`Europe/London`, both clock
//! changes included; [`crate::core::calendar::ZONE`]); the service's instants,
//! and every `due_at` shown or recorded, are UTC (`Z`). `verify` takes a
//! recorded `due_at` as written, so entries recorded before deadlines were
//! counted in London time (when UTC was read as UK wall time) still verify.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::core::calendar::{Calendar, Source};
use crate::core::deadline::{approaching, due_at_with, misses, Approach};
pub use crate::core::deadline::{format_due, Open};
use crate::core::event::LedgerEvent;
use crate::core::ladder::{
    Actor, Dispute, Event, Policy, Role, Rung, RungRule, Status, AUTO_ESCALATE_RULE,
    DEADLINE_SWEEPER,
};
use crate::core::ledger::{Entry, NewEntry};
use crate::service::error::ServiceError;
use crate::service::record::record;
use crate::store::db::{write_tx, DbConn};
use crate::store::deadlines as rows;
use crate::store::disputes::OpenRow;
use crate::store::ledger as store;

/// The default warning lead time: one working day.
pub const DEFAULT_WARNING_HOURS: u32 = 8;

/// The calendar deadlines are counted in: the bank holiday feed in use
/// ([`crate::service::holidays::current`]; the embedded GOV.UK feed unless replaced).
pub fn calendar() -> Arc<Calendar> {
    crate::service::holidays::current()
}

/// [`due_at_with`] on the default calendar, warning once per process when the
/// answer relied on computed holidays (the bank-holiday feed needs refreshing).
pub fn due_at(rule: &RungRule, urgent: bool, entered: NaiveDateTime) -> Option<NaiveDateTime> {
    let cal = calendar();
    let (due, source) = due_at_with(&cal, rule, urgent, entered)?;
    if source == Source::Computed && crate::service::holidays::first_computed_use() {
        let (first, last) = cal.covered_range();
        tracing::warn!(
            %first, %last, due = %format_due(&due),
            "a deadline relied on computed bank holidays beyond the loaded feed: import a fresh GOV.UK feed with `escalation-ledger holidays import FILE`"
        );
    }
    Some(due)
}

/// The system actor that records deadlines.
pub fn sweeper_actor() -> Actor {
    Actor {
        sub: DEADLINE_SWEEPER.into(),
        role: Role::PartnershipAdmin,
        agency: None,
        partner: None,
    }
}

/// The due time of the rung the dispute is on, on the calendar in use (see [`due_at`]).
pub fn due_of(policies: &[Arc<Policy>], d: &Open) -> Option<NaiveDateTime> {
    if d.status != Status::Open {
        return None;
    }
    let policy = policies.iter().find(|p| p.version == d.policy)?;
    due_at(policy.rule(d.rung)?, d.urgent, d.rung_entered_at)
}

/// Open, with a target, and past it at `now`, on the calendar in use.
pub fn is_overdue(policies: &[Arc<Policy>], d: &Open, now: NaiveDateTime) -> bool {
    due_of(policies, d).is_some_and(|due| now > due)
}

/// What one sweep recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Swept {
    /// `deadline_missed` entries appended.
    pub missed: usize,
    /// Automatic escalations appended.
    pub escalated: usize,
    /// `deadline_approaching` entries appended.
    pub approaching: usize,
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, ServiceError> {
    s.parse().map_err(ServiceError::Internal)
}

/// The deadline facts of a `disputes` row: id, policy, status, rung, urgent, rung_entered_at.
pub fn open_from(row: OpenRow) -> Result<Open, ServiceError> {
    let (id, policy, status, rung, urgent, rung_entered_at) = row;
    Ok(Open {
        id,
        policy,
        status: parse(&status)?,
        rung: parse(&rung)?,
        urgent,
        rung_entered_at,
    })
}

/// Record every deadline missed at `now` (one `deadline_missed` entry per
/// dispute and rung, ever), and escalate where the rung's rule says so; then
/// warn of every deadline within `warning_hours` working hours (one
/// `deadline_approaching` entry per dispute and rung, ever; 0 warns nobody);
/// all in one write transaction. `policies` are looked up by the dispute's version.
pub fn sweep(
    conn: &mut DbConn,
    policies: &[std::sync::Arc<Policy>],
    warning_hours: u32,
    now: DateTime<Utc>,
) -> Result<Swept, ServiceError> {
    let now = now.naive_utc();
    let cal = calendar();
    write_tx(conn, |conn| {
        let rows = rows::open(conn, Status::Open.as_str())?;
        let open = rows
            .into_iter()
            .map(open_from)
            .collect::<Result<Vec<_>, _>>()?;
        let keys = |rows: Vec<(String, String)>| {
            rows.into_iter()
                .map(|(d, r)| Ok((d, parse(&r)?)))
                .collect::<Result<BTreeSet<_>, ServiceError>>()
        };
        let recorded = keys(rows::missed(conn)?)?;
        let warned = keys(rows::warned(conn)?)?;
        let actor = sweeper_actor();
        let mut out = Swept::default();
        // Through the service's due_at, so a deadline beyond the feed is warned of.
        open.iter().for_each(|d| {
            due_of(policies, d);
        });
        let missed_now = misses(&cal, policies, &open, &recorded, now);
        for m in &missed_now {
            let (mut d, policy) = dispute_and_policy(conn, policies, &m.dispute_id)?;
            let missed = Event::DeadlineMissed {
                rung: m.rung,
                due_at: format_due(&m.due_at),
            };
            record(conn, &policy, &mut d, &actor, &missed, json!({}))?;
            out.missed += 1;
            tracing::info!(dispute = %m.dispute_id, rung = %m.rung, due_at = %format_due(&m.due_at), "deadline missed");
            if let Some(to) = m.escalate_to {
                let up = Event::Escalated {
                    from: m.rung,
                    to,
                    rule: Some(AUTO_ESCALATE_RULE.into()),
                };
                record(conn, &policy, &mut d, &actor, &up, json!({}))?;
                out.escalated += 1;
                tracing::info!(dispute = %m.dispute_id, from = %m.rung, %to, "escalated on a missed deadline");
            }
        }
        // Those just recorded missed (or moved up) are past warning.
        let still: Vec<Open> = open
            .into_iter()
            .filter(|d| !missed_now.iter().any(|m| m.dispute_id == d.id))
            .collect();
        for a in approaching(
            policies,
            &cal,
            &still,
            &warned,
            &recorded,
            now,
            warning_hours,
        ) {
            let (d, policy) = dispute_and_policy(conn, policies, &a.dispute_id)?;
            record_approaching(conn, &actor, &a, &d, &policy)?;
            out.approaching += 1;
            tracing::info!(dispute = %a.dispute_id, rung = %a.rung, due_at = %format_due(&a.due_at), "deadline approaching");
        }
        Ok(out)
    })
}

/// An open dispute the sweep acts on, and the policy it follows.
fn dispute_and_policy(
    conn: &mut DbConn,
    policies: &[Arc<Policy>],
    id: &str,
) -> Result<(Dispute, Arc<Policy>), ServiceError> {
    let d = crate::store::disputes::load_dispute(conn, id)?
        .ok_or_else(ServiceError::not_found)?
        .state;
    let policy = policies
        .iter()
        .find(|p| p.version == d.policy)
        .cloned()
        .ok_or_else(|| ServiceError::Internal(format!("dispute {id}: no policy {}", d.policy)))?;
    Ok((d, policy))
}

/// Append one `deadline_approaching` entry, its `deadline_warnings` row and
/// its notifications, in the caller's transaction.
fn record_approaching(
    conn: &mut DbConn,
    actor: &Actor,
    a: &Approach,
    d: &Dispute,
    policy: &Policy,
) -> Result<Entry, ServiceError> {
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: Some(a.dispute_id.clone()),
            event: LedgerEvent::DeadlineApproaching.as_str().into(),
            actor: actor.clone(),
            facts: json!({ "rung": a.rung, "due_at": format_due(&a.due_at) }),
            payload: json!({}),
        },
    )?;
    rows::insert_warning(
        conn,
        &rows::WarningRow {
            dispute_id: a.dispute_id.clone(),
            rung: a.rung.to_string(),
            due_at: a.due_at,
            seq: entry.seq,
        },
    )?;
    crate::service::notify::enqueue(conn, &entry, d, policy)?;
    Ok(entry)
}

// ---- replay, for verify ----

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproachFacts {
    rung: Rung,
    due_at: String,
}

/// The warnings `verify` rebuilds from `deadline_approaching` entries:
/// (dispute id, rung) to (`due_at`, seq).
#[derive(Debug, Default)]
pub struct Replay {
    warned: BTreeMap<(String, String), (String, i64)>,
}

impl Replay {
    /// Check one `deadline_approaching` entry against the replayed disputes:
    /// by the sweeper, on the rung the open dispute is on, not after a miss
    /// there, the first for that rung. `due_at` is taken as recorded.
    pub fn apply(&mut self, e: &Entry, disputes: &BTreeMap<String, Dispute>) -> Result<(), String> {
        if e.actor.sub != DEADLINE_SWEEPER {
            return Err("a deadline warning recorded by someone other than the sweeper".into());
        }
        let f: ApproachFacts = serde_json::from_value(e.facts.clone())
            .map_err(|err| format!("unreadable 'deadline_approaching' facts: {err}"))?;
        let due = chrono::DateTime::parse_from_rfc3339(&f.due_at)
            .map_err(|_| format!("deadline warning due_at '{}' is not RFC 3339", f.due_at))?;
        if format_due(&due.naive_utc()) != f.due_at {
            return Err(format!(
                "deadline warning due_at '{}' is not UTC whole seconds",
                f.due_at
            ));
        }
        let id = e.dispute_id.clone().unwrap_or_default();
        let d = disputes
            .get(&id)
            .ok_or_else(|| format!("deadline warning for dispute {id}, never raised"))?;
        if d.status != Status::Open || d.rung != f.rung {
            return Err(format!(
                "deadline approaching on {}, but the dispute is {} on {}",
                f.rung, d.status, d.rung
            ));
        }
        if d.missed.contains_key(&f.rung) {
            return Err(format!(
                "deadline on {} warned of after it was missed",
                f.rung
            ));
        }
        let key = (id, f.rung.to_string());
        if self.warned.insert(key, (f.due_at, e.seq)).is_some() {
            return Err(format!("deadline on {} warned of twice", f.rung));
        }
        Ok(())
    }

    /// How the `deadline_warnings` table differs from the replay, if it does:
    /// the dispute concerned and the problem.
    pub fn table_mismatch(
        &self,
        conn: &mut DbConn,
    ) -> Result<Option<(String, String)>, ServiceError> {
        let mut stored: BTreeMap<(String, String), (String, i64)> = BTreeMap::new();
        for w in rows::warnings(conn)? {
            stored.insert((w.dispute_id, w.rung), (format_due(&w.due_at), w.seq));
        }
        let differs = stored
            .iter()
            .find(|(k, v)| self.warned.get(*k) != Some(*v))
            .or_else(|| self.warned.iter().find(|(k, _)| !stored.contains_key(*k)));
        Ok(differs.map(|((d, r), _)| {
            (
                d.clone(),
                format!("dispute {d}: the deadline warning on {r} differs from the ledger"),
            )
        }))
    }
}
