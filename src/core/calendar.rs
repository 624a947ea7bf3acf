//! Working days in England: Monday to Friday, less the bank holidays of
//! England and Wales (substitute days included), and working hours, 09:00 to
//! 17:00 UK wall time (`Europe/London`, [`ZONE`]).
//!
//! Instants are UTC everywhere else in the service; here they are turned into
//! London wall time to count ([`london`], [`london_date`]) and back
//! ([`from_london`]): [`Calendar::working_hours_after`] and
//! [`Calendar::close_after_working_days`] take and give UTC instants, so a
//! deadline at 17:00 in London is 16:00 UTC during British Summer Time.
//!
//! Pure: no actix, no diesel. Holidays come from a feed in the GOV.UK
//! `bank-holidays.json` shape (only the `england-and-wales` division is read);
//! a copy covering 2018 to 2027 is embedded from `assets/bank-holidays.json`,
//! and [`crate::service::holidays`] loads a replacement at run time.
//! For years the feed does not cover, the holidays are computed from the
//! statutory rules ([`statutory_holidays`]), so a holiday is never silently
//! treated as a working day; [`Calendar::holiday_source`] and
//! [`Calendar::source_between`] tell the caller when an answer relied on
//! computed dates, i.e. when the feed needs refreshing. Computed years cannot
//! know one-off changes (a holiday moved or added by proclamation, as in 2020,
//! 2022 and 2023).
//!
//! Counting convention: "n working days after `start`" is the n-th working day
//! strictly after `start`, whatever `start` itself is. So a Saturday plus one
//! working day is the following Monday (if that is not a holiday), and
//! [`Calendar::working_days_between`] counts the working days in `(a, b]`,
//! which makes `working_days_between(s, add_working_days(s, n)) == n` for
//! every `s`.
//!
//! ```
//! use chrono::NaiveDate;
//! use escalation_ledger::core::calendar::{Calendar, Source};
//!
//! let cal = Calendar::default_england();
//! let friday = NaiveDate::from_ymd_opt(2026, 5, 22).unwrap(); // before the Spring bank holiday
//! let due = cal.add_working_days(friday, 1);
//! assert_eq!(due, NaiveDate::from_ymd_opt(2026, 5, 26).unwrap());
//! if cal.source_between(friday, due) == Source::Computed {
//!     // log: the bank holiday feed needs refreshing
//! }
//! ```

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

/// The feed embedded in the binary: England and Wales, 2018 to 2027.
pub const DEFAULT_FEED: &str = include_str!("../../assets/bank-holidays.json");

/// The working day used by [`Calendar::add_working_hours`]: 09:00 to 17:00.
pub const OPENING: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("09:00 is a valid time"),
};
/// See [`OPENING`].
pub const CLOSING: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(t) => t,
    None => panic!("17:00 is a valid time"),
};
const WORKING_DAY_HOURS: u32 = 8;

/// Why a feed was refused. Each message names what is wrong, and where it can.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Not JSON, or not the GOV.UK shape; serde_json's message gives the line and column.
    #[error("bank holiday feed is not in the GOV.UK bank-holidays.json shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bank holiday feed has no \"england-and-wales\" division")]
    MissingDivision,
    #[error(
        "bank holiday feed's \"england-and-wales\" key holds the \"{0}\" division, not England and Wales"
    )]
    WrongDivision(String),
    #[error("bank holiday feed has no events for England and Wales")]
    NoEvents,
    #[error(
        "bank holiday feed: England and Wales event {index} ({title}) has date \"{date}\", not a YYYY-MM-DD date{}",
        line.map(|l| format!(" (line {l})")).unwrap_or_default()
    )]
    BadDate {
        /// Position in the `events` array, from 0.
        index: usize,
        title: String,
        date: String,
        /// The line of the file where that date string first appears.
        line: Option<usize>,
    },
    #[error(
        "bank holiday feed has no England and Wales events in {0}, inside the years it covers"
    )]
    MissingYear(i32),
}

/// Where the holidays of a year came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The loaded feed.
    Feed,
    /// The statutory rules, because the feed does not cover the year.
    Computed,
}

#[derive(Deserialize)]
struct Feed {
    #[serde(rename = "england-and-wales")]
    england_and_wales: Option<Division>,
}

#[derive(Deserialize)]
struct Division {
    /// `"england-and-wales"` in the GOV.UK feed; checked when present.
    division: Option<String>,
    events: Vec<Event>,
}

/// One event; `notes` and `bunting` are not needed to count days. The date is
/// read as text first, so a bad one is reported with its event and line.
#[derive(Deserialize)]
struct Event {
    title: Option<String>,
    date: String,
}

/// The 1-based line of `json` where `needle` first appears.
fn line_of(json: &str, needle: &str) -> Option<usize> {
    let at = json.find(needle)?;
    Some(json[..at].matches('\n').count() + 1)
}

/// Working-day arithmetic for England.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// England and Wales holidays from the feed, all within `first..=last`.
    holidays: BTreeSet<NaiveDate>,
    first: i32,
    last: i32,
}

