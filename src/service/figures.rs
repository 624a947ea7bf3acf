//! The product's own figures for `/metrics`, computed from the database at
//! scrape time (so every instance reports the same, and a restart loses none).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::core::ladder::Status;
use crate::service::deadline;
use crate::service::error::ServiceResult;
use crate::store::db::{read_tx, DbConn};
use crate::store::figures;
use crate::store::outbox::DeliveryStatus;

/// One snapshot of the figures.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Entries in the ledger.
    pub ledger_size: i64,
    /// The newest checkpoint's size, if one was signed.
    pub checkpoint_size: Option<i64>,
    /// Seconds since the newest checkpoint was signed.
    pub checkpoint_age_seconds: Option<f64>,
    /// Witness cosignatures on the newest checkpoint.
    pub cosignatures: i64,
    /// Outbox rows still to be delivered, and those whose attempts ran out.
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    /// Open disputes by rung id.
    pub open_by_rung: BTreeMap<String, i64>,
    /// Open disputes past their rung's deadline.
    pub overdue: i64,
}

/// Read the figures in one snapshot, as of `now` (UTC).
pub fn figures(conn: &mut DbConn, now: NaiveDateTime) -> ServiceResult<Figures> {
    let policies = crate::service::policy_store::all(conn)?;
    read_tx(conn, |conn| {
        let (ledger_size, _) = crate::service::ledger::head(conn)?;
        let newest = figures::newest_checkpoint(conn)?;
        let cosignatures = match newest {
            Some((size, _)) => figures::cosignatures_at(conn, size)?,
            None => 0,
        };
        let mut f = Figures {
            ledger_size,
            checkpoint_size: newest.map(|(s, _)| s),
            checkpoint_age_seconds: newest
                .map(|(_, at)| ((now - at).num_milliseconds() as f64 / 1000.0).max(0.0)),
            cosignatures,
            outbox_pending: figures::outbox_with_status(conn, DeliveryStatus::Pending.as_str())?,
            outbox_failed: figures::outbox_with_status(conn, DeliveryStatus::Failed.as_str())?,
            ..Figures::default()
        };
        for row in figures::disputes_with_status(conn, Status::Open.as_str())? {
            *f.open_by_rung.entry(row.3.clone()).or_default() += 1;
            let open = deadline::open_from(row)?;
            if deadline::is_overdue(&policies, &open, now) {
                f.overdue += 1;
            }
        }
        Ok(f)
    })
}
