//! The names of the service's own metrics, shared by every layer that records
//! one (the store times appends, the sweeper counts its runs, the HTTP edge
//! times requests and renders them all at `/metrics`).

/// The HTTP server histogram (OpenTelemetry `http.server.request.duration`).
pub const HTTP_DURATION: &str = "http_server_request_duration_seconds";
/// The store's append histogram (recorded in `store::ledger`).
pub const APPEND_DURATION: &str = "escalation_ledger_append_duration_seconds";
/// Deadline sweeps, by outcome (recorded by the sweeper).
pub const SWEEPS: &str = "escalation_ledger_deadline_sweeps_total";
/// When the last sweep succeeded (Unix seconds).
pub const SWEEP_LAST_SUCCESS: &str =
    "escalation_ledger_deadline_sweep_last_success_timestamp_seconds";
/// Witness pushes (tlog-witness `add-checkpoint`), by outcome (recorded by the pusher).
pub const WITNESS_PUSHES: &str = "escalation_ledger_witness_pushes_total";
/// Witness pushes refused with 403, 422 or a bad answer, by witness: an alert.
pub const WITNESS_PUSH_ALERTS: &str = "escalation_ledger_witness_push_alerts_total";
/// Commands per ledger batch (recorded by `service::sequencer`).
pub const BATCH_SIZE: &str = "escalation_ledger_batch_size";
