//! What galleryd measures, in Prometheus' text format at `/_galleryd/metrics`.
//!
//! Everything records through the `metrics` facade; one Prometheus recorder per process (installed
//! on first use, so several servers in one test process share it) renders them. Recorded here:
//! ARM requests by operationId and status (`galleryd_requests_total`) and their latency
//! (`galleryd_request_duration_seconds`, a histogram by operationId); resets and injected faults.
//! The replication workers record the bytes and copies per region pair
//! (`galleryd_replication_bytes_total`, `galleryd_replica_copies_total`).

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency histogram buckets, in seconds: ARM requests take milliseconds; polls wait up to 0.5 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /_galleryd/metrics stays empty");
        }
        handle
    })
}

/// Installs the recorder (call at start, so measurements before the first scrape count).
pub fn install() {
    let _ = handle();
}

/// Counts one ARM request and its latency.
pub fn record_request(operation: &'static str, status: u16, elapsed: Duration) {
    metrics::counter!("galleryd_requests_total", "operation" => operation, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("galleryd_request_duration_seconds", "operation" => operation)
        .record(elapsed.as_secs_f64());
}

/// `GET /_galleryd/metrics`: every measurement in Prometheus' text exposition format.
pub async fn render() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}
