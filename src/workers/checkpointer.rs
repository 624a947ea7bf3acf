//! The checkpointer: signs a checkpoint of the current tree on a timer (never
//! two that disagree: `service::checkpoint::sign_current`).

use std::time::Duration;

use crate::service::checkpoint::{self, LogKey};
use crate::store::db::{write_tx, Pool};

/// Sign a checkpoint every `every` while the ledger grows (call inside the actix system).
pub fn spawn_checkpointer(pool: Pool, log: LogKey, every: Duration) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            // No new work once shutdown has begun; the guard holds it open.
            let Some(_busy) = crate::workers::shutdown::busy() else {
                return;
            };
            let key = log.clone();
            let signed = crate::store::db::run(&pool, move |conn| {
                write_tx(conn, |conn| checkpoint::sign_current(conn, &key))
            })
            .await;
            if let Err(e) = signed {
                tracing::error!(error = %e, "periodic checkpoint failed");
            }
        }
    });
}