impl Calendar {
    /// Loads a feed in the GOV.UK `bank-holidays.json` shape. The years it
    /// covers run from its first event's year to its last event's; every year
    /// in between must have at least one event. For those years the feed is
    /// trusted as the complete list; other fields and divisions are ignored.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let feed: Feed = serde_json::from_str(json)?;
        let division = feed
            .england_and_wales
            .ok_or(CalendarError::MissingDivision)?;
        if let Some(name) = division.division.filter(|d| d != "england-and-wales") {
            return Err(CalendarError::WrongDivision(name));
        }
        let mut holidays = BTreeSet::new();
        for (index, e) in division.events.iter().enumerate() {
            let date = NaiveDate::parse_from_str(&e.date, "%Y-%m-%d").map_err(|_| {
                CalendarError::BadDate {
                    index,
                    title: e.title.clone().unwrap_or_else(|| "untitled".into()),
                    date: e.date.clone(),
                    line: line_of(json, &format!("\"{}\"", e.date)),
                }
            })?;
            holidays.insert(date);
        }
        let (Some(first), Some(last)) = (holidays.first(), holidays.last()) else {
            return Err(CalendarError::NoEvents);
        };
        let (first, last) = (first.year(), last.year());
        let years: BTreeSet<i32> = holidays.iter().map(|d| d.year()).collect();
        if let Some(gap) = (first..=last).find(|y| !years.contains(y)) {
            return Err(CalendarError::MissingYear(gap));
        }
        Ok(Self {
            holidays,
            first,
            last,
        })
    }

    /// The first and last year the feed covers.
    pub fn feed_years(&self) -> (i32, i32) {
        (self.first, self.last)
    }

    /// How many distinct holiday dates the feed lists.
    pub fn feed_len(&self) -> usize {
        self.holidays.len()
    }

    /// Feed years listing fewer holidays than the statutory rules give (eight
    /// in England and Wales), with their count: probably an incomplete feed.
    pub fn thin_years(&self) -> Vec<(i32, usize)> {
        (self.first..=self.last)
            .map(|y| (y, self.holidays_in(y).len()))
            .filter(|(y, n)| *n < statutory_holidays(*y).len())
            .collect()
    }

    /// The calendar built from the embedded feed ([`DEFAULT_FEED`]).
    // The embedded feed is our own data, compiled in and checked by the tests
    // below: it cannot fail to parse at run time.
    #[allow(clippy::expect_used)]
    pub fn default_england() -> Self {
        Self::from_json(DEFAULT_FEED).expect("the embedded bank holiday feed is valid")
    }

    /// The first and last day of the years the feed covers.
    pub fn covered_range(&self) -> (NaiveDate, NaiveDate) {
        // Both years hold a parsed event, so 1 January and 31 December exist.
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        (day(self.first, 1, 1), day(self.last, 12, 31))
    }

    /// Whether the holidays of `year` come from the feed or the rules.
    pub fn holiday_source(&self, year: i32) -> Source {
        if (self.first..=self.last).contains(&year) {
            Source::Feed
        } else {
            Source::Computed
        }
    }

    /// [`Source::Computed`] if any year from `a` to `b` (either order) is
    /// outside the feed: log it, the feed needs refreshing.
    pub fn source_between(&self, a: NaiveDate, b: NaiveDate) -> Source {
        let (lo, hi) = (a.min(b).year(), a.max(b).year());
        if lo >= self.first && hi <= self.last {
            Source::Feed
        } else {
            Source::Computed
        }
    }

    /// The bank holidays of `year` in date order, from the feed or computed.
    pub fn holidays_in(&self, year: i32) -> Vec<NaiveDate> {
        match self.holiday_source(year) {
            Source::Feed => {
                let in_year = |d: &&NaiveDate| d.year() == year;
                self.holidays.iter().filter(in_year).copied().collect()
            }
            Source::Computed => statutory_holidays(year),
        }
    }

    /// Whether `date` is a bank holiday in England and Wales.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        match self.holiday_source(date.year()) {
            Source::Feed => self.holidays.contains(&date),
            Source::Computed => statutory_holidays(date.year()).contains(&date),
        }
    }

    /// Monday to Friday and not a bank holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !is_weekend(date) && !self.is_holiday(date)
    }

    /// The n-th working day strictly after `start` (`start` itself when
    /// `n == 0`), or `None` past chrono's last date.
    pub fn checked_add_working_days(&self, start: NaiveDate, n: u32) -> Option<NaiveDate> {
        if n == 0 {
            return Some(start);
        }
        let mut day = start;
        let mut left = i64::from(n);
        // Skip whole years first, so a huge `n` costs one step a year.
        loop {
            let year_end = NaiveDate::from_ymd_opt(day.succ_opt()?.year(), 12, 31)?;
            let in_rest_of_year = self.working_days_between(day, year_end);
            if in_rest_of_year >= left {
                break;
            }
            left -= in_rest_of_year;
            day = year_end;
        }
        while left > 0 {
            day = day.succ_opt()?;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Some(day)
    }

    /// The n-th working day strictly after `start`; `start` itself when
    /// `n == 0`. A Friday before a bank holiday Monday plus one is the Tuesday;
    /// a Saturday plus one is the next working day.
    ///
    /// # Panics
    /// Only if the result is past chrono's last date (year 262143); use
    /// [`Calendar::checked_add_working_days`] for untrusted `n`.
    // A documented panic for trusted `n`; the service calls the checked form.
    #[allow(clippy::expect_used)]
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        self.checked_add_working_days(start, n)
            .expect("working day past chrono's last date")
    }

    /// The number of working days in `(a, b]`; negative (minus those in
    /// `(b, a]`) when `b < a`, zero when equal.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        let weekdays = weekdays_through(b) - weekdays_through(a);
        // A feed could list a weekend date: it is not a working day anyway.
        let holidays = (a.year()..=b.year())
            .flat_map(|year| self.holidays_in(year))
            .filter(|d| *d > a && *d <= b && !is_weekend(*d))
            .count();
        weekdays - holidays as i64
    }

    /// The moment `hours` working hours after `start`, or `None` past chrono's
    /// last date.
    ///
    /// Working time runs 09:00 to 17:00 on working days. A `start` outside it
    /// begins counting at the next opening; an answer that ends exactly at a
    /// closing time is that 17:00, not the next morning. `hours == 0` gives
    /// `start` unchanged.
    ///
    /// Times are naive London wall-clock times; for instants, call
    /// [`Calendar::working_hours_after`], which converts with [`ZONE`] on the
    /// way in and out. The clocks change only on Sundays, at night, so
    /// wall-clock arithmetic inside a working day is exact.
    pub fn checked_add_working_hours(
        &self,
        start: NaiveDateTime,
        hours: u32,
    ) -> Option<NaiveDateTime> {
        if hours == 0 {
            return Some(start);
        }
        // The day the clock starts on, and how far into its working hours.
        let (day, offset) = match (self.is_working_day(start.date()), start.time()) {
            (true, t) if t < OPENING => (start.date(), TimeDelta::zero()),
            (true, t) if t < CLOSING => (start.date(), t - OPENING),
            _ => (
                self.checked_add_working_days(start.date(), 1)?,
                TimeDelta::zero(),
            ),
        };
        let working_day = TimeDelta::hours(i64::from(WORKING_DAY_HOURS));
        let mut whole_days = hours / WORKING_DAY_HOURS;
        let mut rest = offset + TimeDelta::hours(i64::from(hours % WORKING_DAY_HOURS));
        // Keep `rest` in (0, 8h], so that ending at 17:00 stays on that day.
        if rest > working_day {
            whole_days += 1;
            rest -= working_day;
        } else if rest.is_zero() {
            whole_days -= 1; // hours > 0 and rest == 0 imply whole_days >= 1
            rest = working_day;
        }
        let end_day = self.checked_add_working_days(day, whole_days)?;
        end_day.and_time(OPENING).checked_add_signed(rest)
    }

    /// See [`Calendar::checked_add_working_hours`].
    ///
    /// # Panics
    /// Only if the result is past chrono's last date (year 262143).
    // A documented panic for trusted `hours`; the service calls the checked form.
    #[allow(clippy::expect_used)]
    pub fn add_working_hours(&self, start: NaiveDateTime, hours: u32) -> NaiveDateTime {
        self.checked_add_working_hours(start, hours)
            .expect("working time past chrono's last date")
    }
}

