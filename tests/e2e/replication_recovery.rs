//! Replication survives what real deployments go through: a galleryd killed with SIGKILL in the
//! middle of copies resumes them after a restart, and several galleryd processes on one Postgres
//! database share replication work without copying any replica twice.
//!
//! The crash test runs the real binary (so `kill -9` is a real process death, with copies in flight
//! and leases held), paced by the realistic profile so the kill lands mid-copy. After the restart
//! every version must reach `Succeeded` with replicas whose bytes on disk are the uploaded ones, and
//! the region stores must hold exactly the contents the database knows: nothing orphaned.

use std::collections::BTreeSet;
use std::time::Duration;

use galleryd_tests::{Backend, GallerydProcess, TempDirectory, TestApp, TestDatabase};
use serde_json::Value;

use crate::disks::{self, MIB};
use crate::gallery_image_versions::{
    assert_replicas_hold, contents_on_disk, expected_checksum, gallery, replicas, succeeded,
    target, upload_snapshot, version_body, version_path,
};

/// How the crash test runs galleryd: realistic pacing at 32 Mbit/s (4 MiB/s on each region pair),
/// short leases so the restarted process takes over quickly, and garbage collection every second.
fn crash_test_environment<'a>(
    data_dir: &'a str,
    database_url: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut environment = vec![
        ("GALLERYD_DATA_DIR", data_dir),
        ("GALLERYD_HTTPS_PORT", "0"),
        ("GALLERYD_HTTP_PORT", "0"),
        ("GALLERYD_LOG_LEVEL", "warn"),
        ("GALLERYD_REPLICATION_PROFILE", "realistic"),
        ("GALLERYD_REPLICATION_BANDWIDTH_MBPS", "32"),
        ("GALLERYD_WORKER_LEASE_SECONDS", "2"),
        ("GALLERYD_GC_INTERVAL_SECONDS", "1"),
        ("GALLERYD_GC_GRACE_SECONDS", "1"),
    ];
    if let Some(url) = database_url {
        environment.push(("GALLERYD_DATABASE_URL", url));
    }
    environment
}

/// Starts the binary and returns it with its plain-http base URL (read from a fresh
/// `endpoints.json`).
pub(crate) async fn start_process(
    environment: &[(&str, &str)],
    data_dir: &std::path::Path,
    logs: &std::path::Path,
) -> (GallerydProcess, String) {
    let _ = std::fs::remove_file(data_dir.join("endpoints.json"));
    let mut process = GallerydProcess::spawn(&[], environment, logs, logs);
    let endpoints = process.wait_for_endpoints(data_dir).await;
    let http = endpoints["http"]
        .as_str()
        .expect("http endpoint")
        .to_string();
    process.wait_until_ready(&http).await;
    (process, http)
}

/// Whether some replica is being copied and not yet half done.
fn copy_in_flight(replicas: &[Value]) -> bool {
    replicas.iter().any(|replica| {
        let copied = replica["bytesCopied"].as_i64().unwrap_or_default();
        let total = replica["bytesTotal"].as_i64().unwrap_or_default();
        replica["state"] == "Replicating" && copied > 0 && copied * 2 < total
    })
}

/// The contents galleryd's database knows of, as `region/content` (the snapshot's and every
/// replica's), for comparing with what the region stores hold.
async fn known_contents(
    app: &TestApp,
    snapshot_content: &str,
    version_ids: &[String],
) -> BTreeSet<String> {
    let mut known = BTreeSet::from([snapshot_content.to_string()]);
    for id in version_ids {
        for replica in replicas(app, id).await {
            known.insert(format!(
                "{}/{}",
                replica["region"].as_str().unwrap(),
                replica["contentId"].as_str().unwrap()
            ));
        }
    }
    known
}

/// Staging files of cut-off writes (`<object>#<n>`) anywhere under `root`.
fn staging_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut directories = vec![root.to_path_buf()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory)
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                directories.push(path);
            } else if path.to_string_lossy().contains('#') {
                found.push(path);
            }
        }
    }
    found
}

