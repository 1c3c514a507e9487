//! An API-only galleryd (`--workers 0`) on Postgres killed with SIGKILL in the middle of writes:
//! creates of galleries, image definitions and image versions (whose replication waits for a
//! worker), updates and deletes, from several clients at once.
//!
//! Every write is one transaction, so after the kill nothing may be half-created: each acknowledged
//! write is there, each write that got no answer is there whole or not at all, usage counters match
//! the resources and every resource has its operation. After a restart (now with workers) every
//! operation ends (`Succeeded`, `Failed` or `Canceled`), every version the clients saw accepted is
//! replicated, and writes succeed again.

use std::sync::Arc;
use std::time::Duration;

use galleryd_tests::{Backend, GALLERY_API, TempDirectory, TestApp, TestDatabase};
use serde_json::json;
use tokio::sync::Mutex;

use crate::consistency;
use crate::disks::{self, MIB};
use crate::gallery_image_versions::{target, upload_snapshot, version_body};
use crate::replication_recovery::start_process;

/// One write and what the client heard.
#[derive(Debug, Clone)]
struct Write {
    method: reqwest::Method,
    /// The resource's path.
    path: String,
    /// `None`: no answer (the process died first).
    status: Option<u16>,
}

/// The writes a client makes, in rounds, until the process dies: a new gallery, a new image
/// definition in the shared gallery, a new version of the shared image definition (replicated to
/// two regions), an update of the new definition, and the delete of the new (empty) gallery.
async fn write_until_killed(
    client: reqwest::Client,
    base: String,
    app_paths: Arc<Paths>,
    writer: usize,
    writes: Arc<Mutex<Vec<Write>>>,
) {
    for round in 0.. {
        let gallery = format!(
            "{}/providers/Microsoft.Compute/galleries/g{writer}x{round}",
            app_paths.group
        );
        let image = format!("{}/images/def{writer}x{round}", app_paths.gallery);
        let version = format!("{}/versions/{writer}.{round}.0", app_paths.image);
        let steps: Vec<(reqwest::Method, String, Option<serde_json::Value>)> = vec![
            (
                reqwest::Method::PUT,
                gallery.clone(),
                Some(json!({"location": "westus"})),
            ),
            (
                reqwest::Method::PUT,
                image.clone(),
                Some(TestApp::image_body(
                    "killed",
                    &format!("o{writer}x{round}"),
                    "s",
                )),
            ),
            (
                reqwest::Method::PUT,
                version.clone(),
                Some(version_body(
                    &app_paths.snapshot,
                    &[target("westus", 1), target("eastus", 1)],
                )),
            ),
            (
                reqwest::Method::PATCH,
                image.clone(),
                Some(json!({"properties": {"description": format!("round {round}")}})),
            ),
            (reqwest::Method::DELETE, gallery.clone(), None),
        ];
        for (method, path, body) in steps {
            let mut request = client.request(
                method.clone(),
                format!("{base}{path}?api-version={GALLERY_API}"),
            );
            if let Some(body) = &body {
                request = request.json(body);
            }
            let status = match request.send().await {
                Ok(response) => Some(response.status().as_u16()),
                Err(_) => None,
            };
            writes.lock().await.push(Write {
                method,
                path,
                status,
            });
            if status.is_none() {
                return;
            }
        }
    }
}

