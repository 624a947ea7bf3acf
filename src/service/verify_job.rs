//! The console's "verify the whole ledger" as a background job: one at a
//! time per process, on a thread and a pooled connection of its own, its
//! progress (entries checked of the snapshot's total) and its result kept in
//! memory so the page that shows it can be left and reloaded.
//!
//! The check is [`verify::verify_with_progress`], the same as
//! `GET /v1/ledger/verify` and `escalation-ledger verify`, on one snapshot.
//! Jobs live as long as the process: after a restart a job's page says it is
//! not known, and a new verification can be started. The last
//! [`KEPT`] finished jobs are kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDateTime;

use crate::service::error::ServiceError;
use crate::service::verify::{self, VerifyReport};
use crate::store::db::{checkout, Pool};

/// Finished jobs kept for their pages.
pub const KEPT: usize = 16;

/// How a job ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The verification ran to its end: the report says ok or what is wrong.
    Done(VerifyReport),
    /// It could not run to its end (the database failed, the thread died).
    Failed(String),
}

/// One verification, as its page shows it.
#[derive(Debug, Clone)]
pub struct Job {
    /// An unguessable id, for the job's URL.
    pub id: String,
    pub started_at: NaiveDateTime,
    /// Entries checked so far.
    pub checked: i64,
    /// Entries in the snapshot being checked (0 until the snapshot is open).
    pub total: i64,
    /// `None` while it runs.
    pub outcome: Option<Outcome>,
}

impl Job {
    /// How far it has got, 0 to 100.
    pub fn percent(&self) -> i64 {
        if self.outcome.is_some() {
            return 100;
        }
        if self.total <= 0 {
            return 0;
        }
        (self.checked.clamp(0, self.total) * 100) / self.total
    }
}

#[derive(Debug, Default)]
struct State {
    running: Option<Job>,
    finished: VecDeque<Job>,
}

/// The jobs of one process (app data: one per server, shared by its workers).
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    state: Arc<Mutex<State>>,
}

/// What [`Jobs::start`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new job with this id.
    New(String),
    /// One was already running: this one.
    Running(String),
}

impl Started {
    pub fn id(&self) -> &str {
        match self {
            Started::New(id) | Started::Running(id) => id,
        }
    }
}

/// Marks the job failed if its thread ends without an outcome (a panic).
struct Finisher {
    jobs: Jobs,
    id: String,
    done: bool,
}

impl Finisher {
    /// The job has its outcome: nothing to do on drop.
    fn disarm(&mut self) {
        self.done = true;
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if !self.done {
            self.jobs.finish(
                &self.id,
                Outcome::Failed("the verification stopped unexpectedly".into()),
            );
        }
    }
}

