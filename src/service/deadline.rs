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
//! Time zone simplification: the calendar counts UK wall-clock working time,
//! and the service treats its UTC timestamps as UK wall time. In winter (GMT)
//! that is exact; during British Summer Time every `due_at` is one hour later
//! than the true 17:00 (or working-hour) instant in London, i.e. deadlines err
//! in the dispute's favour by an hour. A `due_at` is shown in UTC (`Z`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::core::calendar::{Calendar, Source, CLOSING};
use crate::core::ladder::{
    Actor, Dispute, Event, Policy, Role, Rung, RungRule, Status, AUTO_ESCALATE_RULE,
    DEADLINE_SWEEPER,
};
use crate::core::ledger::{Entry, NewEntry};
use crate::service::error::ServiceError;
use crate::store::db::{write_tx, DbConn};
use crate::store::ledger as store;
use crate::store::schema::{deadline_misses, deadline_warnings, disputes};

/// The ledger event that warns a deadline is near.
pub const EVENT_APPROACHING: &str = "deadline_approaching";

/// The default warning lead time: one working day.
pub const DEFAULT_WARNING_HOURS: u32 = 8;

/// The calendar deadlines are counted in: the bank holiday feed in use
/// ([`crate::service::holidays::current`]; the embedded GOV.UK feed unless replaced).
pub fn calendar() -> Arc<Calendar> {
    crate::service::holidays::current()
}

static FEED_WARNED: AtomicBool = AtomicBool::new(false);

/// A new feed is in use: warn again if it, too, runs out.
pub(crate) fn feed_replaced() {
    FEED_WARNED.store(false, Ordering::Relaxed);
}

/// `due_at` as shown and recorded: UTC, RFC 3339, whole seconds.
pub fn format_due(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// When a dispute entering this rung at `entered` (UTC, read as UK wall time)
/// is due, and whether the answer relied on computed rather than loaded
/// holidays; `None` when the rung has no target.
///
/// Urgent disputes count `urgent_target_working_hours` working hours
/// ([`Calendar::add_working_hours`]); others count `target_working_days`
/// working days after the day entered ([`Calendar::add_working_days`]) and are
/// due at 17:00 on the last of them.
pub fn due_at_with(
    cal: &Calendar,
    rule: &RungRule,
    urgent: bool,
    entered: NaiveDateTime,
) -> Option<(NaiveDateTime, Source)> {
    let due = if urgent && rule.urgent_target_working_hours > 0 {
        cal.checked_add_working_hours(entered, rule.urgent_target_working_hours)?
    } else if rule.target_working_days > 0 {
        cal.checked_add_working_days(entered.date(), rule.target_working_days)?
            .and_time(CLOSING)
    } else {
        return None;
    };
    let due = due.with_nanosecond(0).unwrap_or(due);
    Some((due, cal.source_between(entered.date(), due.date())))
}

/// [`due_at_with`] on the default calendar, warning once per process when the
/// answer relied on computed holidays (the bank-holiday feed needs refreshing).
pub fn due_at(rule: &RungRule, urgent: bool, entered: NaiveDateTime) -> Option<NaiveDateTime> {
    let cal = calendar();
    let (due, source) = due_at_with(&cal, rule, urgent, entered)?;
    if source == Source::Computed && !FEED_WARNED.swap(true, Ordering::Relaxed) {
        let (first, last) = cal.covered_range();
        tracing::warn!(
            %first, %last, due = %format_due(&due),
            "a deadline relied on computed bank holidays beyond the loaded feed: import a fresh GOV.UK feed with `escalation-ledger holidays import FILE`"
        );
    }
    Some(due)
}

/// What deciding a deadline needs from a dispute row.
#[derive(Debug, Clone)]
pub struct Open {
    pub id: String,
    pub policy: String,
    pub status: Status,
    pub rung: Rung,
    pub urgent: bool,
    pub rung_entered_at: NaiveDateTime,
}

/// The due time of the rung the dispute is on, if it is open and the rung has a target.
pub fn due_of(policies: &[std::sync::Arc<Policy>], d: &Open) -> Option<NaiveDateTime> {
    if d.status != Status::Open {
        return None;
    }
    let policy = policies.iter().find(|p| p.version == d.policy)?;
    due_at(policy.rule(d.rung)?, d.urgent, d.rung_entered_at)
}

/// Open, with a target, and past it at `now`.
pub fn is_overdue(policies: &[std::sync::Arc<Policy>], d: &Open, now: NaiveDateTime) -> bool {
    due_of(policies, d).is_some_and(|due| now > due)
}

/// One missed deadline to record, and where to escalate to if the rule says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    pub dispute_id: String,
    pub rung: Rung,
    pub due_at: NaiveDateTime,
    pub escalate_to: Option<Rung>,
}

