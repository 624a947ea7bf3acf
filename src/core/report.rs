//! Escalation figures for the annual report (seed 9.1), as a pure function of
//! the ledger: entries in, [`Figures`] out. Pure: no clock, no I/O.
//!
//! `GET /v1/reports/escalations` (through `service::reports`) and the offline
//! `escalation-ledger report --bundle DIR` both feed the same entries, in `seq`
//! order, to a [`Tally`] and print [`Figures::canonical`] (RFC 8785), so the
//! same ledger size gives the same bytes.
//!
//! # What the figures read
//! Only each entry's `seq`, `recorded_at`, `dispute_id`, `event` and `facts`:
//! never payloads (free text, erasable) and never actors. Entries recorded
//! after the period's last day are ignored, so a report on a closed period
//! does not change as the ledger grows (except for `ledger`, which names the
//! checkpoint it was computed over).
//!
//! # Dates and the calendar
//! - A period is two London dates, inclusive. An entry's date is its UTC
//!   `recorded_at` turned into a `Europe/London` date (`chrono-tz`), so an entry
//!   at 23:30 UTC on a summer day counts on the next London day.
//! - Working days are counted with [`Calendar::default_england`], the bank
//!   holidays of England and Wales embedded in the binary (`assets/bank-holidays.json`,
//!   statutory rules beyond its years), never the feed in use by `serve` (which an
//!   administrator may replace at run time). The ledger records no holidays, and
//!   the figures must not depend on anything outside the ledger and the release
//!   that computes them; the feed's SHA-256 is printed as `calendar.feed_sha256`
//!   so a reader knows exactly which dates were skipped. A dispute raised on day
//!   `a` and closed on day `b` took the working days in `(a, b]`
//!   ([`Calendar::working_days_between`]): 0 when closed the same day.
//!
//! # The members (the issue's list; "the cohort" = disputes raised in the period)
//! - `period {from, to}`, `audience`, `suppress_below`, `calendar {feed_sha256}`.
//! - `ledger {size, root, checkpoint}`: the log-signed checkpoint note (the log's
//!   own signature lines only, so cosignatures gathered later do not change the
//!   bytes; `GET /v1/ledger/checkpoint/witnessed` gives them), its size and its
//!   root hash in lowercase hex.
//! - `policies`: every `policy_activated` entry in force during the period: the
//!   last one recorded before `from`, then each one recorded in the period, in
//!   `seq` order, as `{version, sha256, activated_at}`.
//! - `raised`; `by_entry_rung` (the `raised` entry's rung); `highest_rung_reached`
//!   (the rung the dispute was last put on by `raised`, `escalated` or
//!   `policy_migrated` by the end of the period: escalation only ever climbs one
//!   rung, and a migration re-places the dispute on another ladder);
//!   `outcome {resolved: {rung at resolution: n}, withdrawn, open}`;
//!   `working_days_to_close {count, median, p90, max}` over the cohort's
//!   disputes resolved or withdrawn by the end of the period, percentiles by
//!   nearest rank (the value at rank ⌈p·n/100⌉ of the sorted days, so always a
//!   whole number some dispute took; `null` when `count` is 0); `urgent` and
//!   `whistleblowing` (the cohort's `raised` facts); `auto_escalated` (the
//!   cohort's `escalated` entries with rule `auto_escalate_on_deadline` up to
//!   the end of the period).
//! - Counted over entries recorded in the period, whatever the dispute:
//!   `deadline_missed {rung: n}`, `escalations {"from->to": n}` (by people and
//!   by the sweeper), `reviews {requested, accepted, declined, findings_recorded}`,
//!   `mediations {opened, closed, outside_ladder}` (`outside_ladder`: opened in
//!   the period with `ladder: false`), `recommendations {issued, accepted,
//!   not_accepted}` (issued; SLG responses recorded, by `accepted`).
//! - `recommendations {awaiting_response, overdue}` are as of the end of the
//!   period, over every recommendation issued by then: unanswered and not yet
//!   past due, or unanswered with `response_due` on or before the period's last
//!   day (it was due by the end of that day). The two are disjoint.
//!   `recommendations.list` names each recommendation any of these counts:
//!   `{id, issued_on, response_due, status}`, status as of the end of the period
//!   (`accepted`, `not_accepted`, `awaiting_response`, `overdue`). Themes are left
//!   out: a recommendation's theme is in its payload only (with its text), and
//!   the figures never read payloads, which may be erased.
//! - Maps list only keys with a count of 1 or more; an absent key is 0.
//!
//! # Disclosure control
//! With `audience = public`, every count from 1 to `suppress_below - 1`
//! becomes `null` and its path (dot-separated, e.g. `outcome.resolved.slg`,
//! `escalations.agencies->slg`) is listed in `suppressed`, sorted. Zero is
//! never suppressed. `median`, `p90` and `max` describe single disputes when
//! few closed, so they are withheld with `working_days_to_close.count`; the
//! recommendation list is withheld (`recommendations.list`) when any
//! recommendation count is, since its length would give them away. No other
//! secondary (complementary) suppression is done: a reader may still derive a
//! suppressed cell from a total and its other cells (e.g. `raised` minus the
//! other outcomes). `ledger.size` and the policies are not counts of cases.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::London;
use serde::Serialize;
use serde_json::Value;

use crate::core::calendar::{Calendar, DEFAULT_FEED};

use crate::core::checkpoint::Checkpoint;
use crate::core::ladder::{Event, AUTO_ESCALATE_RULE};
use crate::core::ledger::{canonical_json, event_of, format_time, sha256, Entry};
use crate::core::note::Note;

/// Counts from 1 to this minus one are suppressed in a public report, unless
/// `REPORT_SUPPRESS_BELOW` says otherwise.
pub const DEFAULT_SUPPRESS_BELOW: u64 = 5;

/// Who the report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The partners: every count as it is.
    Internal,
    /// The published report: small counts suppressed.
    Public,
}

impl FromStr for Audience {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "internal" => Ok(Audience::Internal),
            "public" => Ok(Audience::Public),
            other => Err(format!(
                "audience must be internal or public, not '{other}'"
            )),
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Audience::Internal => "internal",
            Audience::Public => "public",
        })
    }
}

