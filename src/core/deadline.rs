//! Deadlines as pure functions: a rung's target (in
//! [`crate::core::ladder::RungRule`]) turned into a `due_at` on a given
//! [`Calendar`], whether an open dispute is past it ([`misses`]) or near it
//! ([`approaching`]). The service records what these decide.
//!
//! Every time here is an instant in UTC (the `NaiveDateTime`s are the
//! ledger's UTC times); working time is counted in London wall time by
//! [`Calendar::working_hours_after`] and [`Calendar::close_after_working_days`],
//! across both clock changes. So a five-working-day deadline in summer falls
//! at 17:00 BST, shown and recorded as `16:00:00Z`. A `due_at` is shown in UTC (`Z`).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

use crate::core::calendar::{london_date, Calendar, Source};
use crate::core::ladder::{Policy, Rung, RungRule, Status};

/// `due_at` as shown and recorded: UTC, RFC 3339, whole seconds.
pub fn format_due(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What a deadline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// 17:00 London time on the n-th working day after the London date started.
    WorkingDays(u32),
    /// n working hours (09:00 to 17:00 London time, on working days).
    WorkingHours(u32),
}

/// The instant a target counted from `from` falls due, whole seconds, or
/// `None` past chrono's last date. The one computation the service's
/// deadlines and `escalation-ledger calendar due` share.
pub fn due(cal: &Calendar, target: Target, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let due = match target {
        Target::WorkingDays(n) => cal.close_after_working_days(from, n)?,
        Target::WorkingHours(n) => cal.working_hours_after(from, n)?,
    };
    Some(due.with_nanosecond(0).unwrap_or(due))
}

/// The target a rung sets for a dispute: working hours when urgent and the
/// rung sets them, else working days; `None` when it sets neither.
pub fn target_of(rule: &RungRule, urgent: bool) -> Option<Target> {
    if urgent && rule.urgent_target_working_hours > 0 {
        Some(Target::WorkingHours(rule.urgent_target_working_hours))
    } else if rule.target_working_days > 0 {
        Some(Target::WorkingDays(rule.target_working_days))
    } else {
        None
    }
}

/// When a dispute entering this rung at `entered` (UTC) is due (UTC), and
/// whether the answer relied on computed rather than loaded holidays; `None`
/// when the rung has no target.
///
/// Urgent disputes count `urgent_target_working_hours` working hours
/// ([`Calendar::working_hours_after`]); others count `target_working_days`
/// working days after the London date entered
/// ([`Calendar::close_after_working_days`]) and are due at 17:00 London time
/// on the last of them.
pub fn due_at_with(
    cal: &Calendar,
    rule: &RungRule,
    urgent: bool,
    entered: NaiveDateTime,
) -> Option<(NaiveDateTime, Source)> {
    let from = entered.and_utc();
    let at = due(cal, target_of(rule, urgent)?, from)?;
    Some((
        at.naive_utc(),
        cal.source_between(london_date(from), london_date(at)),
    ))
}