/// The zone working time is counted in: UK wall time.
pub const ZONE: Tz = chrono_tz::Europe::London;

/// The London wall-clock time at the instant `t`.
pub fn london(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&ZONE).naive_local()
}

/// The London date at the instant `t`: 23:30 UTC on a summer day is already
/// the next day in London.
pub fn london_date(t: DateTime<Utc>) -> NaiveDate {
    london(t).date()
}

/// The instant a London wall-clock time names. A time the clocks skip (01:00
/// to 01:59 on the last Sunday of March) is read an hour later, as a clock
/// that was not put forward would show it; a time they repeat (01:00 to 01:59
/// on the last Sunday of October) is its first occurrence, in summer time.
/// `None` only at the ends of chrono's range. Working time never falls on
/// either: the clocks change on Sundays, at night.
pub fn from_london(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let utc = |t: DateTime<Tz>| t.with_timezone(&Utc);
    match ZONE.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(utc(t)),
        LocalResult::None => {
            let later = local.checked_add_signed(TimeDelta::hours(1))?;
            ZONE.from_local_datetime(&later).earliest().map(utc)
        }
    }
}

impl Calendar {
    /// The instant `hours` working hours after the instant `start`, counted
    /// in London wall time ([`Calendar::checked_add_working_hours`] between
    /// [`london`] and [`from_london`]): across a clock change an answer at
    /// 10:00 London is 09:00 UTC in summer and 10:00 UTC in winter. `None`
    /// past chrono's last date. `hours == 0` gives `start` unchanged.
    pub fn working_hours_after(&self, start: DateTime<Utc>, hours: u32) -> Option<DateTime<Utc>> {
        if hours == 0 {
            return Some(start);
        }
        from_london(self.checked_add_working_hours(london(start), hours)?)
    }

    /// The instant of 17:00 London time on the `days`-th working day after
    /// the London date of `start` ([`Calendar::checked_add_working_days`]):
    /// 16:00 UTC in summer, 17:00 UTC in winter. `days == 0` is 17:00 on
    /// that London date. `None` past chrono's last date.
    pub fn close_after_working_days(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Option<DateTime<Utc>> {
        let day = self.checked_add_working_days(london_date(start), days)?;
        from_london(day.and_time(CLOSING))
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The number of Mondays to Fridays from an arbitrary Monday epoch through
/// `date`; only differences of it mean anything.
fn weekdays_through(date: NaiveDate) -> i64 {
    // 0001-01-01 is a Monday and has num_days_from_ce() == 1.
    let days = i64::from(date.num_days_from_ce()); // days since that Monday, plus one
    days.div_euclid(7) * 5 + days.rem_euclid(7).min(5)
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus
/// of Meeus, Jones and Butcher), or `None` outside chrono's years.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let (b, c) = (y.div_euclid(100), y.rem_euclid(100));
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c.div_euclid(4), c.rem_euclid(4));
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    let (month, day) = (n.div_euclid(31), n.rem_euclid(31) + 1);
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The England and Wales bank holidays of `year` by the standing rules, in
/// date order: New Year's Day (a weekend one moves to the Monday), Good
/// Friday, Easter Monday, the first and last Mondays of May, the last Monday
/// of August, Christmas Day and Boxing Day (a weekend one moves to the next
/// weekday not already a holiday). One-off changes are not known here, and
/// the rules are today's (the Early May bank holiday dates from 1978), applied
/// to every year alike. Empty outside chrono's years.
pub fn statutory_holidays(year: i32) -> Vec<NaiveDate> {
    statutory(year).unwrap_or_default()
}

fn statutory(year: i32) -> Option<Vec<NaiveDate>> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let new_year = match ymd(1, 1)?.weekday() {
        Weekday::Sat => ymd(1, 3)?,
        Weekday::Sun => ymd(1, 2)?,
        _ => ymd(1, 1)?,
    };
    let easter = easter_sunday(year)?;
    let (christmas, boxing_day) = match ymd(12, 25)?.weekday() {
        Weekday::Fri => (25, 28), // Boxing Day on Saturday: Monday 28th
        Weekday::Sat => (27, 28), // Monday 27th and Tuesday 28th
        Weekday::Sun => (27, 26), // Boxing Day Monday 26th, Christmas Tuesday 27th
        _ => (25, 26),
    };
    let mut days = vec![
        new_year,
        easter.checked_sub_days(Days::new(2))?,
        easter.checked_add_days(Days::new(1))?,
        first_monday(ymd(5, 1)?)?,
        last_monday(ymd(5, 31)?)?,
        last_monday(ymd(8, 31)?)?,
        ymd(12, christmas)?,
        ymd(12, boxing_day)?,
    ];
    days.sort();
    Some(days)
}

/// The first Monday on or after `date`.
fn first_monday(date: NaiveDate) -> Option<NaiveDate> {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    date.checked_add_days(Days::new(u64::from(ahead)))
}

/// The last Monday on or before `date`.
fn last_monday(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d)
            .and_hms_opt(h, min, 0)
            .expect("valid test time")
    }

