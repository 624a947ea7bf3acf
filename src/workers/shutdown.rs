//! Stopping the background tasks at a safe point.
//!
//! A task takes a [`busy`] guard for each unit of work (a sweep, a checkpoint,
//! an outbox round); once [`begin`] is called no new guard is handed out, so
//! the task stops before its next unit. [`drain`] then waits for the units in
//! progress, and for every open database transaction, to finish.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static STOPPING: AtomicBool = AtomicBool::new(false);
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// One unit of background work in progress.
#[must_use]
pub struct Busy(());

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A guard for one unit of work, or `None` once shutdown has begun: stop then.
pub fn busy() -> Option<Busy> {
    BUSY.fetch_add(1, Ordering::SeqCst);
    if STOPPING.load(Ordering::SeqCst) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(Busy(()))
}

/// Whether shutdown has begun.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Begin shutdown: background tasks take no new work.
pub fn begin() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// Wait until no background work is in progress and no transaction is open,
/// or until `deadline`; whether everything finished.
pub async fn drain(deadline: Instant) -> bool {
    loop {
        let busy = BUSY.load(Ordering::SeqCst);
        let open = crate::store::db::open_transactions();
        if busy == 0 && open == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                busy,
                open_transactions = open,
                "shutdown grace ran out with work in progress; its transactions roll back"
            );
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}
