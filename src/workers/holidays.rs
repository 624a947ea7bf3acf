//! The holiday watcher: re-reads the bank holiday feed file on a timer and
//! installs a changed, valid one ([`Watch::check`]).

use std::time::Duration;

use crate::service::holidays::Watch;

/// Re-read the feed every `every` (call inside the actix system).
pub fn spawn_watcher(watch: Watch, every: Duration) {
    actix_web::rt::spawn(async move {
        let mut watch = watch;
        let mut tick = actix_web::rt::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(_busy) = crate::workers::shutdown::busy() else {
                return;
            };
            watch = match actix_web::rt::task::spawn_blocking(move || {
                watch.check();
                watch
            })
            .await
            {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, "bank holiday feed watcher stopped");
                    return;
                }
            };
        }
    });
}