/// Which disputes have missed their current rung's target at `now` and are not
/// yet recorded in `recorded` (dispute id, rung). Pure.
pub fn misses(
    policies: &[std::sync::Arc<Policy>],
    open: &[Open],
    recorded: &BTreeSet<(String, Rung)>,
    now: NaiveDateTime,
) -> Vec<Miss> {
    open.iter()
        .filter(|d| !recorded.contains(&(d.id.clone(), d.rung)))
        .filter_map(|d| {
            let due = due_of(policies, d).filter(|due| now > *due)?;
            let policy = policies.iter().find(|p| p.version == d.policy)?;
            let escalate_to = policy
                .rule(d.rung)
                .filter(|r| r.auto_escalate)
                .and_then(|_| policy.next(d.rung));
            Some(Miss {
                dispute_id: d.id.clone(),
                rung: d.rung,
                due_at: due,
                escalate_to,
            })
        })
        .collect()
}

/// One warning to record: the deadline of the dispute's rung is near.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approach {
    pub dispute_id: String,
    pub rung: Rung,
    pub due_at: NaiveDateTime,
}

/// Which open disputes are, at `now`, within `lead_hours` working hours of
/// their current rung's deadline, not yet past it, and not yet warned
/// (`warned`) nor recorded missed (`missed`) on that rung. Pure.
///
/// "Within the lead" is `now + lead_hours working hours >= due_at`
/// ([`Calendar::add_working_hours`]), so with the default 8 the warning goes
/// one working day ahead: at 17:00 on the Friday for a Monday 17:00 deadline.
/// `lead_hours == 0` warns nobody. A rung whose whole target is no longer than
/// the lead (an urgent dispute's 8 working hours at the default) is not warned:
/// the notice that it entered the rung already says as much.
pub fn approaching(
    policies: &[std::sync::Arc<Policy>],
    cal: &Calendar,
    open: &[Open],
    warned: &BTreeSet<(String, Rung)>,
    missed: &BTreeSet<(String, Rung)>,
    now: NaiveDateTime,
    lead_hours: u32,
) -> Vec<Approach> {
    if lead_hours == 0 {
        return Vec::new();
    }
    let Some(horizon) = cal.checked_add_working_hours(now, lead_hours) else {
        return Vec::new();
    };
    open.iter()
        .filter(|d| {
            let key = (d.id.clone(), d.rung);
            !warned.contains(&key) && !missed.contains(&key)
        })
        .filter_map(|d| {
            let due = due_of(policies, d)?;
            if now > due || horizon < due {
                return None;
            }
            let short = cal
                .checked_add_working_hours(d.rung_entered_at, lead_hours)
                .is_none_or(|t| t >= due);
            if short {
                return None;
            }
            Some(Approach {
                dispute_id: d.id.clone(),
                rung: d.rung,
                due_at: due,
            })
        })
        .collect()
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

type OpenRow = (String, String, String, String, bool, NaiveDateTime);

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
        let rows: Vec<OpenRow> = disputes::table
            .filter(disputes::status.eq(Status::Open.as_str()))
            .select((
                disputes::id,
                disputes::policy,
                disputes::status,
                disputes::rung,
                disputes::urgent,
                disputes::rung_entered_at,
            ))
            .order(disputes::id.asc())
            .load(conn)?;
        let open = rows
            .into_iter()
            .map(open_from)
            .collect::<Result<Vec<_>, _>>()?;
        let keys = |rows: Vec<(String, String)>| {
            rows.into_iter()
                .map(|(d, r)| Ok((d, parse(&r)?)))
                .collect::<Result<BTreeSet<_>, ServiceError>>()
        };
        let recorded = keys(
            deadline_misses::table
                .select((deadline_misses::dispute_id, deadline_misses::rung))
                .load(conn)?,
        )?;
        let warned = keys(
            deadline_warnings::table
                .select((deadline_warnings::dispute_id, deadline_warnings::rung))
                .load(conn)?,
        )?;
        let actor = sweeper_actor();
        let mut out = Swept::default();
        let missed_now = misses(policies, &open, &recorded, now);
        for m in &missed_now {
            let missed = Event::DeadlineMissed {
                rung: m.rung,
                due_at: format_due(&m.due_at),
            };
            crate::service::record::record(conn, &m.dispute_id, &actor, &missed, json!({}))?;
            out.missed += 1;
            tracing::info!(dispute = %m.dispute_id, rung = %m.rung, due_at = %format_due(&m.due_at), "deadline missed");
            if let Some(to) = m.escalate_to {
                let up = Event::Escalated {
                    from: m.rung,
                    to,
                    rule: Some(AUTO_ESCALATE_RULE.into()),
                };
                crate::service::record::record(conn, &m.dispute_id, &actor, &up, json!({}))?;
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
            record_approaching(conn, &actor, &a)?;
            out.approaching += 1;
            tracing::info!(dispute = %a.dispute_id, rung = %a.rung, due_at = %format_due(&a.due_at), "deadline approaching");
        }
        Ok(out)
    })
}

