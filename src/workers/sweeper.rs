//! The deadline sweeper: records missed and approaching deadlines on a timer.

use std::time::Duration;

use crate::core::metrics::{SWEEPS, SWEEP_LAST_SUCCESS};
use crate::store::db::Pool;

/// Record missed deadlines, and warn of those within `warning_hours` working
/// hours (0: no warnings), every `every` (call inside the actix system). Each
/// sweep is one write transaction, so several instances may run it at once.
pub fn spawn_deadline_sweeper(pool: Pool, every: Duration, warning_hours: u32) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            // No new work once shutdown has begun; the guard holds it open.
            let Some(_busy) = crate::workers::shutdown::busy() else {
                return;
            };
            let swept = crate::store::db::run(&pool, move |conn| {
                let policies = crate::service::policy_store::all(conn)?;
                crate::service::deadline::sweep(
                    conn,
                    &policies,
                    warning_hours,
                    crate::core::clock::now(),
                )
            })
            .await;
            let outcome = if swept.is_ok() { "ok" } else { "error" };
            metrics::counter!(SWEEPS, "outcome" => outcome).increment(1);
            match swept {
                Ok(_) => metrics::gauge!(SWEEP_LAST_SUCCESS)
                    .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0),
                Err(e) => tracing::error!(error = %e, "deadline sweep failed"),
            }
        }
    });
}
