//! The sequencer: group commit for one process's ledger writes.
//!
//! Callers hand a write command (a closure over the connection, which opens its
//! own [`crate::store::db::write_tx`] as before) to [`Sequencer::submit`] and
//! await its result. One writer thread takes what is waiting, up to
//! [`Batching::max`] commands, waiting at most [`Batching::linger`] for more
//! once the first has arrived, and opens ONE write transaction for all of
//! them (`BEGIN IMMEDIATE` on SQLite, the advisory lock on PostgreSQL). Each
//! command runs in its own savepoint against the state the earlier ones left:
//! a command that fails (a refusal, a 4xx) has its writes rolled back and gets
//! its own answer; the others are untouched. A `write_tx` inside a batch is a
//! savepoint too (`store::db`). The batch commits once, and only then is any
//! waiter answered: an acknowledgement always means the commit (and, with
//! SQLite `synchronous = FULL` or PostgreSQL `synchronous_commit = on`, the
//! flush) happened.
//!
//! A storage failure (no connection, a savepoint that cannot be rolled back,
//! the commit refused) fails the whole batch: every waiter gets
//! [`StoreError::Unavailable`] (503), and nothing of the batch is kept.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::store::db::{savepoint, write_tx, DbConn, Pool};
use crate::store::error::{StoreError, UNAVAILABLE};

/// Default [`Batching::max`] (`BATCH_MAX`).
pub const DEFAULT_BATCH_MAX: usize = 64;
/// Default [`Batching::linger`] (`BATCH_LINGER`).
pub const DEFAULT_BATCH_LINGER: Duration = Duration::from_millis(1);

/// How many batch sizes a [`BatchLog`] keeps (the newest).
pub const LOG_KEEP: usize = 4096;

/// How the sequencer groups commands.
#[derive(Debug, Clone)]
pub struct Batching {
    /// At most this many commands per transaction (at least 1).
    pub max: usize,
    /// After the first command of a batch arrives, wait at most this long for
    /// more (zero: take only what is already waiting).
    pub linger: Duration,
    /// Where the sizes of committed and failed batches are noted.
    pub log: BatchLog,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max: DEFAULT_BATCH_MAX,
            linger: DEFAULT_BATCH_LINGER,
            log: BatchLog::default(),
        }
    }
}

/// The sizes of the newest batches, in order, and where their time went (a
/// debugging aid, what the tests use to show that commands shared a
/// transaction, and what `loadgen` splits a batch's time with).
#[derive(Debug, Clone, Default)]
pub struct BatchLog(Arc<Mutex<VecDeque<(BatchRecord, BatchTimes)>>>);

/// One batch: how many commands it held and whether it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRecord {
    pub size: usize,
    pub committed: bool,
}

/// Where one batch's time went, on the writer thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTimes {
    /// Check-out, `BEGIN` and the ledger lock.
    pub open: Duration,
    /// The commands, each in its savepoint.
    pub commands: Duration,
    /// `COMMIT`, with its flush to disk.
    pub commit: Duration,
}

impl BatchLog {
    /// The batches noted so far, oldest first.
    pub fn batches(&self) -> Vec<BatchRecord> {
        self.timed().into_iter().map(|(r, _)| r).collect()
    }

    /// The batches noted so far with their times, oldest first.
    pub fn timed(&self) -> Vec<(BatchRecord, BatchTimes)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }

    fn note(&self, rec: BatchRecord, times: BatchTimes) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == LOG_KEEP {
            log.pop_front();
        }
        log.push_back((rec, times));
    }
}

/// A handle on one process's writer; cheap to clone. The writer thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Sequencer {
    queue: Sender<Box<dyn Job>>,
}

