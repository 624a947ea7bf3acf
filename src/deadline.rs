//! Deadlines: each rung's target (in [`crate::ladder::RungRule`]) turned into a
//! `due_at`, and the sweeper that records missed ones in the ledger.
//!
//! The first half is pure (no diesel): [`due_at`], [`is_overdue`] and
//! [`misses`], which decides, given `now`, which open disputes have missed the
//! target of the rung they are on and have no `deadline_missed` entry for it.
//! The second half, [`sweep`], runs that decision and appends the entries
//! inside one [`write_tx`], which serialises it with every other append (SQLite
//! `BEGIN IMMEDIATE`, the PostgreSQL advisory lock); the primary key
//! `deadline_misses (dispute_id, rung)` is the backstop. So two sweepers racing
//! (two instances, or two threads) still record each miss exactly once.
//!
//! Time zone simplification: the calendar counts UK wall-clock working time,
//! and the service treats its UTC timestamps as UK wall time. In winter (GMT)
//! that is exact; during British Summer Time every `due_at` is one hour later
//! than the true 17:00 (or working-hour) instant in London, i.e. deadlines err
//! in the dispute's favour by an hour. A `due_at` is shown in UTC (`Z`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::calendar::{Calendar, Source, CLOSING};
use crate::db::{write_tx, DbConn};
use crate::error::AppError;
use crate::ladder::{
    Actor, Event, Policy, Role, Rung, RungRule, Status, AUTO_ESCALATE_RULE, DEADLINE_SWEEPER,
};
use crate::schema::{deadline_misses, disputes};
use crate::store;

/// The calendar deadlines are counted in (the embedded GOV.UK feed).
pub fn calendar() -> &'static Calendar {
    static CAL: OnceLock<Calendar> = OnceLock::new();
    CAL.get_or_init(Calendar::default_england)
}

static FEED_WARNED: AtomicBool = AtomicBool::new(false);

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
    let (due, source) = due_at_with(calendar(), rule, urgent, entered)?;
    if source == Source::Computed && !FEED_WARNED.swap(true, Ordering::Relaxed) {
        let (first, last) = calendar().covered_range();
        tracing::warn!(
            %first, %last, due = %format_due(&due),
            "a deadline relied on computed bank holidays beyond the loaded feed: refresh assets/bank-holidays.json from GOV.UK"
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
}

type OpenRow = (String, String, String, String, bool, NaiveDateTime);

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(AppError::Internal)
}

/// The deadline facts of a `disputes` row: id, policy, status, rung, urgent, rung_entered_at.
pub fn open_from(row: OpenRow) -> Result<Open, AppError> {
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
/// dispute and rung, ever), and escalate where the rung's rule says so, in
/// one write transaction. `policies` are looked up by the dispute's version.
pub fn sweep(
    conn: &mut DbConn,
    policies: &[std::sync::Arc<Policy>],
    now: DateTime<Utc>,
) -> Result<Swept, AppError> {
    let now = now.naive_utc();
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
        let recorded = deadline_misses::table
            .select((deadline_misses::dispute_id, deadline_misses::rung))
            .load::<(String, String)>(conn)?
            .into_iter()
            .map(|(d, r)| Ok((d, parse(&r)?)))
            .collect::<Result<BTreeSet<_>, AppError>>()?;
        let actor = sweeper_actor();
        let mut out = Swept::default();
        for m in misses(policies, &open, &recorded, now) {
            let missed = Event::DeadlineMissed {
                rung: m.rung,
                due_at: format_due(&m.due_at),
            };
            store::record(conn, &m.dispute_id, &actor, &missed, json!({}))?;
            out.missed += 1;
            tracing::info!(dispute = %m.dispute_id, rung = %m.rung, due_at = %format_due(&m.due_at), "deadline missed");
            if let Some(to) = m.escalate_to {
                let up = Event::Escalated {
                    from: m.rung,
                    to,
                    rule: Some(AUTO_ESCALATE_RULE.into()),
                };
                store::record(conn, &m.dispute_id, &actor, &up, json!({}))?;
                out.escalated += 1;
                tracing::info!(dispute = %m.dispute_id, from = %m.rung, %to, "escalated on a missed deadline");
            }
        }
        Ok(out)
    })
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
            calendar(),
            &rule(Rung::from_static("agencies")),
            false,
            at(2026, 8, 28, 10, 30),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2026-09-07T17:00:00Z");
        assert_eq!(src, Source::Feed);
        // Urgent: 2 h on Friday, 6 h from Tuesday 09:00.
        let (due, _) = due_at_with(
            calendar(),
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
            calendar(),
            &rule(Rung::from_static("slg")),
            false,
            at(2026, 12, 24, 16, 0),
        )
        .expect("target");
        assert_eq!(format_due(&due), "2027-01-05T17:00:00Z");
        let (due, _) = due_at_with(
            calendar(),
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
            calendar(),
            &rule(Rung::from_static("agencies")),
            false,
            at(2031, 3, 3, 9, 0),
        )
        .expect("target");
        assert_eq!(src, Source::Computed);
        assert!(due_at_with(
            calendar(),
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
}
