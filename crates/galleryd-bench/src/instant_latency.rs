//! The latency of "instant" replication: how long an image version takes from its PUT to
//! `Succeeded` under the `instant` profile, and whether a client's first status poll already reads
//! `Succeeded` (then an SDK or `az` never sleeps its `Retry-After` second).
//!
//! Why: under `instant` the copies themselves take milliseconds, so what a client waits for is
//! how the phases hand over (the version's region first, then one copy per other region, then the
//! remaining replicas of each region). They hand over when a copy ends, within the worker's run,
//! never after a polling interval; this shows what that gives on the machine it runs on.
//!
//! How: galleryd starts with its defaults (SQLite, local-disk region stores, `instant`); a 32 MiB
//! snapshot is uploaded and sealed; then for each scenario (target regions × replicas per region)
//! an image version is created from it, its `Azure-AsyncOperation` is polled at once (as the SDKs'
//! first poll does), and then every 5 ms until it is terminal. Reported per scenario: the first
//! poll's answer and when it came, and the time from the PUT to `Succeeded`. Each version is deleted
//! (and its deletion awaited) before the next, so the disk holds one scenario's replicas at a time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::http_load::{GALLERY_API_VERSION, HttpConnection};
use crate::replication::{path_of_url, send_expecting, upload_snapshot};
use crate::server_process::GallerydLaunch;

/// The image size: 32 MiB, the figure of the issue this benchmark answers.
const IMAGE_MEBIBYTES: u64 = 32;
/// Runs of each scenario.
const RUNS: usize = 3;
/// The gap between status polls after the first.
const POLL_GAP: Duration = Duration::from_millis(5);

/// One scenario: every region of `regions` with `replicas` replicas (the first is the version's
/// own region); `extra` replicas more in the first region (the README's `westus` × 2 + `eastus`).
struct Scenario {
    name: &'static str,
    regions: &'static [&'static str],
    replicas: u32,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "1 region x 1 replica",
        regions: &["westus"],
        replicas: 1,
    },
    Scenario {
        name: "1 region x 2 replicas",
        regions: &["westus"],
        replicas: 2,
    },
    Scenario {
        name: "2 regions x 2 replicas",
        regions: &["westus", "eastus"],
        replicas: 2,
    },
    Scenario {
        name: "1 region x 10 replicas",
        regions: &["westus"],
        replicas: 10,
    },
    Scenario {
        name: "5 regions x 10 replicas",
        regions: &[
            "westus",
            "eastus",
            "westeurope",
            "northeurope",
            "southeastasia",
        ],
        replicas: 10,
    },
];

/// One run's figures.
struct RunFigures {
    first_poll: Duration,
    first_poll_succeeded: bool,
    succeeded: Duration,
}

/// Runs the benchmark with the galleryd `binary`, in `scratch`, and prints its table.
pub async fn run(binary: &Path, scratch: &Path) -> Result<(), String> {
    let work_dir = scratch.join("instant-latency");
    let data_dir = work_dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let launch = GallerydLaunch {
        binary: PathBuf::from(binary),
        data_dir: data_dir.clone(),
        database_url: None,
        log_path: work_dir.join("galleryd.log"),
    };
    let started = crate::start_galleryd(&launch).await?;
    let galleryd = started.process;
    let address = galleryd.http_address;
    let subscription = started.endpoints["subscriptionId"]
        .as_str()
        .ok_or("endpoints.json has no subscriptionId")?
        .to_string();
    let paths = crate::create_resources(address, &subscription).await?;
    let snapshot = upload_snapshot(address, &paths.group, IMAGE_MEBIBYTES * 1024 * 1024).await?;
    println!(
        "  galleryd (SQLite, local disk, instant profile) at http://{address}; a {IMAGE_MEBIBYTES} MiB snapshot uploaded"
    );

    let mut rows = Vec::new();
    let mut version_number = 0;
    for scenario in SCENARIOS {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            version_number += 1;
            let version_path = format!("{}/versions/{version_number}.0.0", paths.image);
            runs.push(create_and_wait(address, &version_path, &snapshot.id, scenario).await?);
            delete_and_wait(address, &version_path).await?;
        }
        rows.push((scenario, runs));
    }
    crate::blocking(move || galleryd.stop()).await?;
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        println!("  warning: cannot remove {}: {error}", data_dir.display());
    }

    println!(
        "\n  {IMAGE_MEBIBYTES} MiB image, {RUNS} runs each; times from the PUT (median / max):"
    );
    println!(
        "  {:<26} {:>22} {:>24}",
        "scenario", "first poll Succeeded", "PUT to Succeeded (ms)"
    );
    for (scenario, runs) in rows {
        let succeeded_at_first = runs.iter().filter(|run| run.first_poll_succeeded).count();
        let mut totals: Vec<Duration> = runs.iter().map(|run| run.succeeded).collect();
        totals.sort();
        let first_polls: Vec<Duration> = runs.iter().map(|run| run.first_poll).collect();
        let median = totals[totals.len() / 2];
        let max = totals[totals.len() - 1];
        println!(
            "  {:<26} {:>15}/{RUNS} runs {:>13.1} / {:<8.1}  (first poll answered after {:.1} ms at most)",
            scenario.name,
            succeeded_at_first,
            median.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            first_polls
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        );
    }
    Ok(())
}