/// The paths every writer shares.
struct Paths {
    group: String,
    gallery: String,
    image: String,
    snapshot: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_only_process_killed_mid_writes_leaves_nothing_half_done() {
    let directory = TempDirectory::new();
    let data_dir = directory.0.join("data");
    std::fs::create_dir_all(&data_dir).expect("data directory");
    let database = TestDatabase::create().await;
    let database_url = database.url.clone();
    let data_dir_text = data_dir.to_string_lossy().to_string();
    let api_only = [
        ("GALLERYD_DATA_DIR", data_dir_text.as_str()),
        ("GALLERYD_DATABASE_URL", database_url.as_str()),
        ("GALLERYD_HTTPS_PORT", "0"),
        ("GALLERYD_HTTP_PORT", "0"),
        ("GALLERYD_LOG_LEVEL", "warn"),
        ("GALLERYD_WORKERS", "0"),
    ];
    let logs = directory.0.clone();
    let (mut process, http) = start_process(&api_only, &data_dir, &logs).await;
    let mut app = TestApp::for_process(
        Backend::Postgres,
        http.clone(),
        data_dir.clone(),
        Some(database),
        TempDirectory::new(),
    );
    crate::gallery_image_versions::gallery(&app).await;
    let snapshot = upload_snapshot(&app, "rg", "os", &disks::pattern(5, MIB as usize)).await;
    let paths = Arc::new(Paths {
        group: app.group_path("rg"),
        gallery: app.gallery_path("rg", "gallery"),
        image: app.image_path("rg", "gallery", "ubuntu"),
        snapshot,
    });

    let writes = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        writers.push(tokio::spawn(write_until_killed(
            client,
            http.clone(),
            paths.clone(),
            writer,
            writes.clone(),
        )));
    }
    // Let the writers get going, then kill the process in the middle of their writes.
    for _ in 0..200 {
        if writes.lock().await.len() >= 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    process.child.kill().expect("SIGKILL");
    process.child.wait().expect("killed");
    for writer in writers {
        writer.await.expect("writer");
    }
    let writes = writes.lock().await.clone();
    let unanswered = writes.iter().filter(|write| write.status.is_none()).count();
    assert!(
        writes.len() >= 60,
        "too few writes before the kill: {writes:?}"
    );
    assert!(unanswered >= 1, "no write was cut off by the kill");

    // Right after the kill, before anything runs again: the tables are whole.
    consistency::assert_resources_whole(&database_url).await;

    // Restart with workers: every operation ends, every accepted version replicates.
    let mut environment: Vec<(&str, &str)> = api_only
        .iter()
        .copied()
        .filter(|(name, _)| *name != "GALLERYD_WORKERS")
        .collect();
    environment.push(("GALLERYD_WORKER_LEASE_SECONDS", "2"));
    let (mut restarted, http) = start_process(&environment, &data_dir, &logs).await;
    app.http = http;
    consistency::wait_until_every_operation_ended(&database_url, Duration::from_secs(60)).await;
    consistency::assert_resources_whole(&database_url).await;

    for write in &writes {
        if write.method != reqwest::Method::PUT {
            continue; // updates and deletes are checked through the resources they touch
        }
        let response = app.get(&write.path).await;
        let acknowledged = matches!(write.status, Some(200 | 201));
        // A delete that got no answer may have been applied before the kill (its commit can
        // land before the process dies): the resource may then be gone as well.
        let deleted_later = writes.iter().any(|other| {
            other.method == reqwest::Method::DELETE
                && other.path == write.path
                && other.status.is_none_or(|status| status < 300)
        });
        match response.status {
            200 => assert_eq!(
                response.json()["properties"]["provisioningState"],
                "Succeeded",
                "{} after the restart: {}",
                write.path,
                response.text
            ),
            404 => assert!(
                !acknowledged || deleted_later || write.status.is_some_and(|status| status >= 400),
                "{} was acknowledged ({:?}) but is gone; output:\n{}",
                write.path,
                write.status,
                restarted.output()
            ),
            other => panic!("{} answers {other}: {}", write.path, response.text),
        }
    }
    let in_progress = consistency::operations_in_progress(&database_url).await;
    assert!(in_progress.is_empty(), "{in_progress:?}");

    // And it serves writes again.
    app.create_image("rg", "gallery", "after", "killed", "after", "s")
        .await;
    println!(
        "api process killed: {} writes, {} unanswered",
        writes.len(),
        unanswered
    );
    restarted.terminate();
    restarted.wait_for_exit(20).await;
}