impl Jobs {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data: keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claim the one slot: a new job, or the one already running.
    fn claim(&self) -> Started {
        let mut s = self.lock();
        if let Some(j) = &s.running {
            return Started::Running(j.id.clone());
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        s.running = Some(Job {
            id: id.clone(),
            started_at: crate::core::clock::now().naive_utc(),
            checked: 0,
            total: 0,
            outcome: None,
        });
        Started::New(id)
    }

    fn progress(&self, id: &str, checked: i64, total: i64) {
        let mut s = self.lock();
        if let Some(j) = s.running.as_mut().filter(|j| j.id == id) {
            j.checked = checked;
            j.total = total;
        }
    }

    fn finish(&self, id: &str, outcome: Outcome) {
        let mut s = self.lock();
        if let Some(mut j) = s.running.take_if(|j| j.id == id) {
            if let Outcome::Done(r) = &outcome {
                j.checked = r.size;
                j.total = j.total.max(r.size);
            }
            j.outcome = Some(outcome);
            s.finished.push_front(j);
            s.finished.truncate(KEPT);
        }
    }

    /// Start verifying the whole ledger in the background, unless a
    /// verification is already running (then that one's id).
    pub fn start(&self, pool: Pool) -> Result<Started, ServiceError> {
        let started = self.claim();
        let Started::New(id) = &started else {
            return Ok(started);
        };
        let mut finisher = Finisher {
            jobs: self.clone(),
            id: id.clone(),
            done: false,
        };
        let span = tracing::info_span!("verify_job", job = %id);
        let spawned = std::thread::Builder::new()
            .name("verify-job".into())
            .spawn(move || {
                let _entered = span.enter();
                let jobs = finisher.jobs.clone();
                let id = finisher.id.clone();
                let outcome = match checkout(&pool) {
                    Ok(mut conn) => {
                        let mut tell = |checked, total| jobs.progress(&id, checked, total);
                        match verify::verify_with_progress(&mut conn, &mut tell) {
                            Ok(r) => Outcome::Done(r),
                            Err(e) => Outcome::Failed(e.to_string()),
                        }
                    }
                    Err(e) => Outcome::Failed(format!("database: {e}")),
                };
                match &outcome {
                    Outcome::Done(r) if r.ok => tracing::info!(size = r.size, "ledger verified"),
                    Outcome::Done(r) => tracing::error!(
                        first_bad_seq = ?r.first_bad_seq,
                        problem = ?r.problem,
                        "ledger verification failed"
                    ),
                    Outcome::Failed(why) => {
                        tracing::error!(%why, "ledger verification did not finish")
                    }
                }
                jobs.finish(&id, outcome);
                finisher.disarm();
            });
        if let Err(e) = spawned {
            // The closure (and its finisher) was dropped: the job is marked failed.
            return Err(ServiceError::Unavailable(format!(
                "the verification could not be started: {e}"
            )));
        }
        Ok(started)
    }

    /// The job with this id, running or finished.
    pub fn get(&self, id: &str) -> Option<Job> {
        let s = self.lock();
        s.running
            .iter()
            .chain(s.finished.iter())
            .find(|j| j.id == id)
            .cloned()
    }

    /// The running job, if any, and the newest finished one.
    pub fn current(&self) -> (Option<Job>, Option<Job>) {
        let s = self.lock();
        (s.running.clone(), s.finished.front().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_at_a_time_and_a_finished_one_is_kept() {
        let jobs = Jobs::default();
        let first = jobs.claim();
        assert!(matches!(first, Started::New(_)));
        assert_eq!(jobs.claim(), Started::Running(first.id().to_string()));
        jobs.progress(first.id(), 5, 10);
        let j = jobs.get(first.id()).unwrap();
        assert_eq!((j.checked, j.total, j.percent()), (5, 10, 50));
        jobs.finish(first.id(), Outcome::Failed("x".into()));
        let j = jobs.get(first.id()).unwrap();
        assert!(matches!(j.outcome, Some(Outcome::Failed(_))));
        assert_eq!(j.percent(), 100);
        let second = jobs.claim();
        assert!(matches!(second, Started::New(ref id) if id != first.id()));
        assert_eq!(jobs.current().1.map(|j| j.id), Some(first.id().to_string()));
    }

    #[test]
    fn a_job_whose_thread_dies_is_marked_failed() {
        let jobs = Jobs::default();
        let id = jobs.claim().id().to_string();
        drop(Finisher {
            jobs: jobs.clone(),
            id: id.clone(),
            done: false,
        });
        let j = jobs.get(&id).unwrap();
        assert!(matches!(j.outcome, Some(Outcome::Failed(_))));
        assert!(matches!(jobs.claim(), Started::New(_)));
    }

    #[test]
    fn only_the_finished_jobs_kept_are_remembered() {
        let jobs = Jobs::default();
        let mut ids = Vec::new();
        for _ in 0..KEPT + 2 {
            let id = jobs.claim().id().to_string();
            jobs.finish(&id, Outcome::Failed("x".into()));
            ids.push(id);
        }
        assert!(jobs.get(&ids[0]).is_none());
        assert!(jobs.get(&ids[KEPT + 1]).is_some());
    }
}
