//! "Now" for the domain: the instant the ledger records, deadlines are swept
//! against and "today" (a London date) is taken from.
//!
//! In production this is the system clock. Tests that depend on the date (a
//! deadline counted across midnight in London, a recommendation overdue
//! "today") start the binary with the hidden setting `TEST_CLOCK` (an RFC
//! 3339 instant): the process's clock then starts at that instant and runs on
//! at the system clock's pace ([`Clock::starting_at`]). It is documented as for
//! tests only, and changes nothing unless it is set.
//!
//! Token lifetimes (`exp`, `nbf`) and timeouts are real time and do not use this
//! clock: they are about the caller's wall clock, not the ledger's.
//!
//! The clock is set once per process ([`install`]), before any work starts;
//! reading it ([`now`]) is a lock-free load. No I/O.
//!
//! A thread may carry a clock of its own ahead of the process's: an in-process
//! test app (many share one test process) starts its server inside
//! [`scoped`], and the server hands the clock on wherever work changes thread:
//! to its HTTP workers and the sequencer ([`set_for_thread`]) and into each
//! blocking task (`store::db::run`, [`scoped`]). In production no thread has
//! one of its own, or has the process's.

use std::cell::Cell;
use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};

/// A clock: the system clock moved by a fixed offset (zero in production).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The system clock.
    pub const SYSTEM: Clock = Clock {
        offset: TimeDelta::zero(),
    };

    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::starting_at_from(start, Utc::now())
    }

    /// [`Clock::starting_at`], given what the system clock reads now.
    pub fn starting_at_from(start: DateTime<Utc>, system_now: DateTime<Utc>) -> Clock {
        Clock {
            offset: start - system_now,
        }
    }

    /// What this clock reads when the system clock reads `system_now`.
    pub fn at(&self, system_now: DateTime<Utc>) -> DateTime<Utc> {
        system_now + self.offset
    }

    /// What this clock reads now.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// How far this clock is from the system clock.
    pub fn offset(&self) -> TimeDelta {
        self.offset
    }
}

static PROCESS: OnceLock<Clock> = OnceLock::new();

/// Set this process's clock. Only the first call counts; it answers whether
/// this one did.
pub fn install(clock: Clock) -> bool {
    PROCESS.set(clock).is_ok()
}

thread_local! {
    static THREAD: Cell<Option<Clock>> = const { Cell::new(None) };
}

/// This thread's clock: its own if it has one ([`set_for_thread`],
/// [`scoped`]), else the process's, which is the system clock unless
/// [`install`] set another.
pub fn current() -> Clock {
    THREAD
        .with(Cell::get)
        .unwrap_or_else(|| PROCESS.get().copied().unwrap_or(Clock::SYSTEM))
}

/// Give this thread `clock` for the rest of its life: for threads a server
/// starts for itself (its HTTP workers, the sequencer).
pub fn set_for_thread(clock: Clock) {
    THREAD.with(|c| c.set(Some(clock)));
}

/// Run `f` with `clock` as this thread's, then give the thread back the
/// clock it had (also if `f` panics): for work lent to a pooled thread.
pub fn scoped<R>(clock: Clock, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Clock>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(THREAD.with(|c| c.replace(Some(clock))));
    f()
}

/// Now, on this process's clock.
pub fn now() -> DateTime<Utc> {
    current().now()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_clock_started_at_an_instant_runs_on_from_it() {
        let system = t("2026-12-01T14:00:00Z");
        let c = Clock::starting_at_from(t("2026-07-01T23:30:00Z"), system);
        assert_eq!(c.at(system), t("2026-07-01T23:30:00Z"));
        assert_eq!(c.at(t("2026-12-01T14:45:10Z")), t("2026-07-02T00:15:10Z"));
        assert_eq!(c.offset(), t("2026-07-01T23:30:00Z") - system);
    }

    #[test]
    fn a_thread_clock_comes_before_the_process_clock_and_is_put_back() {
        let june = Clock::starting_at(t("2026-06-10T10:00:00Z"));
        let july = Clock::starting_at(t("2026-07-01T10:00:00Z"));
        // The process's clock (the system's, unless a test installed one).
        fn process() -> Clock {
            PROCESS.get().copied().unwrap_or(Clock::SYSTEM)
        }
        // A fresh thread has no clock of its own.
        std::thread::spawn(move || {
            assert_eq!(current(), process());
            let inner = scoped(june, || {
                assert_eq!(current(), june);
                let nested = scoped(july, current);
                assert_eq!(current(), june, "the outer clock is back");
                (nested, now())
            });
            assert_eq!(inner.0, july);
            assert_eq!(inner.1.date_naive().to_string(), "2026-06-10");
            assert_eq!(current(), process(), "the thread's clock is back");
            let unwound = std::panic::catch_unwind(|| scoped(june, || panic!("in f")));
            assert!(unwound.is_err());
            assert_eq!(current(), process(), "put back after a panic too");
            set_for_thread(july);
            assert_eq!(current(), july);
            assert_eq!(now().date_naive().to_string(), "2026-07-01");
        })
        .join()
        .expect("the thread's checks");
        // Another thread's clock is not this one's.
        std::thread::spawn(|| assert_eq!(current(), process()))
            .join()
            .expect("a fresh thread");
    }

    #[test]
    fn the_system_clock_has_no_offset() {
        let system = t("2026-12-01T14:00:00Z");
        assert_eq!(Clock::SYSTEM.at(system), system);
        assert_eq!(Clock::default(), Clock::SYSTEM);
        let before = Utc::now();
        let read = Clock::SYSTEM.now();
        assert!(read >= before && read <= Utc::now());
    }
}