/// [`Calendar::working_hours_after`] on the ledger's naive UTC times.
fn hours_after(cal: &Calendar, t: NaiveDateTime, hours: u32) -> Option<NaiveDateTime> {
    cal.working_hours_after(t.and_utc(), hours)
        .map(|t| t.naive_utc())
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
pub fn due_of(cal: &Calendar, policies: &[Arc<Policy>], d: &Open) -> Option<NaiveDateTime> {
    if d.status != Status::Open {
        return None;
    }
    let policy = policies.iter().find(|p| p.version == d.policy)?;
    due_at_with(cal, policy.rule(d.rung)?, d.urgent, d.rung_entered_at).map(|(due, _)| due)
}

/// Open, with a target, and past it at `now`.
pub fn is_overdue(cal: &Calendar, policies: &[Arc<Policy>], d: &Open, now: NaiveDateTime) -> bool {
    due_of(cal, policies, d).is_some_and(|due| now > due)
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
    cal: &Calendar,
    policies: &[Arc<Policy>],
    open: &[Open],
    recorded: &BTreeSet<(String, Rung)>,
    now: NaiveDateTime,
) -> Vec<Miss> {
    open.iter()
        .filter(|d| !recorded.contains(&(d.id.clone(), d.rung)))
        .filter_map(|d| {
            let due = due_of(cal, policies, d).filter(|due| now > *due)?;
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
/// ([`Calendar::working_hours_after`]), so with the default 8 the warning goes
/// one working day ahead: at 17:00 London time on the Friday for a Monday
/// 17:00 deadline.
/// `lead_hours == 0` warns nobody. A rung whose whole target is no longer than
/// the lead (an urgent dispute's 8 working hours at the default) is not warned:
/// the notice that it entered the rung already says as much.
pub fn approaching(
    policies: &[Arc<Policy>],
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
    let Some(horizon) = hours_after(cal, now, lead_hours) else {
        return Vec::new();
    };
    open.iter()
        .filter(|d| {
            let key = (d.id.clone(), d.rung);
            !warned.contains(&key) && !missed.contains(&key)
        })
        .filter_map(|d| {
            let due = due_of(cal, policies, d)?;
            if now > due || horizon < due {
                return None;
            }
            let short = hours_after(cal, d.rung_entered_at, lead_hours).is_none_or(|t| t >= due);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ladder::Policy;
    use chrono::NaiveDate;

    /// The embedded GOV.UK feed: the calendar the service starts with.
    fn calendar() -> Calendar {
        Calendar::default_england()
    }

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
        // 17:00 BST on Monday 7 September.
        assert_eq!(format_due(&due), "2026-09-07T16:00:00Z");
        assert_eq!(src, Source::Feed);
        // Urgent, from 16:00 BST: 1 h on Friday, 7 h from Tuesday 09:00 BST.
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
    fn across_the_clock_changes() {
        let agencies = rule(Rung::from_static("agencies"));
        let due = |urgent, entered| {
            let (due, _) = due_at_with(&calendar(), &agencies, urgent, entered).expect("target");
            format_due(&due)
        };
        // Friday 23 October 2026, 16:00 BST; the clocks go back on Sunday:
        // 1 h on Friday, 7 h on Monday from 09:00 GMT.
        assert_eq!(due(true, at(2026, 10, 23, 15, 0)), "2026-10-26T16:00:00Z");
        // Five working days from the same Friday: Friday 30 October, 17:00 GMT.
        assert_eq!(due(false, at(2026, 10, 23, 15, 0)), "2026-10-30T17:00:00Z");
        // Good Friday 26 March 2027, 16:00 GMT, urgent: the clocks go forward
        // on Sunday, Easter Monday is off; Tuesday 30 March 09:00 to 17:00 BST.
        assert_eq!(due(true, at(2027, 3, 26, 16, 0)), "2027-03-30T16:00:00Z");
        // Five working days from Wednesday 24 March 2027 (GMT): Thu 25,
        // (Good Friday), Tue 30, Wed 31, Thu 1, Fri 2 April at 17:00 BST.
        assert_eq!(due(false, at(2027, 3, 24, 12, 0)), "2027-04-02T16:00:00Z");
        assert_eq!(target_of(&agencies, true), Some(Target::WorkingHours(8)));
        assert_eq!(target_of(&agencies, false), Some(Target::WorkingDays(5)));
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
        // Due 17:00 BST = 16:00 UTC.
        assert!(misses(&calendar(), &ps, &d, &none, at(2026, 9, 7, 16, 0)).is_empty());
        let m = misses(&calendar(), &ps, &d, &none, at(2026, 9, 7, 16, 1));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].escalate_to, Some(Rung::from_static("slg")));
        assert_eq!(m[1].escalate_to, None);
        let done: BTreeSet<_> = [("a".to_string(), Rung::from_static("agencies"))].into();
        let m = misses(&calendar(), &ps, &d, &done, at(2026, 9, 8, 0, 0));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].dispute_id, "b");
    }

    #[test]
    fn a_warning_goes_one_working_day_ahead_once() {
        let ps = [std::sync::Arc::new(Policy::krscp())];
        let cal = calendar();
        // Due Monday 7 September 2026 at 17:00 BST, 16:00 UTC (see above).
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
            warn(at(2026, 9, 4, 15, 59), 8).is_empty(),
            "9 working hours left"
        );
        // 17:00 BST on the Friday.
        let w = warn(at(2026, 9, 4, 16, 0), 8);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].dispute_id, "a");
        assert_eq!(format_due(&w[0].due_at), "2026-09-07T16:00:00Z");
        // The weekend and Monday morning: still within the lead, not yet past due.
        assert_eq!(warn(at(2026, 9, 5, 12, 0), 8).len(), 1);
        assert_eq!(warn(at(2026, 9, 7, 16, 0), 8).len(), 1);
        // Past due: a miss, not a warning.
        assert!(warn(at(2026, 9, 7, 16, 1), 8).is_empty());
        // Lead 0 warns nobody; a longer lead warns earlier.
        assert!(warn(at(2026, 9, 7, 12, 0), 0).is_empty());
        assert_eq!(warn(at(2026, 9, 3, 16, 0), 16).len(), 1);
        assert!(warn(at(2026, 9, 3, 15, 0), 16).is_empty());
        // Once warned, or once missed, on that rung: never again.
        let done: BTreeSet<_> = [("a".to_string(), Rung::from_static("agencies"))].into();
        assert!(approaching(&ps, &cal, &d, &done, &none, at(2026, 9, 7, 9, 0), 8).is_empty());
        assert!(approaching(&ps, &cal, &d, &none, &done, at(2026, 9, 7, 9, 0), 8).is_empty());
    }
}
