//! `/_galleryd/metrics`: Prometheus' text format, with ARM requests counted by operationId and
//! status, their latency histogram, and the bytes and copies replication moved per region pair,
//! each moving as the test makes requests and replicates a version.
//!
//! The recorder is one per process and the tests of this binary run in parallel, so every check
//! compares what this test did with the difference between two scrapes, on labels only it touches
//! (a status only its fault rule answers).

use galleryd_tests::{TestApp, both_stores};
use reqwest::Method;
use serde_json::json;

use crate::disks::{self, MIB};
use crate::gallery_image_versions::{
    gallery, succeeded, target, upload_snapshot, version_body, version_path,
};

async fn scrape(app: &TestApp) -> String {
    let response = app.request(Method::GET, "/_galleryd/metrics", None).await;
    response.assert_status(200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "{:?}",
        response.header("content-type")
    );
    response.text
}

/// The value of the sample `name{labels}` (labels as Prometheus writes them), 0 when absent.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            (series == name_and_labels)
                .then(|| value.parse().ok())
                .flatten()
        })
        .unwrap_or(0.0)
}

both_stores! {
    async fn requests_and_replication_move_the_metrics(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        // A status only this test's rule answers: its count is this test's alone.
        let status = match app.backend {
            galleryd_tests::Backend::Postgres => 507,
            galleryd_tests::Backend::Sqlite => 508,
        };
        let rule = json!({
            "match": {"operationId": "Galleries_Get"},
            "action": {"kind": "error", "status": status, "code": "InternalServerError"},
            "times": 3
        });
        app.request(Method::POST, "/_galleryd/faults", Some(&rule)).await.assert_status(201);
        let series = format!("galleryd_requests_total{{operation=\"Galleries_Get\",status=\"{status}\"}}");
        let before = scrape(&app).await;
        for _ in 0..3 {
            assert_eq!(app.get(&app.gallery_path("rg", "gallery")).await.status, status);
        }
        let after = scrape(&app).await;
        assert_eq!(sample(&after, &series) - sample(&before, &series), 3.0, "{after}");
        let latencies = "galleryd_request_duration_seconds_count{operation=\"Galleries_Get\"}";
        assert!(sample(&after, latencies) - sample(&before, latencies) >= 3.0, "{after}");
        assert!(after.contains("# TYPE galleryd_request_duration_seconds histogram"), "{after}");

        let data = disks::pattern(7, 3 * MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let bytes = "galleryd_replication_bytes_total{source_region=\"westus\",destination_region=\"eastus\"}";
        let copies = "galleryd_replica_copies_total{source_region=\"westus\",destination_region=\"eastus\",outcome=\"completed\"}";
        let before = scrape(&app).await;
        let created = app.put(&version_path(&app, "1.0.0"), &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)])).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let after = scrape(&app).await;
        assert!(sample(&after, bytes) - sample(&before, bytes) >= data.len() as f64, "{after}");
        assert!(sample(&after, copies) - sample(&before, copies) >= 1.0, "{after}");
    }
}