/// Two London dates, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// From `YYYY-MM-DD` texts; refused if either is not a date or `from > to`.
    pub fn parse(from: &str, to: &str) -> Result<Period, String> {
        let date =
            |field: &str, s: &str| crate::core::input::date(field, s).map_err(|e| e.to_string());
        let (from, to) = (date("from", from)?, date("to", to)?);
        if from > to {
            return Err(format!("from ({from}) is after to ({to})"));
        }
        Ok(Period { from, to })
    }

    fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// How the report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub period: Period,
    pub audience: Audience,
    pub suppress_below: u64,
}

/// The London date of a ledger time (UTC).
pub fn london_date(t: &NaiveDateTime) -> NaiveDate {
    London.from_utc_datetime(t).date_naive()
}

/// A count; `null` once suppressed.
pub type Count = Option<u64>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodView {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarView {
    /// SHA-256 (hex) of the embedded bank holiday feed the working days skip.
    pub feed_sha256: String,
}

/// The checkpoint the figures were computed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRef {
    pub size: u64,
    /// The Merkle root at `size`, lowercase hex.
    pub root: String,
    /// The signed checkpoint note, with the log's own signature lines only.
    pub checkpoint: String,
}

impl LedgerRef {
    /// From a signed checkpoint note: keeps the signature lines of the key
    /// named as the checkpoint's origin (the log's), drops witness cosignatures.
    pub fn from_note(note: &str) -> Result<LedgerRef, String> {
        let parsed = Note::parse(note).map_err(|e| format!("checkpoint note: {e}"))?;
        let cp = Checkpoint::parse(parsed.text()).map_err(|e| format!("checkpoint: {e}"))?;
        let mut text = format!("{}\n", parsed.text());
        let mut any = false;
        for s in parsed
            .signatures()
            .iter()
            .filter(|s| s.name() == cp.origin())
        {
            text.push_str(&s.to_line());
            any = true;
        }
        if !any {
            return Err("the checkpoint note has no signature by the log".into());
        }
        Ok(LedgerRef {
            size: cp.size(),
            root: hex::encode(cp.root_hash()),
            checkpoint: text,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyInForce {
    pub version: String,
    pub sha256: String,
    /// The `policy_activated` entry's `recorded_at`.
    pub activated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// By the rung the dispute was on when resolved.
    pub resolved: BTreeMap<String, Count>,
    pub withdrawn: Count,
    pub open: Count,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Days {
    pub count: Count,
    pub median: Option<i64>,
    pub p90: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviews {
    pub requested: Count,
    pub accepted: Count,
    pub declined: Count,
    pub findings_recorded: Count,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mediations {
    pub opened: Count,
    pub closed: Count,
    pub outside_ladder: Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    Accepted,
    NotAccepted,
    AwaitingResponse,
    Overdue,
}

/// One recommendation: ids, dates and status, never its text or theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecommendationLine {
    pub id: String,
    pub issued_on: String,
    pub response_due: String,
    pub status: ResponseStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendations {
    pub issued: Count,
    pub accepted: Count,
    pub not_accepted: Count,
    pub awaiting_response: Count,
    pub overdue: Count,
    /// `null` when withheld by disclosure control.
    pub list: Option<Vec<RecommendationLine>>,
}

/// The escalation section of the annual report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub period: PeriodView,
    pub audience: Audience,
    pub suppress_below: u64,
    pub calendar: CalendarView,
    pub ledger: LedgerRef,
    pub policies: Vec<PolicyInForce>,
    pub raised: Count,
    pub by_entry_rung: BTreeMap<String, Count>,
    pub highest_rung_reached: BTreeMap<String, Count>,
    pub outcome: Outcome,
    pub working_days_to_close: Days,
    pub urgent: Count,
    pub whistleblowing: Count,
    pub deadline_missed: BTreeMap<String, Count>,
    pub auto_escalated: Count,
    pub escalations: BTreeMap<String, Count>,
    pub reviews: Reviews,
    pub mediations: Mediations,
    pub recommendations: Recommendations,
    /// Paths of the counts set to `null` by disclosure control, sorted.
    pub suppressed: Vec<String>,
}

impl Figures {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The RFC 8785 text both the endpoint and the offline command print.
    pub fn canonical(&self) -> Result<String, String> {
        canonical_json(&self.to_value())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Resolved,
    Withdrawn,
}

/// A cohort dispute as it stood at the end of the period.
#[derive(Debug, Clone)]
struct Case {
    raised_on: NaiveDate,
    entry: String,
    rung: String,
    highest: String,
    state: State,
    closed_on: Option<NaiveDate>,
    urgent: bool,
    whistleblowing: bool,
    auto_escalated: u64,
}

#[derive(Debug, Clone)]
struct Rec {
    issued_on: NaiveDate,
    response_due: String,
    response: Option<(NaiveDate, bool)>,
}

/// The figures being gathered, fed the entries in `seq` order.
#[derive(Debug, Clone)]
pub struct Tally {
    opts: Options,
    /// `policy_activated` entries before the period, the last one wins.
    policy_before: Option<PolicyInForce>,
    policies_in: Vec<PolicyInForce>,
    cases: BTreeMap<String, Case>,
    deadline_missed: BTreeMap<String, u64>,
    escalations: BTreeMap<String, u64>,
    reviews: [u64; 4],
    mediations: [u64; 3],
    recs: BTreeMap<String, Rec>,
    /// Recommendation ids in issue order.
    rec_order: Vec<String>,
    issued: u64,
    accepted: u64,
    not_accepted: u64,
}

fn fact_str<'a>(e: &'a Entry, k: &str) -> Result<&'a str, String> {
    e.facts
        .get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("entry {}: '{}' without a '{k}'", e.seq, e.event))
}

fn fact_bool(e: &Entry, k: &str) -> Result<bool, String> {
    e.facts
        .get(k)
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("entry {}: '{}' without a '{k}'", e.seq, e.event))
}

impl Tally {
    pub fn new(opts: Options) -> Self {
        Tally {
            opts,
            policy_before: None,
            policies_in: Vec::new(),
            cases: BTreeMap::new(),
            deadline_missed: BTreeMap::new(),
            escalations: BTreeMap::new(),
            reviews: [0; 4],
            mediations: [0; 3],
            recs: BTreeMap::new(),
            rec_order: Vec::new(),
            issued: 0,
            accepted: 0,
            not_accepted: 0,
        }
    }

    /// Take one entry into account; an error names an entry whose facts the
    /// figures cannot read (a ledger `verify` or `audit` would refuse too).
    pub fn feed(&mut self, e: &Entry) -> Result<(), String> {
        let day = london_date(&e.recorded_at);
        if day > self.opts.period.to {
            return Ok(());
        }
        let in_period = self.opts.period.contains(day);
        match e.event.as_str() {
            "policy_activated" => {
                let p = PolicyInForce {
                    version: fact_str(e, "version")?.to_string(),
                    sha256: fact_str(e, "sha256")?.to_string(),
                    activated_at: format_time(&e.recorded_at),
                };
                if in_period {
                    self.policies_in.push(p);
                } else {
                    self.policy_before = Some(p);
                }
            }
            "raised" | "escalated" | "resolved" | "withdrawn" | "policy_migrated"
            | "deadline_missed" => self.dispute_event(e, day, in_period)?,
            "review_requested"
            | "review_accepted"
            | "review_declined"
            | "review_findings_recorded"
                if in_period =>
            {
                let i = match e.event.as_str() {
                    "review_requested" => 0,
                    "review_accepted" => 1,
                    "review_declined" => 2,
                    _ => 3,
                };
                self.reviews[i] += 1;
            }
            "mediation_opened" if in_period => {
                self.mediations[0] += 1;
                if !fact_bool(e, "ladder")? {
                    self.mediations[2] += 1;
                }
            }
            "mediation_closed" if in_period => self.mediations[1] += 1,
            "recommendation_issued" => {
                let id = fact_str(e, "recommendation_id")?.to_string();
                let response_due = fact_str(e, "response_due")?.to_string();
                if in_period {
                    self.issued += 1;
                }
                self.rec_order.push(id.clone());
                self.recs.insert(
                    id,
                    Rec {
                        issued_on: day,
                        response_due,
                        response: None,
                    },
                );
            }
            "recommendation_response_recorded" => {
                let id = fact_str(e, "recommendation_id")?;
                let accepted = fact_bool(e, "accepted")?;
                if in_period {
                    if accepted {
                        self.accepted += 1;
                    } else {
                        self.not_accepted += 1;
                    }
                }
                if let Some(r) = self.recs.get_mut(id) {
                    r.response = Some((day, accepted));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispute_event(&mut self, e: &Entry, day: NaiveDate, in_period: bool) -> Result<(), String> {
        let ev = event_of(e).map_err(|m| format!("entry {}: {m}", e.seq))?;
        let id = e.dispute_id.clone().unwrap_or_default();
        match &ev {
            Event::Escalated { from, to, .. } if in_period => {
                *self.escalations.entry(format!("{from}->{to}")).or_default() += 1;
            }
            Event::DeadlineMissed { rung, .. } if in_period => {
                *self.deadline_missed.entry(rung.to_string()).or_default() += 1;
            }
            _ => {}
        }
        if let Event::Raised {
            rung,
            urgent,
            whistleblowing,
            ..
        } = &ev
        {
            if in_period {
                self.cases.insert(
                    id,
                    Case {
                        raised_on: day,
                        entry: rung.to_string(),
                        rung: rung.to_string(),
                        highest: rung.to_string(),
                        state: State::Open,
                        closed_on: None,
                        urgent: *urgent,
                        whistleblowing: *whistleblowing,
                        auto_escalated: 0,
                    },
                );
            }
            return Ok(());
        }
        let Some(c) = self.cases.get_mut(&id) else {
            return Ok(());
        };
        match ev {
            Event::Escalated { to, rule, .. } => {
                c.rung = to.to_string();
                c.highest = to.to_string();
                if rule.as_deref() == Some(AUTO_ESCALATE_RULE) {
                    c.auto_escalated += 1;
                }
            }
            Event::PolicyMigrated { rung, .. } => {
                c.rung = rung.to_string();
                c.highest = rung.to_string();
            }
            Event::Resolved { .. } => {
                c.state = State::Resolved;
                c.closed_on = Some(day);
            }
            Event::Withdrawn => {
                c.state = State::Withdrawn;
                c.closed_on = Some(day);
            }
            _ => {}
        }
        Ok(())
    }

    /// The figures, bound to the checkpoint `ledger` they were computed over.
    pub fn finish(self, ledger: LedgerRef, cal: &Calendar) -> Figures {
        let Tally { opts, .. } = self;
        let n = |v: u64| Some(v);
        let map = |m: BTreeMap<String, u64>| -> BTreeMap<String, Count> {
            // Every key was counted at least once: no zeros to leave out.
            m.into_iter().map(|(k, v)| (k, Some(v))).collect()
        };
        let mut by_entry = BTreeMap::new();
        let mut highest = BTreeMap::new();
        let mut resolved = BTreeMap::new();
        let (mut withdrawn, mut open, mut urgent, mut wb, mut auto) = (0, 0, 0, 0, 0);
        let mut days: Vec<i64> = Vec::new();
        for c in self.cases.values() {
            *by_entry.entry(c.entry.clone()).or_default() += 1;
            *highest.entry(c.highest.clone()).or_default() += 1;
            match c.state {
                State::Open => open += 1,
                State::Resolved => *resolved.entry(c.rung.clone()).or_default() += 1,
                State::Withdrawn => withdrawn += 1,
            }
            if let Some(closed) = c.closed_on {
                days.push(cal.working_days_between(c.raised_on, closed));
            }
            urgent += u64::from(c.urgent);
            wb += u64::from(c.whistleblowing);
            auto += c.auto_escalated;
        }
        days.sort_unstable();
        let rank = |p: usize| -> Option<i64> {
            if days.is_empty() {
                return None;
            }
            let r = (p * days.len()).div_ceil(100).max(1);
            days.get(r - 1).copied()
        };
        let to = opts.period.to;
        let (mut awaiting, mut overdue) = (0, 0);
        let mut list = Vec::new();
        for id in &self.rec_order {
            let Some(r) = self.recs.get(id) else { continue };
            let issued_in = opts.period.contains(r.issued_on);
            let responded_in = r.response.is_some_and(|(d, _)| opts.period.contains(d));
            let status = match r.response {
                Some((_, true)) => ResponseStatus::Accepted,
                Some((_, false)) => ResponseStatus::NotAccepted,
                None => {
                    let past_due = NaiveDate::parse_from_str(&r.response_due, "%Y-%m-%d")
                        .is_ok_and(|due| due <= to);
                    if past_due {
                        overdue += 1;
                        ResponseStatus::Overdue
                    } else {
                        awaiting += 1;
                        ResponseStatus::AwaitingResponse
                    }
                }
            };
            let unanswered = r.response.is_none();
            if issued_in || responded_in || unanswered {
                list.push(RecommendationLine {
                    id: id.clone(),
                    issued_on: r.issued_on.format("%Y-%m-%d").to_string(),
                    response_due: r.response_due.clone(),
                    status,
                });
            }
        }
        let policies = self
            .policy_before
            .into_iter()
            .chain(self.policies_in)
            .collect();
        let mut f = Figures {
            period: PeriodView {
                from: opts.period.from.format("%Y-%m-%d").to_string(),
                to: to.format("%Y-%m-%d").to_string(),
            },
            audience: opts.audience,
            suppress_below: opts.suppress_below,
            calendar: CalendarView {
                feed_sha256: hex::encode(sha256(DEFAULT_FEED.as_bytes())),
            },
            ledger,
            policies,
            raised: n(self.cases.len() as u64),
            by_entry_rung: map(by_entry),
            highest_rung_reached: map(highest),
            outcome: Outcome {
                resolved: map(resolved),
                withdrawn: n(withdrawn),
                open: n(open),
            },
            working_days_to_close: Days {
                count: n(days.len() as u64),
                median: rank(50),
                p90: rank(90),
                max: days.last().copied(),
            },
            urgent: n(urgent),
            whistleblowing: n(wb),
            deadline_missed: map(self.deadline_missed),
            auto_escalated: n(auto),
            escalations: map(self.escalations),
            reviews: Reviews {
                requested: n(self.reviews[0]),
                accepted: n(self.reviews[1]),
                declined: n(self.reviews[2]),
                findings_recorded: n(self.reviews[3]),
            },
            mediations: Mediations {
                opened: n(self.mediations[0]),
                closed: n(self.mediations[1]),
                outside_ladder: n(self.mediations[2]),
            },
            recommendations: Recommendations {
                issued: n(self.issued),
                accepted: n(self.accepted),
                not_accepted: n(self.not_accepted),
                awaiting_response: n(awaiting),
                overdue: n(overdue),
                list: Some(list),
            },
            suppressed: Vec::new(),
        };
        if opts.audience == Audience::Public {
            suppress(&mut f, opts.suppress_below);
        }
        f
    }
}

/// Disclosure control (see the module doc).
fn suppress(f: &mut Figures, below: u64) {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut hide = |c: &mut Count, path: &str| -> bool {
        match *c {
            Some(v) if v >= 1 && v < below => {
                *c = None;
                out.insert(path.to_string());
                true
            }
            _ => false,
        }
    };
    hide(&mut f.raised, "raised");
    for (name, m) in [
        ("by_entry_rung", &mut f.by_entry_rung),
        ("highest_rung_reached", &mut f.highest_rung_reached),
        ("outcome.resolved", &mut f.outcome.resolved),
        ("deadline_missed", &mut f.deadline_missed),
        ("escalations", &mut f.escalations),
    ] {
        for (k, v) in m.iter_mut() {
            hide(v, &format!("{name}.{k}"));
        }
    }
    hide(&mut f.outcome.withdrawn, "outcome.withdrawn");
    hide(&mut f.outcome.open, "outcome.open");
    let d = &mut f.working_days_to_close;
    let few_closed = hide(&mut d.count, "working_days_to_close.count");
    hide(&mut f.urgent, "urgent");
    hide(&mut f.whistleblowing, "whistleblowing");
    hide(&mut f.auto_escalated, "auto_escalated");
    let r = &mut f.reviews;
    hide(&mut r.requested, "reviews.requested");
    hide(&mut r.accepted, "reviews.accepted");
    hide(&mut r.declined, "reviews.declined");
    hide(&mut r.findings_recorded, "reviews.findings_recorded");
    let m = &mut f.mediations;
    hide(&mut m.opened, "mediations.opened");
    hide(&mut m.closed, "mediations.closed");
    hide(&mut m.outside_ladder, "mediations.outside_ladder");
    let r = &mut f.recommendations;
    let mut any = false;
    any |= hide(&mut r.issued, "recommendations.issued");
    any |= hide(&mut r.accepted, "recommendations.accepted");
    any |= hide(&mut r.not_accepted, "recommendations.not_accepted");
    any |= hide(
        &mut r.awaiting_response,
        "recommendations.awaiting_response",
    );
    any |= hide(&mut r.overdue, "recommendations.overdue");
    if few_closed {
        let d = &mut f.working_days_to_close;
        for (v, name) in [
            (&mut d.median, "median"),
            (&mut d.p90, "p90"),
            (&mut d.max, "max"),
        ] {
            *v = None;
            out.insert(format!("working_days_to_close.{name}"));
        }
    }
    if any {
        f.recommendations.list = None;
        out.insert("recommendations.list".into());
    }
    f.suppressed = out.into_iter().collect();
}

/// The figures over `entries` (in `seq` order), bound to `ledger`.
pub fn figures<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    opts: Options,
    ledger: LedgerRef,
    cal: &Calendar,
) -> Result<Figures, String> {
    let mut t = Tally::new(opts);
    for e in entries {
        t.feed(e)?;
    }
    Ok(t.finish(ledger, cal))
}

/// The sections of the CSV rendering, in order.
const SECTIONS: &[&str] = &[
    "period",
    "audience",
    "suppress_below",
    "calendar",
    "ledger",
    "policies",
    "raised",
    "by_entry_rung",
    "highest_rung_reached",
    "outcome",
    "working_days_to_close",
    "urgent",
    "whistleblowing",
    "deadline_missed",
    "auto_escalated",
    "escalations",
    "reviews",
    "mediations",
    "recommendations",
    "recommendations.list",
    "suppressed",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => csv_field(s),
        other => csv_field(&other.to_string()),
    }
}

fn flatten(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if prefix.is_empty() && k == "list" {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, rows);
            }
        }
        other => rows.push((prefix.to_string(), csv_scalar(other))),
    }
}

/// One CSV table per section, separated by blank lines: a list (`policies`,
/// `recommendations.list`, `suppressed`) has one row per item under its
/// members' names; every other section has `section,item,value` rows, the item
/// being the member's path inside the section (empty for a bare count). A
/// suppressed count is an empty cell (and named in `suppressed`).
pub fn to_csv(f: &Figures) -> String {
    let v = f.to_value();
    let mut out = String::new();
    for (i, section) in SECTIONS.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let node = match *section {
            "recommendations.list" => v.pointer("/recommendations/list"),
            s => v.get(s),
        }
        .cloned()
        .unwrap_or(Value::Null);
        match node {
            Value::Array(items) => {
                let cols: Vec<String> = match items.first() {
                    Some(Value::Object(m)) => m.keys().cloned().collect(),
                    _ => vec!["value".into()],
                };
                out.push_str(&format!("section,{}\r\n", cols.join(",")));
                for item in &items {
                    let cells: Vec<String> = match item {
                        Value::Object(m) => cols
                            .iter()
                            .map(|c| csv_scalar(m.get(c).unwrap_or(&Value::Null)))
                            .collect(),
                        other => vec![csv_scalar(other)],
                    };
                    out.push_str(&format!("{},{}\r\n", csv_field(section), cells.join(",")));
                }
            }
            other => {
                out.push_str("section,item,value\r\n");
                let mut rows = Vec::new();
                flatten("", &other, &mut rows);
                for (item, value) in rows {
                    out.push_str(&format!(
                        "{},{},{value}\r\n",
                        csv_field(section),
                        csv_field(&item)
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ladder::{Actor, Role};
    use crate::core::ledger::ZERO_HASH;
    use proptest::prelude::*;
    use serde_json::json;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 4, 1)
            .unwrap()
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    fn entry(seq: i64, t: NaiveDateTime, dispute: Option<&str>, ev: &str, facts: Value) -> Entry {
        Entry {
            seq,
            recorded_at: t,
            dispute_id: dispute.map(str::to_string),
            event: ev.into(),
            actor: Actor {
                sub: "s".into(),
                role: Role::Agency,
                agency: None,
                partner: None,
            },
            facts,
            payload_hash: ZERO_HASH,
            prev_hash: ZERO_HASH,
            entry_hash: ZERO_HASH,
        }
    }

    fn raised(rung: &str) -> Value {
        json!({"policy": "krscp-2024-02", "rung": rung, "parties": ["a", "b"],
               "urgent": false, "complex": false})
    }

    fn ledger() -> LedgerRef {
        LedgerRef {
            size: 0,
            root: String::new(),
            checkpoint: String::new(),
        }
    }

    fn opts(audience: Audience) -> Options {
        Options {
            period: Period::parse("2025-04-01", "2026-03-31").unwrap(),
            audience,
            suppress_below: DEFAULT_SUPPRESS_BELOW,
        }
    }

    #[test]
    fn periods_are_strict_and_ordered() {
        assert!(Period::parse("2025-04-01", "2025-04-01").is_ok());
        assert!(Period::parse("2025-04-02", "2025-04-01").is_err());
        assert!(Period::parse("2025-4-1", "2025-04-30").is_err());
        assert!(Period::parse("2025-04-01", "2025-02-30").is_err());
        assert!("everyone".parse::<Audience>().is_err());
    }

    #[test]
    fn london_dates_follow_summer_time() {
        // 23:30 UTC on 1 July is 00:30 on 2 July in London; in January it is the same day.
        let summer = NaiveDate::from_ymd_opt(2025, 7, 1)
            .unwrap()
            .and_hms_opt(23, 30, 0)
            .unwrap();
        assert_eq!(
            london_date(&summer),
            NaiveDate::from_ymd_opt(2025, 7, 2).unwrap()
        );
        let winter = NaiveDate::from_ymd_opt(2025, 1, 1)
            .unwrap()
            .and_hms_opt(23, 30, 0)
            .unwrap();
        assert_eq!(
            london_date(&winter),
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
        );
    }

    #[test]
    fn a_small_year() {
        let es = vec![
            entry(
                0,
                at(0, 10),
                None,
                "policy_activated",
                json!({"version": "krscp-2024-02", "sha256": "ab"}),
            ),
            entry(1, at(1, 10), Some("d1"), "raised", raised("agencies")),
            entry(
                2,
                at(2, 10),
                Some("d1"),
                "escalated",
                json!({"from": "agencies", "to": "slg"}),
            ),
            entry(
                3,
                at(8, 10),
                Some("d1"),
                "resolved",
                json!({"proposal_id": "p"}),
            ),
            entry(4, at(9, 10), Some("d2"), "raised", raised("slg")),
            entry(5, at(10, 10), Some("d2"), "withdrawn", json!({})),
            entry(6, at(11, 10), Some("d3"), "raised", raised("agencies")),
            entry(
                7,
                at(20, 10),
                Some("d3"),
                "deadline_missed",
                json!({"rung": "agencies", "due_at": "x"}),
            ),
            entry(
                8,
                at(20, 10),
                Some("d3"),
                "escalated",
                json!({"from": "agencies", "to": "slg", "rule": AUTO_ESCALATE_RULE}),
            ),
            entry(
                9,
                at(30, 10),
                None,
                "recommendation_issued",
                json!({"recommendation_id": "r1", "response_due": "2025-05-01"}),
            ),
            entry(
                10,
                at(31, 10),
                None,
                "recommendation_issued",
                json!({"recommendation_id": "r2", "response_due": "2027-01-01"}),
            ),
            entry(
                11,
                at(32, 10),
                None,
                "recommendation_response_recorded",
                json!({"recommendation_id": "r2", "accepted": true}),
            ),
            entry(
                12,
                at(400, 10),
                Some("d3"),
                "resolved",
                json!({"proposal_id": "q"}),
            ),
        ];
        let cal = Calendar::default_england();
        let f = figures(&es, opts(Audience::Internal), ledger(), &cal).unwrap();
        assert_eq!(f.raised, Some(3));
        assert_eq!(f.by_entry_rung["agencies"], Some(2));
        assert_eq!(f.highest_rung_reached["slg"], Some(3));
        assert_eq!(f.outcome.resolved["slg"], Some(1));
        assert_eq!((f.outcome.withdrawn, f.outcome.open), (Some(1), Some(1)));
        // d1: Wed 2 Apr → Wed 9 Apr = 5 working days; d2: Thu 10 → Fri 11 Apr = 1.
        assert_eq!(f.working_days_to_close.count, Some(2));
        assert_eq!(f.working_days_to_close.median, Some(1));
        assert_eq!(f.working_days_to_close.max, Some(5));
        assert_eq!(f.auto_escalated, Some(1));
        assert_eq!(f.escalations["agencies->slg"], Some(2));
        assert_eq!(f.deadline_missed["agencies"], Some(1));
        assert_eq!(f.recommendations.overdue, Some(1));
        assert_eq!(f.recommendations.accepted, Some(1));
        assert_eq!(f.recommendations.list.as_ref().map(Vec::len), Some(2));
        assert_eq!(f.policies.len(), 1);

        let p = figures(&es, opts(Audience::Public), ledger(), &cal).unwrap();
        assert_eq!(p.raised, None);
        assert!(p.suppressed.contains(&"raised".to_string()));
        assert!(p
            .suppressed
            .contains(&"escalations.agencies->slg".to_string()));
        assert_eq!(p.working_days_to_close.median, None);
        assert_eq!(p.recommendations.list, None);
        // Zero is not suppressed.
        assert_eq!(p.reviews.requested, Some(0));
        let csv = to_csv(&p);
        assert!(csv.contains("raised,,\r\n"), "{csv}");
    }

    #[test]
    fn an_audience_prints_as_it_is_parsed() {
        for a in [Audience::Internal, Audience::Public] {
            assert_eq!(a.to_string().parse::<Audience>(), Ok(a));
        }
        assert_eq!(Audience::Public.to_string(), "public");
    }

    /// The log's own signature lines are kept and a witness's dropped; a note
    /// the log did not sign is refused.
    #[test]
    fn the_ledger_reference_keeps_the_logs_signature_only() {
        use crate::core::checkpoint::Checkpoint;
        use crate::core::note::{sign_note, Signer};
        let origin = "example.org/ledger";
        let log = Signer::from_seed(origin, &[1; 32]).unwrap();
        let witness = Signer::from_seed("witness.example", &[2; 32]).unwrap();
        let text = Checkpoint::new(origin, 3, [7; 32]).unwrap().to_string();
        let both = sign_note(&text, &[&log, &witness]).unwrap();
        let r = LedgerRef::from_note(&both).unwrap();
        assert_eq!((r.size, r.root), (3, hex::encode([7u8; 32])));
        assert_eq!(r.checkpoint, sign_note(&text, &[&log]).unwrap());
        assert!(!r.checkpoint.contains("witness.example"));
        let theirs = sign_note(&text, &[&witness]).unwrap();
        assert_eq!(
            LedgerRef::from_note(&theirs),
            Err("the checkpoint note has no signature by the log".into())
        );
    }

    #[test]
    fn the_canonical_text_is_the_figures_in_rfc_8785_order() {
        let cal = Calendar::default_england();
        let f = figures(&[], opts(Audience::Internal), ledger(), &cal).unwrap();
        let v = f.to_value();
        assert_eq!(
            v["period"],
            json!({"from": "2025-04-01", "to": "2026-03-31"})
        );
        assert_eq!(v["raised"], json!(0));
        let text = f.canonical().unwrap();
        assert!(
            text.starts_with(r#"{"audience":"internal","auto_escalated":0,"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    /// The scrutineer's work is counted by kind, inside the period only: the
    /// day before it and the day after it are left out, its first and last
    /// days counted. Each kind has a different count, so none can pass for
    /// another.
    #[test]
    fn reviews_mediations_and_responses_count_inside_the_period() {
        let first = at(0, 10); // 1 April 2025, the period's first day
        let before = first - chrono::Days::new(1);
        let last = NaiveDate::from_ymd_opt(2026, 3, 31)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let after = last + chrono::Days::new(1);
        let mut es = Vec::new();
        let mut add = |t: NaiveDateTime, dispute: Option<&str>, ev: &str, facts: Value| {
            es.push(entry(es.len() as i64, t, dispute, ev, facts));
        };
        for (ev, n) in [
            ("review_requested", 1),
            ("review_accepted", 2),
            ("review_declined", 3),
            ("review_findings_recorded", 4),
        ] {
            for t in [before, after] {
                add(t, None, ev, json!({}));
            }
            for i in 0..n {
                add(if i == 0 { last } else { first }, None, ev, json!({}));
            }
        }
        for t in [before, first, last, after] {
            add(t, None, "mediation_opened", json!({"ladder": true}));
        }
        add(first, None, "mediation_opened", json!({"ladder": false}));
        for t in [before, last, last, after] {
            add(t, None, "mediation_closed", json!({}));
        }
        add(before, Some("d0"), "raised", raised("agencies"));
        add(
            before,
            Some("d0"),
            "escalated",
            json!({"from": "agencies", "to": "slg"}),
        );
        add(
            before,
            Some("d0"),
            "deadline_missed",
            json!({"rung": "slg", "due_at": "x"}),
        );
        add(
            last,
            Some("d0"),
            "escalated",
            json!({"from": "slg", "to": "statutory_partners"}),
        );
        let issued = [
            ("r0", before),
            ("r1", first),
            ("r2", first),
            ("r3", first),
            ("r4", before),
            ("r5", before),
        ];
        for (id, t) in issued {
            add(
                t,
                None,
                "recommendation_issued",
                json!({"recommendation_id": id, "response_due": "2027-01-01"}),
            );
        }
        for (t, id, accepted) in [
            (before, "r0", false),
            (last, "r1", false),
            (last, "r2", false),
            (last, "r3", true),
            (after, "r3", false),
            (last, "r4", true),
        ] {
            add(
                t,
                None,
                "recommendation_response_recorded",
                json!({"recommendation_id": id, "accepted": accepted}),
            );
        }
        let cal = Calendar::default_england();
        let f = figures(&es, opts(Audience::Internal), ledger(), &cal).unwrap();
        assert_eq!(
            f.reviews,
            Reviews {
                requested: Some(1),
                accepted: Some(2),
                declined: Some(3),
                findings_recorded: Some(4)
            }
        );
        assert_eq!(
            f.mediations,
            Mediations {
                opened: Some(3),
                closed: Some(2),
                outside_ladder: Some(1)
            }
        );
        // d0 was raised before the period: not in the cohort, and its
        // escalation and missed deadline before the period are not counted.
        assert_eq!(f.raised, Some(0));
        assert_eq!(f.escalations.len(), 1, "{:?}", f.escalations);
        assert_eq!(f.escalations["slg->statutory_partners"], Some(1));
        assert!(f.deadline_missed.is_empty(), "{:?}", f.deadline_missed);
        let r = &f.recommendations;
        assert_eq!(
            (r.issued, r.accepted, r.not_accepted),
            (Some(3), Some(2), Some(2))
        );
        // r0, issued and answered before the period, is not listed; r4
        // (issued before, answered in it) and r5 (issued before, unanswered) are.
        let listed: Vec<&str> = r.list.iter().flatten().map(|l| l.id.as_str()).collect();
        assert_eq!(listed, ["r1", "r2", "r3", "r4", "r5"]);
    }

    /// Urgent and whistleblowing disputes, automatic escalations (two, by the
    /// rule, against one by a person), a migration's rung, and the median and
    /// 90th percentile of three closing times, each written out by hand.
    #[test]
    fn who_raised_what_and_how_it_moved() {
        let raise = |urgent: bool, wb: bool| {
            json!({"policy": "krscp-2024-02", "rung": "agencies", "parties": ["a", "b"],
                   "urgent": urgent, "complex": false, "whistleblowing": wb})
        };
        let auto =
            |from: &str, to: &str| json!({"from": from, "to": to, "rule": AUTO_ESCALATE_RULE});
        let es = vec![
            entry(0, at(0, 9), Some("d1"), "raised", raise(true, true)),
            entry(1, at(0, 9), Some("d2"), "raised", raise(true, false)),
            entry(2, at(0, 9), Some("d3"), "raised", raise(false, false)),
            entry(
                3,
                at(0, 10),
                Some("d1"),
                "escalated",
                auto("agencies", "slg"),
            ),
            entry(
                4,
                at(0, 11),
                Some("d1"),
                "escalated",
                auto("slg", "statutory_partners"),
            ),
            entry(
                5,
                at(0, 12),
                Some("d2"),
                "escalated",
                json!({"from": "agencies", "to": "slg"}),
            ),
            entry(
                6,
                at(0, 13),
                Some("d3"),
                "policy_migrated",
                json!({"from": "krscp-2024-02", "to": "wt-2023", "rung": "slg"}),
            ),
            // Tuesday 1 April 2025 to Wednesday 2, Thursday 3, Friday 4: 1, 2, 3 working days.
            entry(
                7,
                at(1, 10),
                Some("d1"),
                "resolved",
                json!({"proposal_id": "p"}),
            ),
            entry(8, at(2, 10), Some("d2"), "withdrawn", json!({})),
            entry(
                9,
                at(3, 10),
                Some("d3"),
                "resolved",
                json!({"proposal_id": "q"}),
            ),
            entry(
                10,
                at(3, 11),
                None,
                "recommendation_issued",
                json!({"recommendation_id": "r1", "response_due": "2027-01-01"}),
            ),
        ];
        let cal = Calendar::default_england();
        let f = figures(&es, opts(Audience::Internal), ledger(), &cal).unwrap();
        assert_eq!(
            (f.raised, f.urgent, f.whistleblowing),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(f.auto_escalated, Some(2));
        let rungs = |pairs: &[(&str, u64)]| -> BTreeMap<String, Count> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Some(*v)))
                .collect()
        };
        assert_eq!(
            f.highest_rung_reached,
            rungs(&[("slg", 2), ("statutory_partners", 1)])
        );
        assert_eq!(
            f.outcome.resolved,
            rungs(&[("slg", 1), ("statutory_partners", 1)])
        );
        assert_eq!(
            f.working_days_to_close,
            Days {
                count: Some(3),
                median: Some(2),
                p90: Some(3),
                max: Some(3)
            }
        );
        let r = &f.recommendations;
        assert_eq!((r.awaiting_response, r.overdue), (Some(1), Some(0)));
    }

    /// Disclosure control at a threshold of 3: a count of 3 is shown, and any
    /// one recommendation count under it, alone, withholds the list.
    #[test]
    fn one_small_recommendation_count_withholds_the_list() {
        let before = at(0, 10) - chrono::Days::new(10);
        let issue = |seq: i64, t: NaiveDateTime, id: &str, due: &str| {
            entry(
                seq,
                t,
                None,
                "recommendation_issued",
                json!({"recommendation_id": id, "response_due": due}),
            )
        };
        let answer = |seq: i64, id: &str, accepted: bool| {
            entry(
                seq,
                at(5, 10),
                None,
                "recommendation_response_recorded",
                json!({"recommendation_id": id, "accepted": accepted}),
            )
        };
        let public = Options {
            suppress_below: 3,
            ..opts(Audience::Public)
        };
        let later = "2027-01-01";
        let cases: [(&str, Vec<Entry>); 5] = [
            (
                "accepted",
                vec![issue(0, before, "r", later), answer(1, "r", true)],
            ),
            (
                "not_accepted",
                vec![issue(0, before, "r", later), answer(1, "r", false)],
            ),
            ("awaiting_response", vec![issue(0, before, "r", later)]),
            ("overdue", vec![issue(0, before, "r", "2025-05-01")]),
            // One issued in the period, three awaiting: only `issued` is small.
            (
                "issued",
                vec![
                    issue(0, before, "r0", later),
                    issue(1, before, "r1", later),
                    issue(2, at(1, 10), "r2", later),
                ],
            ),
        ];
        let cal = Calendar::default_england();
        for (count, es) in cases {
            let f = figures(&es, public, ledger(), &cal).unwrap();
            let mut named = vec![
                format!("recommendations.{count}"),
                "recommendations.list".into(),
            ];
            named.sort();
            assert_eq!(f.suppressed, named, "{count}");
            assert_eq!(f.recommendations.list, None, "{count}");
        }
        let three: Vec<Entry> = (0..3)
            .map(|i| issue(i, at(1, 10), &format!("r{i}"), later))
            .collect();
        let f = figures(&three, public, ledger(), &cal).unwrap();
        assert_eq!(f.suppressed, Vec::<String>::new());
        assert_eq!(f.recommendations.issued, Some(3));
        assert_eq!(f.recommendations.list.map(|l| l.len()), Some(3));
    }

    /// The CSV of a year with one policy activation, written out by hand from
    /// `to_csv`'s description: a table per section, a blank line between
    /// them, nested members as dotted items, a list's members as columns, and
    /// `recommendations.list` as its own section. The feed's hash is
    /// `sha256sum assets/bank-holidays.json`.
    #[test]
    fn the_csv_of_a_quiet_year() {
        let es = [entry(
            0,
            at(0, 10),
            None,
            "policy_activated",
            json!({"version": "v1", "sha256": "ab"}),
        )];
        let cal = Calendar::default_england();
        let f = figures(&es, opts(Audience::Internal), ledger(), &cal).unwrap();
        let expected = [
            "section,item,value\nperiod,from,2025-04-01\nperiod,to,2026-03-31\n",
            "section,item,value\naudience,,internal\n",
            "section,item,value\nsuppress_below,,5\n",
            "section,item,value\ncalendar,feed_sha256,fd0e26b7f0a2afc272cc2dddcf129ec8959362f664cbd9963ea4d79dad041cc6\n",
            "section,item,value\nledger,checkpoint,\nledger,root,\nledger,size,0\n",
            "section,activated_at,sha256,version\npolicies,2025-04-01T10:00:00.000000Z,ab,v1\n",
            "section,item,value\nraised,,0\n",
            "section,item,value\n",
            "section,item,value\n",
            "section,item,value\noutcome,open,0\noutcome,withdrawn,0\n",
            "section,item,value\nworking_days_to_close,count,0\nworking_days_to_close,max,\nworking_days_to_close,median,\nworking_days_to_close,p90,\n",
            "section,item,value\nurgent,,0\n",
            "section,item,value\nwhistleblowing,,0\n",
            "section,item,value\n",
            "section,item,value\nauto_escalated,,0\n",
            "section,item,value\n",
            "section,item,value\nreviews,accepted,0\nreviews,declined,0\nreviews,findings_recorded,0\nreviews,requested,0\n",
            "section,item,value\nmediations,closed,0\nmediations,opened,0\nmediations,outside_ladder,0\n",
            "section,item,value\nrecommendations,accepted,0\nrecommendations,awaiting_response,0\nrecommendations,issued,0\nrecommendations,not_accepted,0\nrecommendations,overdue,0\n",
            "section,value\n",
            "section,value\n",
        ]
        .join("\n")
        .replace('\n', "\r\n");
        assert_eq!(to_csv(&f), expected);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Raise(u8),
        Escalate,
        Resolve,
        Withdraw,
    }

    fn step() -> impl Strategy<Value = (usize, Step, u32)> {
        let s = prop_oneof![
            (0u8..3).prop_map(Step::Raise),
            Just(Step::Escalate),
            Just(Step::Resolve),
            Just(Step::Withdraw),
        ];
        (0usize..12, s, 0u32..30)
    }

    proptest! {
        /// Outcomes plus open equal `raised`; `highest_rung_reached` and
        /// `by_entry_rung` sum to `raised`, whatever happens and whenever.
        #[test]
        fn the_counts_add_up(steps in proptest::collection::vec(step(), 0..80), from in 0u32..200, len in 0u32..400) {
            let rungs = ["agencies", "slg", "statutory_partners", "scrutineer", "chief_executives", "secretary_of_state"];
            let mut pos: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
            let mut es = Vec::new();
            let mut day = 0u32;
            for (seq, (d, s, gap)) in steps.into_iter().enumerate() {
                day += gap;
                let id = format!("d{d}");
                let t = at(day, 12);
                let e = match (s, pos.get(&d).copied()) {
                    (Step::Raise(r), None) => {
                        pos.insert(d, (r as usize, true));
                        entry(seq as i64, t, Some(&id), "raised", raised(rungs[r as usize]))
                    }
                    (Step::Escalate, Some((r, true))) if r + 1 < rungs.len() => {
                        pos.insert(d, (r + 1, true));
                        entry(seq as i64, t, Some(&id), "escalated", json!({"from": rungs[r], "to": rungs[r + 1]}))
                    }
                    (Step::Resolve, Some((r, true))) => {
                        pos.insert(d, (r, false));
                        entry(seq as i64, t, Some(&id), "resolved", json!({"proposal_id": "p"}))
                    }
                    (Step::Withdraw, Some((r, true))) => {
                        pos.insert(d, (r, false));
                        entry(seq as i64, t, Some(&id), "withdrawn", json!({}))
                    }
                    _ => continue,
                };
                es.push(e);
            }
            let start = at(from, 0).date();
            let o = Options {
                period: Period { from: start, to: start + chrono::Days::new(u64::from(len)) },
                audience: Audience::Internal,
                suppress_below: DEFAULT_SUPPRESS_BELOW,
            };
            let f = figures(&es, o, ledger(), &Calendar::default_england()).unwrap();
            let raised = f.raised.unwrap();
            let sum = |m: &BTreeMap<String, Count>| m.values().map(|v| v.unwrap()).sum::<u64>();
            prop_assert_eq!(sum(&f.outcome.resolved) + f.outcome.withdrawn.unwrap() + f.outcome.open.unwrap(), raised);
            prop_assert_eq!(sum(&f.highest_rung_reached), raised);
            prop_assert_eq!(sum(&f.by_entry_rung), raised);
            prop_assert!(f.working_days_to_close.count.unwrap() <= raised);
        }
    }
}
