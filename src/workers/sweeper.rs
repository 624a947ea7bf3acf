//! The deadline sweeper: records missed and approaching deadlines on a timer.

use std::time::Duration;

use crate::store::db::Pool;

/// Record missed deadlines, and warn of those within `warning_hours` working
/// hours (0: no warnings), every `every` (call inside the actix system). Each
/// sweep is one write transaction, so several instances may run it at once.
pub fn spawn_deadline_sweeper(pool: Pool, every: Duration, warning_hours: u32) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            let swept = crate::store::db::run(&pool, move |conn| {
                let policies = crate::service::policy_store::all(conn)?;
                crate::service::deadline::sweep(conn, &policies, warning_hours, chrono::Utc::now())
            })
            .await;
            if let Err(e) = swept {
                tracing::error!(error = %e, "deadline sweep failed");
            }
        }
    });
}