impl Sequencer {
    /// Start the writer thread on `pool`.
    pub fn start(pool: Pool, batching: Batching) -> Sequencer {
        let (queue, rx) = mpsc::channel::<Box<dyn Job>>();
        // Ledger times come from the starter's clock (`core::clock`).
        let clock = crate::core::clock::current();
        let spawned = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || {
                crate::core::clock::set_for_thread(clock);
                writer(pool, batching, rx)
            });
        if let Err(e) = spawned {
            // The queue's receiver is gone with the closure: every submit
            // is then answered 503 rather than hanging.
            tracing::error!(error = %e, "the sequencer thread could not start");
        }
        Sequencer { queue }
    }

    /// Run `f` in the next batch and answer with its result once the batch has
    /// committed (or with [`StoreError::Unavailable`] if the batch failed).
    pub async fn submit<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            f: Some(f),
            result: None,
            reply,
            span: tracing::Span::current(),
        };
        if self.queue.send(Box::new(job)).is_err() {
            return Err(StoreError::Unavailable("the ledger writer has stopped".into()).into());
        }
        match answer.await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Unavailable("the ledger writer has stopped".into()).into()),
        }
    }
}

/// One queued command, its result held until the batch ends.
trait Job: Send {
    /// Run the command on the batch's connection; `true` if it succeeded.
    fn run(&mut self, conn: &mut DbConn) -> bool;
    /// Answer the waiter: its own result if the batch committed, else `fault`.
    fn settle(self: Box<Self>, fault: Option<&str>);
}

struct Pending<T, E, F> {
    f: Option<F>,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
    span: tracing::Span,
}

impl<T, E, F> Job for Pending<T, E, F>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConn) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        let _entered = self.span.enter();
        let r = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
            Err(StoreError::Internal("a ledger command panicked".into()).into())
        });
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn settle(self: Box<Self>, fault: Option<&str>) {
        let answer = match (fault, self.result) {
            (None, Some(r)) => r,
            (Some(m), _) => Err(StoreError::Unavailable(m.to_string()).into()),
            (None, None) => Err(StoreError::Internal("a ledger command never ran".into()).into()),
        };
        // The waiter may have gone (client disconnected): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

/// The writer thread: batch after batch until every handle is dropped.
fn writer(pool: Pool, batching: Batching, rx: Receiver<Box<dyn Job>>) {
    let max = batching.max.max(1);
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let until = Instant::now() + batching.linger;
        while batch.len() < max {
            let next = if batching.linger.is_zero() {
                rx.try_recv().map_err(|e| matches!(e, TryRecvError::Empty))
            } else {
                let left = until.saturating_duration_since(Instant::now());
                rx.recv_timeout(left)
                    .map_err(|e| matches!(e, RecvTimeoutError::Timeout))
            };
            match next {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Commands that queued while the linger ran out still join, up to max.
        while batch.len() < max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let size = batch.len();
        let (result, times) = apply(&pool, &mut batch);
        let fault = result.err().map(|e| {
            tracing::warn!(error = %e, size, "ledger batch failed; nothing of it kept");
            match e {
                StoreError::Unavailable(m) => m,
                _ => UNAVAILABLE.to_string(),
            }
        });
        let rec = BatchRecord {
            size,
            committed: fault.is_none(),
        };
        batching.log.note(rec, times);
        metrics::histogram!(crate::core::metrics::BATCH_SIZE).record(size as f64);
        for job in batch {
            job.settle(fault.as_deref());
        }
    }
}

/// One transaction for the whole batch, a savepoint per command; `Err` if the
/// batch as a whole failed (then nothing of it is kept). And where its time
/// went (a batch that failed before its commands counts it all as `open`).
fn apply(pool: &Pool, batch: &mut [Box<dyn Job>]) -> (Result<(), StoreError>, BatchTimes) {
    let start = Instant::now();
    let mut marks = None;
    let result = crate::store::db::checkout(pool).and_then(|mut conn| {
        write_tx(&mut conn, |conn| {
            let begun = Instant::now();
            for job in batch.iter_mut() {
                savepoint(conn, |c| job.run(c))?;
            }
            marks = Some((begun, Instant::now()));
            Ok::<(), diesel::result::Error>(())
        })
        .map_err(StoreError::from)
    });
    let end = Instant::now();
    let times = match marks {
        Some((begun, applied)) => BatchTimes {
            open: begun - start,
            commands: applied - begun,
            commit: end - applied,
        },
        None => BatchTimes {
            open: end - start,
            ..BatchTimes::default()
        },
    };
    (result, times)
}