async fn killed_mid_copy_then_restarted(backend: Backend) {
    let directory = TempDirectory::new();
    let data_dir = directory.0.join("data");
    std::fs::create_dir_all(&data_dir).expect("data directory");
    let database = match backend {
        Backend::Postgres => Some(TestDatabase::create().await),
        Backend::Sqlite => None,
    };
    let data_dir_text = data_dir.to_string_lossy().to_string();
    let database_url = database.as_ref().map(|database| database.url.clone());
    let environment = crash_test_environment(&data_dir_text, database_url.as_deref());
    let logs = directory.0.clone();
    let (mut process, http) = start_process(&environment, &data_dir, &logs).await;
    let mut app = TestApp::for_process(
        backend,
        http,
        data_dir.clone(),
        database,
        TempDirectory::new(),
    );

    gallery(&app).await;
    let data = disks::pattern(11, 4 * MIB as usize);
    let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
    let snapshot_content = contents_on_disk(&app)
        .pop()
        .expect("the snapshot's content");
    let mut version_ids = Vec::new();
    for name in ["1.0.0", "1.0.1", "1.0.2"] {
        let created = app
            .put(
                &version_path(&app, name),
                &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)]),
            )
            .await;
        created.assert_status(201);
        version_ids.push(created.json()["id"].as_str().unwrap().to_string());
    }

    // Kill the process while a copy is in flight.
    let mut in_flight = false;
    for _ in 0..200 {
        let mut all = Vec::new();
        for id in &version_ids {
            all.extend(replicas(&app, id).await);
        }
        if copy_in_flight(&all) {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        in_flight,
        "no copy was seen in flight; output:\n{}",
        process.output()
    );
    process.child.kill().expect("SIGKILL");
    process.child.wait().expect("killed");

    let (mut restarted, http) = start_process(&environment, &data_dir, &logs).await;
    app.http = http;
    for id in &version_ids {
        let path = id.clone();
        let mut state = String::new();
        for _ in 0..600 {
            state = app.get(&path).await.json()["properties"]["provisioningState"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if state == "Succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            state,
            "Succeeded",
            "{id} after the restart; output:\n{}",
            restarted.output()
        );
    }
    let checksum = expected_checksum(&data);
    let mut resumed = 0;
    for id in &version_ids {
        let all = replicas(&app, id).await;
        assert_eq!(all.len(), 2);
        assert_replicas_hold(&app, &all, &data, &checksum);
        resumed += all
            .iter()
            .filter(|replica| replica["copiesStarted"].as_i64() > Some(1))
            .count();
    }
    assert!(resumed >= 1, "the copy killed in flight was started again");

    // The stores end up holding exactly what the database knows: nothing orphaned, nothing lost.
    let known = known_contents(&app, &snapshot_content, &version_ids).await;
    let mut on_disk = BTreeSet::new();
    let mut staging = Vec::new();
    for _ in 0..100 {
        on_disk = contents_on_disk(&app).into_iter().collect();
        staging = staging_files(&data_dir.join("regions"));
        if on_disk == known && staging.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(on_disk, known, "region stores against the database");
    assert!(
        staging.is_empty(),
        "writes cut off by the kill were swept: {staging:?}"
    );

    // Deleting everything leaves only the snapshot.
    for id in &version_ids {
        let deleted = app.delete(id).await;
        deleted.assert_status(202);
        succeeded(&app, &deleted).await;
    }
    assert_eq!(contents_on_disk(&app), [snapshot_content]);
    restarted.terminate();
    restarted.wait_for_exit(20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_copy_resumes_replication_after_restart_on_postgres() {
    killed_mid_copy_then_restarted(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_copy_resumes_replication_after_restart_on_sqlite() {
    killed_mid_copy_then_restarted(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_copy_every_replica_exactly_once() {
    let app = TestApp::start(Backend::Postgres).await;
    let shared_blobs = app.data_dir.clone();
    let (other, other_http, _directory) = app
        .second_server(|config| config.data_dir = shared_blobs)
        .await;
    gallery(&app).await;
    let data = disks::pattern(13, 2 * MIB as usize);
    let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;

    // Half the versions are created through each process, so both wake their workers.
    let mut created = Vec::new();
    for index in 0..8 {
        let path = version_path(&app, &format!("1.0.{index}"));
        let url = if index % 2 == 0 {
            format!(
                "{}{path}?api-version={}",
                app.http,
                galleryd_tests::GALLERY_API
            )
        } else {
            format!(
                "{other_http}{path}?api-version={}",
                galleryd_tests::GALLERY_API
            )
        };
        let body = version_body(
            &snapshot_id,
            &[
                target("westus", 2),
                target("eastus", 2),
                target("northeurope", 1),
            ],
        );
        let response = app.request(reqwest::Method::PUT, &url, Some(&body)).await;
        response.assert_status(201);
        created.push(response);
    }
    let checksum = expected_checksum(&data);
    let mut workers = BTreeSet::new();
    for response in &created {
        succeeded(&app, response).await;
        let id = response.json()["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &id).await;
        assert_eq!(all.len(), 5);
        assert_replicas_hold(&app, &all, &data, &checksum);
        for replica in &all {
            assert_eq!(
                replica["copiesStarted"], 1,
                "copied exactly once: {replica}"
            );
            workers.insert(replica["copiedBy"].as_str().expect("copiedBy").to_string());
        }
    }
    assert_eq!(
        workers.len(),
        2,
        "both processes copied replicas: {workers:?}"
    );
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_only_process_replicates_what_api_only_servers_accept() {
    // The API process runs no workers; `galleryd worker` (here in-process) does all the copying,
    // finding the jobs by polling the shared database.
    let app = TestApp::start_with(Backend::Postgres, |config| config.workers = 0).await;
    let mut worker_config = TestApp::config(&app.data_dir, app.database.as_ref());
    worker_config.data_dir = app.data_dir.clone();
    let worker = galleryd::server::run_workers_only(&worker_config)
        .await
        .expect("the worker process starts");
    gallery(&app).await;
    let data = disks::pattern(19, MIB as usize);
    let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
    let created = app
        .put(
            &version_path(&app, "1.0.0"),
            &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 2)]),
        )
        .await;
    created.assert_status(201);
    succeeded(&app, &created).await;
    let all = replicas(&app, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(all.len(), 3);
    assert_replicas_hold(&app, &all, &data, &expected_checksum(&data));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_leaves_a_copy_in_flight_alone() {
    // A copy far longer than the grace period: 10 MiB (three extents) at 2 MiB/s, garbage collected
    // every second with a second of grace. Its first extents are finished long before the copy is.
    let app = TestApp::start_with(Backend::Sqlite, |config| {
        config.replication_profile = galleryd::config::ReplicationProfile::Realistic;
        config.replication_bandwidth_mbps = 16;
        config.gc_interval_seconds = 1;
        config.gc_grace_seconds = 1;
    })
    .await;
    gallery(&app).await;
    let data = disks::pattern(23, 10 * MIB as usize);
    let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
    let snapshot_content = contents_on_disk(&app)
        .pop()
        .expect("the snapshot's content");
    // What a crash left behind, which garbage collection must take meanwhile.
    let leftover = app
        .data_dir
        .join("regions/westus/contents/leftover/extents");
    std::fs::create_dir_all(&leftover).expect("leftover directory");
    std::fs::write(leftover.join("00000000000000000000"), b"cut off").expect("leftover extent");

    let created = app
        .put(
            &version_path(&app, "1.0.0"),
            &version_body(&snapshot_id, &[target("westus", 1)]),
        )
        .await;
    created.assert_status(201);
    let version_id = created.json()["id"].as_str().unwrap().to_string();
    let mut collected_mid_copy = false;
    for _ in 0..200 {
        let all = replicas(&app, &version_id).await;
        if all.iter().all(|replica| replica["state"] == "Completed") && !all.is_empty() {
            break;
        }
        let copying = all.iter().any(|replica| {
            replica["state"] == "Replicating"
                && replica["bytesCopied"].as_i64() < replica["bytesTotal"].as_i64()
        });
        collected_mid_copy |= copying && !leftover.exists();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        collected_mid_copy,
        "garbage was collected while the copy was in flight"
    );
    succeeded(&app, &created).await;
    let all = replicas(&app, &version_id).await;
    assert_replicas_hold(&app, &all, &data, &expected_checksum(&data));
    let known = known_contents(&app, &snapshot_content, &[version_id]).await;
    assert_eq!(
        contents_on_disk(&app).into_iter().collect::<BTreeSet<_>>(),
        known
    );
}

/// The id of the resource a create answered with.
fn created_id(response: &galleryd_tests::TestResponse) -> String {
    response.json()["id"].as_str().expect("id").to_string()
}

/// The status of the operation `response` started, once it ended.
async fn ended(app: &TestApp, response: &galleryd_tests::TestResponse) -> String {
    app.wait_for_operation(response).await["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_cannot_be_done_still_ends_its_operation() {
    // The API process runs no workers, so everything below is waiting when one worker (one job at
    // a time, oldest first) starts.
    let app = TestApp::start_with(Backend::Postgres, |config| config.workers = 0).await;
    gallery(&app).await;
    let data = disks::pattern(29, MIB as usize);
    let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;

    // A version deleted before its replication ran: its replication finds it being deleted.
    let version = version_path(&app, "1.0.0");
    let replicated = app
        .put(
            &version,
            &version_body(&snapshot_id, &[target("westus", 1)]),
        )
        .await;
    replicated.assert_status(201);
    let deleted = app.delete(&version).await;
    deleted.assert_status(202);

    // A disk deleted before its copy ran.
    let copy_body = |source: &str| serde_json::json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source}}});
    let gone = disks::disk_path(&app, "rg", "gone");
    let gone_created = disks::create(&app, &gone, &copy_body(&snapshot_id)).await;
    let removed = disks::call(&app, reqwest::Method::DELETE, &gone, None).await;
    assert!(
        matches!(removed.status, 200 | 202 | 204),
        "{}",
        removed.text
    );

    // A copy whose source bytes were lost: no retry can make it.
    let before = contents_on_disk(&app);
    let lost_id = upload_snapshot(&app, "rg", "lost", &data).await;
    let lost_content = contents_on_disk(&app)
        .into_iter()
        .find(|content| !before.contains(content))
        .expect("the second snapshot's content");
    let (region, content_id) = lost_content.split_once('/').unwrap();
    std::fs::remove_dir_all(crate::gallery_image_versions::content_directory(
        &app, region, content_id,
    ))
    .expect("lose the snapshot's bytes");
    let doomed = disks::disk_path(&app, "rg", "doomed");
    let doomed_created = disks::create(&app, &doomed, &copy_body(&lost_id)).await;

    // A version whose source manifest became unreadable after it was accepted: each copy fails
    // once claimed, and the version fails after the last attempt.
    let before = contents_on_disk(&app);
    let garbled_id = upload_snapshot(&app, "rg", "garbled", &data).await;
    let garbled_content = contents_on_disk(&app)
        .into_iter()
        .find(|content| !before.contains(content))
        .expect("the third snapshot's content");
    let garbled_version = version_path(&app, "1.0.1");
    let garbled = app
        .put(
            &garbled_version,
            &version_body(&garbled_id, &[target("westus", 1)]),
        )
        .await;
    garbled.assert_status(201);
    let store = app.server().app.store().expect("store");
    let (region, content_id) = garbled_content.split_once('/').unwrap();
    let row = store
        .get_content(content_id)
        .await
        .unwrap()
        .expect("the content row");
    store
        .create_content(
            content_id,
            region,
            row.logical_size,
            &row.owner_key,
            Some(("not a manifest", row.occupied_bytes, "sha256:00")),
        )
        .await
        .unwrap();

    let mut worker_config = TestApp::config(&app.data_dir, app.database.as_ref());
    worker_config.data_dir = app.data_dir.clone();
    worker_config.workers = 1;
    let worker = galleryd::server::run_workers_only(&worker_config)
        .await
        .expect("the worker process starts");
    assert_eq!(ended(&app, &replicated).await, "Canceled");
    assert_eq!(ended(&app, &deleted).await, "Succeeded");
    app.get(&version)
        .await
        .assert_error(404, "ResourceNotFound");
    assert_eq!(ended(&app, &gone_created).await, "Canceled");
    let failed = app.wait_for_operation(&doomed_created).await;
    assert_eq!(failed["status"], "Failed", "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("not found")),
        "{failed}"
    );
    let doomed_disk = disks::get(&app, &doomed).await.json();
    assert_eq!(doomed_disk["properties"]["provisioningState"], "Failed");
    let failed = app.wait_for_operation(&garbled).await;
    assert_eq!(failed["status"], "Failed", "{failed}");
    let all = replicas(&app, &created_id(&garbled)).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["state"], "Failed", "{all:?}");
    assert_eq!(all[0]["copiesStarted"], 3, "{all:?}");
    assert!(
        all[0]["details"]
            .as_str()
            .is_some_and(|details| details.contains("manifest")),
        "{all:?}"
    );
    worker.stop().await;
}