    fn england() -> Calendar {
        Calendar::default_england()
    }

    /// The one-off changes in the feed years: (year, dropped, added).
    fn one_offs(year: i32) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
        match year {
            // Early May bank holiday moved from Monday 4 to Friday 8 May (VE Day).
            2020 => (vec![date(2020, 5, 4)], vec![date(2020, 5, 8)]),
            // Spring bank holiday moved to Thursday 2 June, Platinum Jubilee
            // holiday Friday 3 June, State Funeral of Queen Elizabeth II.
            2022 => (
                vec![date(2022, 5, 30)],
                vec![date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19)],
            ),
            // Coronation of King Charles III.
            2023 => (vec![], vec![date(2023, 5, 8)]),
            _ => (vec![], vec![]),
        }
    }

    #[test]
    fn easter_on_known_dates() {
        for (y, m, d) in [
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2000, 4, 23),
            (2031, 4, 13),
            (1818, 3, 22), // earliest possible
            (2285, 3, 22),
            (1943, 4, 25), // latest possible
            (2038, 4, 25),
            // The years whose lunar correction (`m`) is 1, from 1900 to 2100;
            // dates from python-dateutil's `easter`, an implementation of its own.
            (1954, 4, 18),
            (1981, 4, 19),
            (2049, 4, 18),
            (2076, 4, 19),
        ] {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "Easter {y}");
        }
    }

    #[test]
    fn embedded_feed_covers_2018_to_2027() {
        let cal = england();
        assert_eq!(cal.covered_range(), (date(2018, 1, 1), date(2027, 12, 31)));
        assert_eq!(cal.holiday_source(2017), Source::Computed);
        assert_eq!(cal.holiday_source(2018), Source::Feed);
        assert_eq!(cal.holiday_source(2027), Source::Feed);
        assert_eq!(cal.holiday_source(2028), Source::Computed);
        assert_eq!(
            cal.source_between(date(2027, 12, 1), date(2018, 1, 2)),
            Source::Feed
        );
        assert_eq!(
            cal.source_between(date(2027, 12, 1), date(2028, 1, 5)),
            Source::Computed
        );
    }

    #[test]
    fn every_listed_bank_holiday_is_not_a_working_day() {
        let cal = england();
        let holidays = [
            // New Year's Day, with the substitute Mondays of 2022 and 2023.
            (date(2018, 1, 1), "New Year's Day"),
            (date(2022, 1, 3), "New Year's Day, substitute"),
            (date(2023, 1, 2), "New Year's Day, substitute"),
            (date(2026, 1, 1), "New Year's Day"),
            // Good Friday and Easter Monday around the Easters above.
            (date(2019, 4, 19), "Good Friday"),
            (date(2019, 4, 22), "Easter Monday"),
            (date(2024, 3, 29), "Good Friday"),
            (date(2024, 4, 1), "Easter Monday"),
            (date(2025, 4, 18), "Good Friday"),
            (date(2025, 4, 21), "Easter Monday"),
            (date(2026, 4, 3), "Good Friday"),
            (date(2026, 4, 6), "Easter Monday"),
            (date(2027, 3, 26), "Good Friday"),
            (date(2027, 3, 29), "Easter Monday"),
            // Early May, Spring and Summer bank holidays, with the moves.
            (date(2019, 5, 6), "Early May"),
            (date(2020, 5, 8), "Early May, moved for VE Day"),
            (date(2026, 5, 4), "Early May"),
            (date(2026, 5, 25), "Spring"),
            (date(2022, 6, 2), "Spring, moved for the Platinum Jubilee"),
            (date(2022, 6, 3), "Platinum Jubilee"),
            (date(2026, 8, 31), "Summer"),
            (date(2027, 8, 30), "Summer"),
            // One-offs.
            (date(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
            (date(2023, 5, 8), "Coronation of King Charles III"),
            // Christmas Day and Boxing Day with their substitutes.
            (date(2020, 12, 28), "Boxing Day 2020, substitute"),
            (date(2021, 12, 27), "Christmas Day 2021, substitute"),
            (date(2021, 12, 28), "Boxing Day 2021, substitute"),
            (date(2022, 12, 26), "Boxing Day 2022"),
            (date(2022, 12, 27), "Christmas Day 2022, substitute"),
            (date(2026, 12, 25), "Christmas Day 2026"),
            (date(2026, 12, 28), "Boxing Day 2026, substitute"),
            (date(2027, 12, 27), "Christmas Day 2027, substitute"),
            (date(2027, 12, 28), "Boxing Day 2027, substitute"),
        ];
        for (day, what) in holidays {
            assert!(cal.is_holiday(day), "{what} ({day}) is a holiday");
            assert!(
                !cal.is_working_day(day),
                "{what} ({day}) is not a working day"
            );
        }
        // The days the one-off moves freed up are working days.
        for day in [date(2020, 5, 4), date(2022, 5, 30)] {
            assert!(cal.is_working_day(day), "{day} is a working day");
        }
    }

    #[test]
    fn feed_marks_exactly_the_substitute_days() {
        let feed: serde_json::Value = serde_json::from_str(DEFAULT_FEED).expect("embedded JSON");
        let events = feed["england-and-wales"]["events"]
            .as_array()
            .expect("events array");
        let substitutes: Vec<&str> = events
            .iter()
            .filter(|e| e["notes"] == "Substitute day")
            .filter_map(|e| e["date"].as_str())
            .collect();
        assert_eq!(
            substitutes,
            [
                "2020-12-28",
                "2021-12-27",
                "2021-12-28",
                "2022-01-03",
                "2022-12-27",
                "2023-01-02",
                "2026-12-28",
                "2027-12-27",
                "2027-12-28",
            ]
        );
        assert!(events.contains(&serde_json::json!({
            "title": "Boxing Day", "date": "2026-12-28", "notes": "Substitute day", "bunting": true
        })));
    }

    #[test]
    fn computed_rules_reproduce_the_feed_except_the_one_offs() {
        let cal = england();
        for year in 2018..=2027 {
            let feed: BTreeSet<NaiveDate> = cal.holidays_in(year).into_iter().collect();
            let rules: BTreeSet<NaiveDate> = statutory_holidays(year).into_iter().collect();
            let (dropped, added) = one_offs(year);
            let dropped_found: Vec<NaiveDate> = rules.difference(&feed).copied().collect();
            let added_found: Vec<NaiveDate> = feed.difference(&rules).copied().collect();
            assert_eq!(
                dropped_found, dropped,
                "{year}: rule dates missing from the feed"
            );
            assert_eq!(
                added_found, added,
                "{year}: feed dates the rules do not give"
            );
        }
    }

    #[test]
    fn bank_holiday_monday_is_skipped() {
        let cal = england();
        // Friday 22 May 2026, Spring bank holiday Monday 25 May.
        assert_eq!(
            cal.add_working_days(date(2026, 5, 22), 1),
            date(2026, 5, 26)
        );
        // Thursday before Easter 2026: Good Friday and Easter Monday skipped.
        assert_eq!(cal.add_working_days(date(2026, 4, 2), 1), date(2026, 4, 7));
        // Christmas 2026: Friday 25 and the substitute Monday 28 skipped.
        assert_eq!(
            cal.add_working_days(date(2026, 12, 24), 1),
            date(2026, 12, 29)
        );
        // Five working days (a working week) from Christmas Eve 2027.
        // 2028 is computed: New Year's Day falls on a Saturday, Monday 3rd is off.
        assert_eq!(
            cal.add_working_days(date(2027, 12, 24), 5),
            date(2028, 1, 5)
        );
    }

    #[test]
    fn start_on_a_non_working_day() {
        let cal = england();
        let saturday = date(2026, 5, 23);
        assert_eq!(cal.add_working_days(saturday, 0), saturday);
        assert_eq!(cal.add_working_days(saturday, 1), date(2026, 5, 26));
        assert_eq!(
            cal.add_working_days(date(2026, 5, 25), 1),
            date(2026, 5, 26)
        );
        assert_eq!(cal.working_days_between(saturday, date(2026, 5, 26)), 1);
    }

    #[test]
    fn working_days_between_counts_the_half_open_interval() {
        let cal = england();
        let (fri, tue) = (date(2026, 5, 22), date(2026, 5, 26));
        assert_eq!(cal.working_days_between(fri, tue), 1);
        assert_eq!(cal.working_days_between(tue, fri), -1);
        assert_eq!(cal.working_days_between(fri, fri), 0);
        // 2026: 261 weekdays less 8 bank holidays on weekdays.
        assert_eq!(
            cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)),
            253
        );
    }

    #[test]
    fn beyond_the_feed_easter_monday_2031_is_still_skipped() {
        let cal = england();
        let easter_monday = date(2031, 4, 14);
        assert_eq!(cal.holiday_source(2031), Source::Computed);
        assert!(!cal.is_working_day(easter_monday));
        assert!(!cal.is_working_day(date(2031, 4, 11)), "Good Friday");
        let thursday = date(2031, 4, 10);
        let next = cal.add_working_days(thursday, 1);
        assert_eq!(next, date(2031, 4, 15));
        assert_eq!(cal.source_between(thursday, next), Source::Computed);
        // Christmas 2032 is on a Saturday: Monday 27 and Tuesday 28 off.
        assert_eq!(
            cal.add_working_days(date(2032, 12, 24), 1),
            date(2032, 12, 29)
        );
    }

    #[test]
    fn working_hours() {
        let cal = england();
        // Monday 1 June 2026.
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 9, 0), 8),
            at(2026, 6, 1, 17, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 16, 0), 1),
            at(2026, 6, 1, 17, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 16, 0), 2),
            at(2026, 6, 2, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 7, 0), 1),
            at(2026, 6, 1, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 17, 0), 1),
            at(2026, 6, 2, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 9, 0), 40),
            at(2026, 6, 5, 17, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 9, 0), 41),
            at(2026, 6, 8, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2026, 6, 1, 11, 0), 0),
            at(2026, 6, 1, 11, 0)
        );
        // Seconds are kept.
        let start = date(2026, 6, 1).and_hms_opt(16, 30, 15).expect("time");
        let end = date(2026, 6, 2).and_hms_opt(9, 30, 15).expect("time");
        assert_eq!(cal.add_working_hours(start, 1), end);
        // Friday 22 May 2026 15:00 + 4h: the bank holiday Monday is skipped.
        assert_eq!(
            cal.add_working_hours(at(2026, 5, 22, 15, 0), 4),
            at(2026, 5, 26, 11, 0)
        );
        // Saturday: the clock starts at the next opening.
        assert_eq!(
            cal.add_working_hours(at(2026, 5, 23, 12, 0), 1),
            at(2026, 5, 26, 10, 0)
        );
    }

    #[test]
    fn bad_feeds_are_refused_with_a_reason() {
        let refused = |json: &str| Calendar::from_json(json).expect_err(json);
        assert!(matches!(refused("not json"), CalendarError::Json(_)));
        assert!(matches!(refused("[]"), CalendarError::Json(_)));
        assert!(matches!(refused("{}"), CalendarError::MissingDivision));
        let scotland_only = r#"{"scotland": {"division": "scotland", "events": []}}"#;
        assert!(matches!(
            refused(scotland_only),
            CalendarError::MissingDivision
        ));
        let empty = r#"{"england-and-wales": {"division": "england-and-wales", "events": []}}"#;
        assert!(matches!(refused(empty), CalendarError::NoEvents));
        let bad_date = "{\"england-and-wales\": {\"events\": [\n  {\"title\": \"ok\", \"date\": \"2026-01-01\"},\n  {\"title\": \"x\", \"date\": \"2026-02-30\"}]}}";
        let err = refused(bad_date);
        assert!(
            matches!(err, CalendarError::BadDate { index: 1, .. }),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("event 1 (x)") && msg.contains("\"2026-02-30\"") && msg.contains("line 3"),
            "{msg}"
        );
        let not_a_string =
            r#"{"england-and-wales": {"events": [{"title": "x", "date": 20260101}]}}"#;
        assert!(matches!(refused(not_a_string), CalendarError::Json(_)));
        let syntax = "{\n \"england-and-wales\": {\n  \"events\": [,]}}";
        let msg = refused(syntax).to_string();
        assert!(msg.contains("GOV.UK") && msg.contains("line 3"), "{msg}");
        let scotland_under_england = r#"{"england-and-wales": {"division": "scotland", "events": [{"title": "a", "date": "2026-01-01"}]}}"#;
        assert!(matches!(
            refused(scotland_under_england),
            CalendarError::WrongDivision(d) if d == "scotland"
        ));
        let no_events = r#"{"england-and-wales": {"division": "england-and-wales"}}"#;
        assert!(matches!(refused(no_events), CalendarError::Json(_)));
        let gap = r#"{"england-and-wales": {"events": [
            {"title": "a", "date": "2019-01-01"}, {"title": "b", "date": "2021-01-01"}]}}"#;
        assert!(matches!(refused(gap), CalendarError::MissingYear(2020)));
        assert!(refused(gap).to_string().contains("2020"));
    }

    #[test]
    fn a_minimal_feed_loads() {
        let json = r#"{"england-and-wales": {"division": "england-and-wales", "events": [
            {"title": "Boxing Day", "date": "2026-12-28", "notes": "Substitute day", "bunting": true}]},
            "northern-ireland": {"division": "northern-ireland", "events": []}}"#;
        let cal = Calendar::from_json(json).expect("valid feed");
        assert_eq!(cal.covered_range(), (date(2026, 1, 1), date(2026, 12, 31)));
        assert!(!cal.is_working_day(date(2026, 12, 28)));
        // The feed is trusted for its year: Christmas Day is not listed in it.
        assert!(cal.is_working_day(date(2026, 12, 25)));
        assert!(!cal.is_working_day(date(2027, 12, 27)), "computed");
        assert_eq!(cal.feed_years(), (2026, 2026));
        assert_eq!(cal.feed_len(), 1);
        assert_eq!(cal.thin_years(), vec![(2026, 1)]);
        let full = england();
        assert_eq!(full.feed_len(), 83);
        assert!(full.thin_years().is_empty());
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let cal = england();
        assert!(statutory_holidays(i32::MAX).is_empty());
        assert!(statutory_holidays(i32::MIN).is_empty());
        assert_eq!(
            cal.checked_add_working_days(NaiveDate::MAX, 0),
            Some(NaiveDate::MAX)
        );
        assert_eq!(cal.checked_add_working_days(NaiveDate::MAX, 1), None);
        assert_eq!(
            cal.checked_add_working_days(date(2026, 1, 1), u32::MAX),
            None
        );
        assert_eq!(
            cal.checked_add_working_hours(NaiveDate::MAX.and_time(OPENING), 9),
            None
        );
        assert_eq!(
            cal.checked_add_working_hours(date(2026, 1, 1).and_time(OPENING), u32::MAX),
            None
        );
        let far = cal.add_working_days(date(2026, 1, 1), 1_000_000);
        assert_eq!(cal.working_days_between(date(2026, 1, 1), far), 1_000_000);
        assert!(cal.is_working_day(far));
        assert!(cal.working_days_between(NaiveDate::MIN, NaiveDate::MAX) > 0);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 2015 to 2035: feed years and computed years on both sides.
        (0u64..21 * 366).prop_map(|d| date(2015, 1, 1) + Days::new(d))
    }

    proptest! {
        #[test]
        fn adding_lands_on_a_working_day(start in any_date(), n in 1u32..700) {
            let cal = england();
            let end = cal.add_working_days(start, n);
            prop_assert!(cal.is_working_day(end));
            prop_assert!(!matches!(end.weekday(), Weekday::Sat | Weekday::Sun));
            prop_assert!(!cal.holidays_in(end.year()).contains(&end));
        }

        #[test]
        fn adding_is_strictly_monotonic(start in any_date(), n in 0u32..700) {
            let cal = england();
            prop_assert!(cal.add_working_days(start, n) < cal.add_working_days(start, n + 1));
        }

        #[test]
        fn between_inverts_adding(start in any_date(), n in 0u32..700) {
            let cal = england();
            let end = cal.add_working_days(start, n);
            prop_assert_eq!(cal.working_days_between(start, end), i64::from(n));
            prop_assert_eq!(cal.working_days_between(end, start), -i64::from(n));
        }

        #[test]
        fn between_matches_counting_day_by_day(a in any_date(), span in 0u64..800) {
            let cal = england();
            let b = a + Days::new(span);
            let counted = a.iter_days().skip(1).take_while(|d| *d <= b)
                .filter(|d| cal.is_working_day(*d)).count();
            prop_assert_eq!(cal.working_days_between(a, b), counted as i64);
        }

        #[test]
        fn rules_give_eight_distinct_weekdays(year in 1900i32..3000) {
            let days = statutory_holidays(year);
            prop_assert_eq!(days.len(), 8);
            prop_assert!(days.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(days.iter().all(|d| d.year() == year && !is_weekend(*d)));
        }

        #[test]
        fn working_hours_end_inside_working_time(
            start in any_date(), minute in 0u32..24 * 60, hours in 1u32..200,
        ) {
            let cal = england();
            let t = start.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(minute));
            let end = cal.add_working_hours(t, hours);
            prop_assert!(end > t);
            prop_assert!(cal.is_working_day(end.date()));
            prop_assert!(end.time() > OPENING && end.time() <= CLOSING);
            prop_assert!(cal.add_working_hours(t, hours + 1) > end);
        }
    }

    // ---- London time, across both clock changes ----

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc 3339")
            .with_timezone(&Utc)
    }

    fn rfc(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// The last Sunday of a month: the clocks change at 01:00 UTC on the last
    /// Sunday of March (forward) and of October (back). Written from that
    /// rule, not from chrono-tz, so the properties below check the zone too.
    fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let mut d = date(year, month + 1, 1).pred_opt().expect("a day");
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt().expect("a day");
        }
        d
    }

    fn change(year: i32, month: u32) -> DateTime<Utc> {
        last_sunday(year, month)
            .and_hms_opt(1, 0, 0)
            .expect("01:00")
            .and_utc()
    }

    /// London wall time by the rule: UTC+1 from the March change to the October one.
    fn wall(t: DateTime<Utc>) -> NaiveDateTime {
        let bst = t >= change(t.year(), 3) && t < change(t.year(), 10);
        t.naive_utc() + TimeDelta::hours(i64::from(bst))
    }

    /// Working time counted a minute at a time: the instant the `minutes`-th
    /// working minute after `start` ends.
    fn by_the_minute(cal: &Calendar, start: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        let (mut t, mut left) = (start, minutes);
        while left > 0 {
            let w = wall(t);
            if cal.is_working_day(w.date()) && w.time() >= OPENING && w.time() < CLOSING {
                left -= 1;
            }
            t += TimeDelta::minutes(1);
        }
        t
    }

    /// Whole-minute instants within a week either side of a clock change,
    /// 2018 to 2035 (feed years and computed ones).
    fn near_a_clock_change() -> impl Strategy<Value = DateTime<Utc>> {
        (2018i32..2036, prop::bool::ANY, -7 * 24 * 60i64..7 * 24 * 60).prop_map(
            |(year, spring, minutes)| {
                change(year, if spring { 3 } else { 10 }) + TimeDelta::minutes(minutes)
            },
        )
    }

    #[test]
    fn the_clock_changes_are_on_the_last_sundays() {
        assert_eq!(rfc(change(2026, 3)), "2026-03-29T01:00:00Z");
        assert_eq!(rfc(change(2026, 10)), "2026-10-25T01:00:00Z");
        assert_eq!(rfc(change(2027, 3)), "2027-03-28T01:00:00Z");
        assert_eq!(rfc(change(2027, 10)), "2027-10-31T01:00:00Z");
        let just = |s| london(utc(s)).format("%H:%M").to_string();
        assert_eq!(just("2027-03-28T00:59:00Z"), "00:59");
        assert_eq!(just("2027-03-28T01:00:00Z"), "02:00");
        assert_eq!(just("2026-10-25T00:59:00Z"), "01:59");
        assert_eq!(just("2026-10-25T01:00:00Z"), "01:00");
    }

    #[test]
    fn london_dates_and_wall_times() {
        // 23:30 UTC on a summer day is 00:30 the next day in London.
        assert_eq!(london_date(utc("2026-07-01T23:30:00Z")), date(2026, 7, 2));
        assert_eq!(london_date(utc("2026-01-01T23:30:00Z")), date(2026, 1, 1));
        // A skipped wall time is read an hour later; a repeated one is the first.
        let skipped = at(2027, 3, 28, 1, 30);
        assert_eq!(
            from_london(skipped).map(rfc).as_deref(),
            Some("2027-03-28T01:30:00Z")
        );
        let repeated = at(2026, 10, 25, 1, 30);
        assert_eq!(
            from_london(repeated).map(rfc).as_deref(),
            Some("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            from_london(at(2026, 7, 1, 17, 0)).map(rfc).as_deref(),
            Some("2026-07-01T16:00:00Z")
        );
    }

    /// Computed by hand, each with the London wall times it passes through.
    #[test]
    fn working_hours_in_london_by_hand() {
        let cal = england();
        let hours = |from: &str, n| cal.working_hours_after(utc(from), n).map(rfc);
        // Good Friday 26 March 2027, 16:00 GMT: not a working day. The clocks
        // go forward on Sunday 28th, Monday 29th is Easter Monday: the count
        // starts Tuesday 30 March 09:00 BST, and ends 11:00 BST = 10:00 UTC.
        assert_eq!(
            hours("2027-03-26T16:00:00Z", 2).as_deref(),
            Some("2027-03-30T10:00:00Z")
        );
        // Friday 23 October 2026, 15:00 UTC = 16:00 BST: 1 hour on Friday, the
        // clocks go back on Sunday 25th, 7 hours on Monday 26th from 09:00 GMT.
        assert_eq!(
            hours("2026-10-23T15:00:00Z", 8).as_deref(),
            Some("2026-10-26T16:00:00Z")
        );
        // Ending at the close: 17:00 BST on that Friday.
        assert_eq!(
            hours("2026-10-23T15:00:00Z", 1).as_deref(),
            Some("2026-10-23T16:00:00Z")
        );
        // 16:30 UTC in June is 17:30 BST, after the close: Tuesday 10:00 BST.
        assert_eq!(
            hours("2026-06-01T16:30:00Z", 1).as_deref(),
            Some("2026-06-02T09:00:00Z")
        );
        // 07:30 UTC in June is 08:30 BST, before opening: 10:00 BST that day.
        assert_eq!(
            hours("2026-06-01T07:30:00Z", 1).as_deref(),
            Some("2026-06-01T09:00:00Z")
        );
        // Monday 30 March 2026 (BST): 09:00 BST + 1 hour = 10:00 BST.
        assert_eq!(
            hours("2026-03-30T08:00:00Z", 1).as_deref(),
            Some("2026-03-30T09:00:00Z")
        );
        // Winter is UTC.
        assert_eq!(
            hours("2026-01-05T09:00:00Z", 9).as_deref(),
            Some("2026-01-06T10:00:00Z")
        );
        assert_eq!(
            hours("2026-06-01T11:00:00Z", 0).as_deref(),
            Some("2026-06-01T11:00:00Z")
        );
    }

    #[test]
    fn working_days_in_london_by_hand() {
        let cal = england();
        let days = |from: &str, n| cal.close_after_working_days(utc(from), n).map(rfc);
        // Wednesday 25 March 2026 + 5: Thu 26, Fri 27, (clocks forward Sun 29),
        // Mon 30, Tue 31, Wed 1 April; 17:00 BST = 16:00 UTC.
        assert_eq!(
            days("2026-03-25T10:00:00Z", 5).as_deref(),
            Some("2026-04-01T16:00:00Z")
        );
        // Friday 23 October 2026 (BST) + 1: Monday 26th, 17:00 GMT.
        assert_eq!(
            days("2026-10-23T10:00:00Z", 1).as_deref(),
            Some("2026-10-26T17:00:00Z")
        );
        // 23:30 UTC on Monday 1 June is Tuesday 00:30 in London: + 1 is Wednesday.
        assert_eq!(
            days("2026-06-01T23:30:00Z", 1).as_deref(),
            Some("2026-06-03T16:00:00Z")
        );
        // Friday 28 August 2026 + 5, past the summer bank holiday: Monday 7 September.
        assert_eq!(
            days("2026-08-28T10:30:00Z", 5).as_deref(),
            Some("2026-09-07T16:00:00Z")
        );
    }

    proptest! {
        #[test]
        fn working_hours_match_counting_minutes_in_london(
            start in near_a_clock_change(), hours in 1u32..40,
        ) {
            let cal = england();
            let due = cal.working_hours_after(start, hours).expect("in range");
            prop_assert_eq!(due, by_the_minute(&cal, start, hours * 60));
            let w = wall(due);
            prop_assert_eq!(london(due), w);
            prop_assert!(cal.is_working_day(w.date()));
            prop_assert!(w.time() > OPENING && w.time() <= CLOSING);
        }

        #[test]
        fn working_days_close_at_17_london(start in near_a_clock_change(), days in 0u32..30) {
            let cal = england();
            let due = cal.close_after_working_days(start, days).expect("in range");
            let w = wall(due);
            prop_assert_eq!(w.time(), CLOSING);
            prop_assert_eq!(cal.working_days_between(wall(start).date(), w.date()), i64::from(days));
            prop_assert!(days == 0 || cal.is_working_day(w.date()));
            // 16:00 UTC in summer time, 17:00 UTC in winter.
            let summer =
                w.date() >= last_sunday(w.year(), 3) && w.date() < last_sunday(w.year(), 10);
            prop_assert_eq!(due.hour(), if summer { 16 } else { 17 });
        }

        #[test]
        fn london_wall_time_round_trips(t in near_a_clock_change()) {
            prop_assert_eq!(london(t), wall(t));
            let back = from_london(london(t)).expect("in range");
            // Only the repeated hour in October has two instants; the first is given.
            let repeated = t >= change(t.year(), 10) && t < change(t.year(), 10) + TimeDelta::hours(1);
            prop_assert_eq!(back, if repeated { t - TimeDelta::hours(1) } else { t });
        }
    }
}
