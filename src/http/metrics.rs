//! Prometheus metrics: the recorder, the HTTP middleware and the exposition.
//!
//! Counters and histograms the process records as it runs (HTTP requests,
//! ledger appends, deadline sweeps) go to one global recorder, installed by
//! [`install`]. The product's figures ([`Figures`]) are read from the database
//! at scrape time and rendered by a recorder of their own, so each scrape
//! reports its database as it is now. Both use `metrics-exporter-prometheus`
//! for the text format.
//!
//! HTTP metrics follow the OpenTelemetry HTTP server conventions in their
//! Prometheus form: `http_server_request_duration_seconds` (a histogram, whose
//! `_count` is the request count) labelled `http_request_method`, `http_route`
//! (the route template, `unmatched` for a path no route matches) and
//! `http_response_status_code`.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::core::metrics::{APPEND_DURATION, HTTP_DURATION, SWEEPS, SWEEP_LAST_SUCCESS};
use crate::service::figures::Figures;

/// OpenTelemetry's advised boundaries for `http.server.request.duration`.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const APPEND_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Install the global recorder once per process; later calls return the same handle.
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Setting buckets fails only for an empty list; ours are constants,
        // so the fallback (default summaries) is never taken.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(APPEND_DURATION.into()), &APPEND_BUCKETS)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only the database figures");
        }
        metrics::describe_histogram!(
            HTTP_DURATION,
            metrics::Unit::Seconds,
            "Duration of HTTP server requests"
        );
        metrics::describe_histogram!(
            APPEND_DURATION,
            metrics::Unit::Seconds,
            "Time to append one ledger entry (chain and Merkle tree), inside its transaction"
        );
        metrics::describe_counter!(SWEEPS, "Deadline sweeps run by this process, by outcome");
        metrics::describe_gauge!(
            SWEEP_LAST_SUCCESS,
            metrics::Unit::Seconds,
            "Unix time of this process's last successful deadline sweep"
        );
        handle
    })
}

/// Time every request and count it by route template, method and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let before = req.match_pattern();
    let res = next.call(req).await;
    let (route, status) = match &res {
        Ok(r) => (r.request().match_pattern().or(before), r.status().as_u16()),
        Err(e) => (before, e.as_response_error().status_code().as_u16()),
    };
    metrics::histogram!(
        HTTP_DURATION,
        "http_request_method" => method,
        "http_route" => route.unwrap_or_else(|| "unmatched".into()),
        "http_response_status_code" => status.to_string(),
    )
    .record(start.elapsed().as_secs_f64());
    res
}

/// The exposition: the process's own metrics, then `figures` (with the
/// configured witness `quorum`), in the Prometheus text format.
pub fn render(figures: &Figures, quorum: u32) -> String {
    let global = install();
    global.run_upkeep();
    let mut out = global.render();
    let local = PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&local, || record_figures(figures, quorum));
    out.push_str(&local.handle().render());
    out
}

fn record_figures(f: &Figures, quorum: u32) {
    use metrics::{describe_gauge, gauge};
    describe_gauge!("escalation_ledger_entries", "Entries in the ledger");
    gauge!("escalation_ledger_entries").set(f.ledger_size as f64);
    describe_gauge!(
        "escalation_ledger_checkpoint_size",
        "Size of the newest signed checkpoint (0: none yet)"
    );
    gauge!("escalation_ledger_checkpoint_size").set(f.checkpoint_size.unwrap_or(0) as f64);
    if let Some(age) = f.checkpoint_age_seconds {
        describe_gauge!(
            "escalation_ledger_checkpoint_age_seconds",
            metrics::Unit::Seconds,
            "Seconds since the newest checkpoint was signed"
        );
        gauge!("escalation_ledger_checkpoint_age_seconds").set(age);
    }
    describe_gauge!(
        "escalation_ledger_checkpoint_cosignatures",
        "Witness cosignatures on the newest checkpoint"
    );
    gauge!("escalation_ledger_checkpoint_cosignatures").set(f.cosignatures as f64);
    describe_gauge!(
        "escalation_ledger_witness_quorum",
        "Cosignatures a checkpoint needs to count as fully witnessed"
    );
    gauge!("escalation_ledger_witness_quorum").set(f64::from(quorum));
    describe_gauge!(
        "escalation_ledger_outbox_deliveries",
        "Webhook deliveries by status: pending (to be tried) and failed (attempts exhausted)"
    );
    gauge!("escalation_ledger_outbox_deliveries", "status" => "pending")
        .set(f.outbox_pending as f64);
    gauge!("escalation_ledger_outbox_deliveries", "status" => "failed").set(f.outbox_failed as f64);
    describe_gauge!("escalation_ledger_open_disputes", "Open disputes by rung");
    for (rung, n) in &f.open_by_rung {
        gauge!("escalation_ledger_open_disputes", "rung" => rung.clone()).set(*n as f64);
    }
    describe_gauge!(
        "escalation_ledger_overdue_disputes",
        "Open disputes past their rung's deadline"
    );
    gauge!("escalation_ledger_overdue_disputes").set(f.overdue as f64);
}