/// Polls an operation status URL: the first poll at once, then every [`POLL_GAP`]; returns the
/// first poll's status and when each came (from `started`).
async fn poll_until_terminal(
    connection: &mut HttpConnection,
    status_path: &str,
    started: Instant,
) -> Result<(String, Duration, Duration), String> {
    let mut first: Option<(String, Duration)> = None;
    loop {
        let response = send_expecting(
            connection,
            Method::GET,
            status_path,
            None,
            &[StatusCode::OK],
        )
        .await?;
        let elapsed = started.elapsed();
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|error| format!("{status_path} answered no JSON ({error})"))?;
        let status = body["status"].as_str().unwrap_or_default().to_string();
        let first = first
            .get_or_insert_with(|| (status.clone(), elapsed))
            .clone();
        match status.as_str() {
            "InProgress" => {}
            "Succeeded" => return Ok((first.0, first.1, elapsed)),
            other => return Err(format!("the operation ended {other}: {body}")),
        }
        if elapsed > Duration::from_secs(120) {
            return Err(format!("{status_path} still in progress after 120 s"));
        }
        tokio::time::sleep(POLL_GAP).await;
    }
}

async fn create_and_wait(
    address: SocketAddr,
    version_path: &str,
    snapshot_id: &str,
    scenario: &Scenario,
) -> Result<RunFigures, String> {
    let mut connection = HttpConnection::open(address).await?;
    let target_regions: Vec<Value> = scenario
        .regions
        .iter()
        .map(|region| json!({"name": region, "regionalReplicaCount": scenario.replicas}))
        .collect();
    let body = json!({
        "location": scenario.regions[0],
        "properties": {
            "publishingProfile": {"targetRegions": target_regions},
            "storageProfile": {"osDiskImage": {"source": {"id": snapshot_id}}}
        }
    });
    let started = Instant::now();
    let created = send_expecting(
        &mut connection,
        Method::PUT,
        &format!("{version_path}?api-version={GALLERY_API_VERSION}"),
        Some(&body),
        &[StatusCode::CREATED],
    )
    .await?;
    let status_url = created
        .header("azure-asyncoperation")
        .ok_or("the PUT answered no Azure-AsyncOperation")?;
    let status_path = path_of_url(status_url, address)?;
    let (first_status, first_poll, succeeded) =
        poll_until_terminal(&mut connection, &status_path, started).await?;
    Ok(RunFigures {
        first_poll,
        first_poll_succeeded: first_status == "Succeeded",
        succeeded,
    })
}

async fn delete_and_wait(address: SocketAddr, version_path: &str) -> Result<(), String> {
    let mut connection = HttpConnection::open(address).await?;
    let deleted = send_expecting(
        &mut connection,
        Method::DELETE,
        &format!("{version_path}?api-version={GALLERY_API_VERSION}"),
        None,
        &[StatusCode::ACCEPTED],
    )
    .await?;
    let status_url = deleted
        .header("azure-asyncoperation")
        .ok_or("the DELETE answered no Azure-AsyncOperation")?;
    let status_path = path_of_url(status_url, address)?;
    poll_until_terminal(&mut connection, &status_path, Instant::now()).await?;
    Ok(())
}