/// Append one `deadline_approaching` entry, its `deadline_warnings` row and
/// its notifications, in the caller's transaction.
fn record_approaching(
    conn: &mut DbConn,
    actor: &Actor,
    a: &Approach,
) -> Result<Entry, ServiceError> {
    let entry = store::append(
        conn,
        NewEntry {
            dispute_id: Some(a.dispute_id.clone()),
            event: EVENT_APPROACHING.into(),
            actor: actor.clone(),
            facts: json!({ "rung": a.rung, "due_at": format_due(&a.due_at) }),
            payload: json!({}),
        },
    )?;
    diesel::insert_into(deadline_warnings::table)
        .values((
            deadline_warnings::dispute_id.eq(&a.dispute_id),
            deadline_warnings::rung.eq(a.rung.to_string()),
            deadline_warnings::due_at.eq(a.due_at),
            deadline_warnings::seq.eq(entry.seq),
        ))
        .execute(conn)?;
    crate::service::notify::enqueue(conn, &entry)?;
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
            .map_err(|err| format!("unreadable '{EVENT_APPROACHING}' facts: {err}"))?;
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
        let rows: Vec<(String, String, NaiveDateTime, i64)> = deadline_warnings::table
            .select((
                deadline_warnings::dispute_id,
                deadline_warnings::rung,
                deadline_warnings::due_at,
                deadline_warnings::seq,
            ))
            .order((deadline_warnings::dispute_id, deadline_warnings::rung))
            .load(conn)?;
        let mut stored: BTreeMap<(String, String), (String, i64)> = BTreeMap::new();
        for (d, r, due, seq) in rows {
            stored.insert((d, r), (format_due(&due), seq));
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid")
    }

    fn rule(r: Rung) -> RungRule {
        Policy::krscp().rule(r).expect("rung").clone()
    }

    #[test]
    fn krscp_targets_are_a_working_week_then_two() {
        let p = Policy::krscp();
        let days: Vec<u32> = p.rungs.iter().map(|r| r.target_working_days).collect();
        assert_eq!(days, [5, 5, 5, 10, 10, 0]);
        let hours: Vec<u32> = p
            .rungs
            .iter()
            .map(|r| r.urgent_target_working_hours)
            .collect();
        assert_eq!(hours, [8, 8, 8, 8, 8, 0]);
        assert!(p.rungs.iter().all(|r| !r.auto_escalate));
    }

    #[test]
    fn friday_before_the_summer_bank_holiday() {
        // Fri 28 Aug 2026; Mon 31 Aug is the summer bank holiday.
        let (due, src) = due_at_with(
            &calendar(),
            &rule(Rung::from_static("agencies")),
            false,
            at(2026, 8, 28, 10, 30),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2026-09-07T17:00:00Z");
        assert_eq!(src, Source::Feed);
        // Urgent: 2 h on Friday, 6 h from Tuesday 09:00.
        let (due, _) = due_at_with(
            &calendar(),
            &rule(Rung::from_static("agencies")),
            true,
            at(2026, 8, 28, 15, 0),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2026-09-01T15:00:00Z");
    }

    #[test]
    fn christmas_eve_to_the_new_year() {
        // Thu 24 Dec 2026: 25 Dec, 28 Dec (Boxing Day substitute) and 1 Jan 2027 are holidays.
        let (due, _) = due_at_with(
            &calendar(),
            &rule(Rung::from_static("slg")),
            false,
            at(2026, 12, 24, 16, 0),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2027-01-05T17:00:00Z");
        let (due, _) = due_at_with(
            &calendar(),
            &rule(Rung::from_static("scrutineer")),
            false,
            at(2026, 12, 24, 16, 0),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2027-01-12T17:00:00Z");
    }

    #[test]
    fn beyond_the_feed_is_computed_and_the_top_rung_has_no_target() {
        let (_, src) = due_at_with(
            &calendar(),
            &rule(Rung::from_static("agencies")),
            false,
            at(2031, 3, 3, 9, 0),
        )
        .expect("target");
        assert_eq!(src, Source::Computed);
        assert!(due_at_with(
            &calendar(),
            &rule(Rung::from_static("secretary_of_state")),
            true,
            at(2026, 3, 3, 9, 0)
        )
        .is_none());
    }

    fn open(id: &str, rung: Rung, urgent: bool, entered: NaiveDateTime) -> Open {
        Open {
            id: id.into(),
            policy: "krscp-2024-02".into(),
            status: Status::Open,
            rung,
            urgent,
            rung_entered_at: entered,
        }
    }

    #[test]
    fn misses_are_decided_once_per_rung_and_only_past_due() {
        let mut auto = Policy::krscp();
        auto.rungs[0].auto_escalate = true;
        let ps = [std::sync::Arc::new(auto)];
        let d = [
            open(
                "a",
                Rung::from_static("agencies"),
                false,
                at(2026, 8, 28, 10, 0),
            ),
            open("b", Rung::from_static("slg"), false, at(2026, 8, 28, 10, 0)),
            open(
                "c",
                Rung::from_static("secretary_of_state"),
                false,
                at(2020, 1, 1, 10, 0),
            ),
        ];
        let none = BTreeSet::new();
        assert!(misses(&ps, &d, &none, at(2026, 9, 7, 17, 0)).is_empty());
        let m = misses(&ps, &d, &none, at(2026, 9, 7, 17, 1));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].escalate_to, Some(Rung::from_static("slg")));
        assert_eq!(m[1].escalate_to, None);
        let done: BTreeSet<_> = [("a".to_string(), Rung::from_static("agencies"))].into();
        let m = misses(&ps, &d, &done, at(2026, 9, 8, 0, 0));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].dispute_id, "b");
    }

    #[test]
    fn a_warning_goes_one_working_day_ahead_once() {
        let ps = [std::sync::Arc::new(Policy::krscp())];
        let cal = calendar();
        // Due Monday 7 September 2026 at 17:00 (see above).
        let d = [
            open(
                "a",
                Rung::from_static("agencies"),
                false,
                at(2026, 8, 28, 10, 30),
            ),
            // Urgent: the whole target is 8 working hours, the lead is 8: no warning.
            open(
                "u",
                Rung::from_static("agencies"),
                true,
                at(2026, 9, 4, 9, 0),
            ),
        ];
        let none = BTreeSet::new();
        let warn = |now, lead| approaching(&ps, &cal, &d, &none, &none, now, lead);
        assert!(
            warn(at(2026, 9, 4, 16, 59), 8).is_empty(),
            "9 working hours left"
        );
        let w = warn(at(2026, 9, 4, 17, 0), 8);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].dispute_id, "a");
        assert_eq!(format_due(&w[0].due_at), "2026-09-07T17:00:00Z");
        // The weekend and Monday morning: still within the lead, not yet past due.
        assert_eq!(warn(at(2026, 9, 5, 12, 0), 8).len(), 1);
        assert_eq!(warn(at(2026, 9, 7, 17, 0), 8).len(), 1);
        // Past due: a miss, not a warning.
        assert!(warn(at(2026, 9, 7, 17, 1), 8).is_empty());
        // Lead 0 warns nobody; a longer lead warns earlier.
        assert!(warn(at(2026, 9, 7, 12, 0), 0).is_empty());
        assert_eq!(warn(at(2026, 9, 3, 17, 0), 16).len(), 1);
        assert!(warn(at(2026, 9, 3, 16, 0), 16).is_empty());
        // Once warned, or once missed, on that rung: never again.
        let done: BTreeSet<_> = [("a".to_string(), Rung::from_static("agencies"))].into();
        assert!(approaching(&ps, &cal, &d, &done, &none, at(2026, 9, 7, 9, 0), 8).is_empty());
        assert!(approaching(&ps, &cal, &d, &none, &done, at(2026, 9, 7, 9, 0), 8).is_empty());
    }
}
