//! The replication benchmark: how fast galleryd copies an image version's bytes into its replicas,
//! compared with `cp` of the same bytes on the same disk in the same run, and how much memory
//! galleryd holds while it copies.
//!
//! Why: replication is galleryd's one bulk data path (everything else moves kilobytes of JSON). Its
//! design streams every copy (one part of at most 1 MiB in flight, whatever the image size), so it
//! should run close to what the disk does for `cp`, in a memory footprint that does not grow with
//! the image. This checks both on the machine it runs on.
//!
//! How:
//! 1. galleryd starts with its defaults (SQLite in a fresh data directory, local-disk region blob
//!    stores under `<data-dir>/regions`, the `instant` replication profile: no pacing);
//! 2. a resource group, gallery and image definition are created, and an Upload snapshot of the image
//!    size (plus the 512 bytes of VHD footer, left unwritten) is written with Put Page through its
//!    write SAS in 4 MiB pages of pseudo-random non-zero bytes, each generated as it is sent (the
//!    image is never held in memory), then sealed with `endGetAccess`;
//! 3. the idle resident memory is read, the first `cp` round runs (see 4.), the page cache is
//!    written back (`sync`, untimed), the high-water mark of galleryd's resident memory reset, and
//!    an image version with one replica in westus and one in eastus is created from the snapshot. The time runs from its PUT to the first
//!    `GET …?$expand=ReplicationStatus` (polled every 50 ms) that reads `Succeeded`, while the
//!    resident memory is also sampled every 20 ms. `/_galleryd/replicas` must then show both
//!    replicas `Completed` with every byte of the image, and their extent files must hold that many
//!    bytes;
//! 4. the baseline, in two rounds, one just before galleryd's copy (galleryd idle) and one after it
//!    (galleryd stopped): after an untimed `sync`, `cp -R --reflink=never` of the snapshot's extent
//!    files into a new directory, then of that copy into another: the same bytes and the same two
//!    sequential copies as galleryd's (westus is copied from the snapshot, eastus from westus), on
//!    the same file system, from the same (warm) page cache. Each round's copies are deleted after
//!    it. The ratio is taken against the mean of the rounds; rounds that disagree by more than 25 %
//!    are flagged, because on a virtual machine the speed of writing new page-cache pages varies
//!    several-fold with whether the host still backs the guest's free memory.
//!
//! fsync policy, the same on both sides: nothing is fsynced. galleryd's local stores (object_store's
//! `LocalFileSystem`) write each object into a staging file and rename it into place without
//! fsync, and `cp` does not fsync either; both start from a written-back page cache and stop when
//! the last byte was handed to the kernel. A timed `sync` after each side shows what writing the
//! dirty pages back adds, and the ratio with it is printed too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hyper::Method;
use hyper::StatusCode;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::http_load::{GALLERY_API_VERSION, HttpConnection};
use crate::procfs::{self, CpuSampler, Memory, megabytes};
use crate::report::{CpRound, PeakMemory, ReplicationFigures};
use crate::server_process::GallerydLaunch;

/// The image size when none is given, in MiB.
pub const DEFAULT_IMAGE_MEBIBYTES: u64 = 1024;
/// The smallest image galleryd accepts: an Upload snapshot has at least 20 MiB (+ footer).
const SMALLEST_IMAGE_MEBIBYTES: u64 = 20;
const MEBIBYTE: u64 = 1024 * 1024;
/// Bytes of one Put Page (the most the blob service takes in one call).
const PAGE_BYTES: u64 = 4 * MEBIBYTE;
/// The VHD footer an upload's size includes (left unwritten, as `azcopy` of a raw image would).
const VHD_FOOTER_BYTES: u64 = 512;
/// Connections the upload uses at once (setup only: the upload is not what is measured).
const UPLOAD_CONNECTIONS: usize = 4;
/// The api-version of the disk and snapshot requests.
const DISK_API_VERSION: &str = "2026-03-02";
/// The `x-ms-version` of the blob requests.
const BLOB_SERVICE_VERSION: &str = "2025-01-05";
/// How often the version is polled while it replicates.
const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How often galleryd's resident memory is sampled while it replicates.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);
/// The replicas: one in each region, the first being the version's own region.
const REPLICA_REGIONS: &[&str] = &["westus", "eastus"];
/// The slowest replication the benchmark waits for before giving up.
const SLOWEST_ACCEPTED_MEBIBYTES_PER_SECOND: f64 = 5.0;

/// What one replication run needs.
pub struct ReplicationSettings {
    pub binary: PathBuf,
    /// A directory to work in (its contents are deleted with it by the caller).
    pub scratch: PathBuf,
    pub image_mebibytes: u64,
    /// How long galleryd is left idle before its idle memory is read.
    pub settle: Duration,
}

/// Runs the whole replication benchmark and returns its figures.
pub async fn run(settings: &ReplicationSettings) -> Result<ReplicationFigures, String> {
    if settings.image_mebibytes < SMALLEST_IMAGE_MEBIBYTES {
        return Err(format!(
            "--image-mib must be at least {SMALLEST_IMAGE_MEBIBYTES} (the smallest Upload snapshot)"
        ));
    }
    let image_bytes = settings.image_mebibytes * MEBIBYTE;
    let work_dir = settings.scratch.join("replication");
    let data_dir = work_dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    check_free_space(&work_dir, image_bytes)?;

    let launch = GallerydLaunch {
        binary: settings.binary.clone(),
        data_dir: data_dir.clone(),
        database_url: None,
        log_path: work_dir.join("galleryd.log"),
    };
    let started = crate::start_galleryd(&launch).await?;
    let galleryd = started.process;
    let address = galleryd.http_address;
    let pid = galleryd.pid();
    println!(
        "  galleryd ready after {} (SQLite, local-disk blob stores in {}, instant replication profile), http://{address}",
        crate::stats::milliseconds(started.time_to_ready),
        data_dir.join("regions").display()
    );
    let subscription = started.endpoints["subscriptionId"]
        .as_str()
        .ok_or("endpoints.json has no subscriptionId")?
        .to_string();
    let paths = crate::create_resources(address, &subscription).await?;

    // The snapshot the version is made from.
    let snapshot = upload_snapshot(address, &paths.group, image_bytes).await?;
    println!(
        "  snapshot of {} MiB uploaded in {:.2} s ({:.0} MiB/s over {UPLOAD_CONNECTIONS} connections), sealed in {:.2} s",
        settings.image_mebibytes,
        snapshot.upload.as_secs_f64(),
        settings.image_mebibytes as f64 / snapshot.upload.as_secs_f64().max(f64::MIN_POSITIVE),
        snapshot.seal.as_secs_f64()
    );
    let snapshot_extents = data_dir
        .join("regions")
        .join(&snapshot.region)
        .join("contents")
        .join(&snapshot.content_id)
        .join("extents");
    let snapshot_on_disk = directory_bytes(&snapshot_extents)?;
    if snapshot_on_disk != image_bytes {
        return Err(format!(
            "the snapshot's extents in {} hold {snapshot_on_disk} bytes, not {image_bytes}",
            snapshot_extents.display()
        ));
    }

    tokio::time::sleep(settings.settle).await;
    let memory_idle_before = Memory::of(pid)?;
    println!(
        "  idle before replication: RSS {:.1} MB",
        megabytes(memory_idle_before.resident_kib)
    );

    // The baseline's first round, then galleryd replicates.
    let baseline_dir = work_dir.join("cp-baseline");
    let mut cp_rounds = vec![
        cp_round(
            "before galleryd",
            &snapshot_extents,
            &baseline_dir,
            image_bytes,
        )
        .await?,
    ];
    crate::blocking(sync_file_systems).await?;
    let high_water_reset = match procfs::reset_peak_memory(pid) {
        Ok(()) => true,
        Err(error) => {
            println!("  warning: {error}; the peak is the sampled one");
            false
        }
    };
    let memory_sampler = MemorySampler::start(pid);
    let cpu_sampler = CpuSampler::start(Some(pid), false);
    let context_switches_before = procfs::context_switches(pid);
    let version_path = format!("{}/versions/1.0.0", paths.image);
    let timeout = Duration::from_secs(60)
        + Duration::from_secs_f64(
            (settings.image_mebibytes * REPLICA_REGIONS.len() as u64) as f64
                / SLOWEST_ACCEPTED_MEBIBYTES_PER_SECOND,
        );
    let replicated = replicate(address, &version_path, &snapshot.id, timeout).await;
    let galleryd_cpu = cpu_sampler.finish();
    let galleryd_context_switches =
        procfs::context_switches(pid).saturating_sub(context_switches_before);
    let (sampled_kib, samples) = memory_sampler.finish().await?;
    let memory_after = Memory::of(pid)?;
    let (galleryd_copy, version_id) = replicated?;
    let memory_peak = PeakMemory {
        high_water_kib: high_water_reset.then_some(memory_after.peak_kib),
        sampled_kib,
        samples,
    };
    println!(
        "  replicated to {} in {:.3} s; RSS peak {:.1} MB (sampled {:.1} MB, {samples} samples); \
         {galleryd_context_switches} context switches; {}",
        REPLICA_REGIONS.join(" + "),
        galleryd_copy.as_secs_f64(),
        megabytes(memory_peak.high_water_kib.unwrap_or(sampled_kib)),
        megabytes(sampled_kib),
        galleryd_cpu.describe("galleryd", procfs::available_cores())
    );
    check_replicas(address, &version_id, image_bytes, &data_dir).await?;
    let galleryd_sync = crate::blocking(sync_file_systems).await?;

    tokio::time::sleep(settings.settle).await;
    let memory_idle_after = Memory::of(pid)?;
    crate::blocking(move || galleryd.stop()).await?;

    // The baseline's second round, galleryd stopped.
    cp_rounds.push(
        cp_round(
            "after galleryd",
            &snapshot_extents,
            &baseline_dir,
            image_bytes,
        )
        .await?,
    );
    // Free the disk at once (a full run goes on); the log stays until the scratch directory goes.
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        println!("  warning: cannot remove {}: {error}", data_dir.display());
    }

    Ok(ReplicationFigures {
        image_bytes,
        replica_regions: REPLICA_REGIONS,
        upload: snapshot.upload,
        upload_connections: UPLOAD_CONNECTIONS,
        seal: snapshot.seal,
        galleryd_copy,
        galleryd_sync,
        cp_rounds,
        poll_interval: STATUS_POLL_INTERVAL,
        memory_idle_before,
        memory_peak,
        memory_idle_after,
        settle: settings.settle,
        galleryd_cpu,
        galleryd_context_switches,
    })
}

/// The fsync policy, as printed with the results.
pub fn describe_fsync_policy() -> &'static str {
    "fsync policy: none on either side (galleryd's LocalFileSystem stores write a staging file and \
     rename it without fsync; cp does not fsync); both start after an untimed sync and stop when the \
     last byte is handed to the kernel; a timed sync after each side is shown separately. \
     cp runs as `cp -R --reflink=never` (a real copy of every byte, never a shared extent)"
}

/// Refuses to start when the file system under `directory` cannot hold the snapshot, two replicas
/// and two `cp` copies (plus room to spare).
fn check_free_space(directory: &Path, image_bytes: u64) -> Result<(), String> {
    let needed = image_bytes * (1 + 2 * REPLICA_REGIONS.len() as u64) + 1024 * MEBIBYTE;
    let output = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(directory)
        .output()
        .map_err(|error| format!("cannot run df: {error}"))?;
    let available: Option<u64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)
        .and_then(|line| line.trim().parse().ok());
    match available {
        Some(available) if available < needed => Err(format!(
            "{} has {} MiB free; the replication benchmark needs {} MiB (snapshot, {} replicas, {} cp copies)",
            directory.display(),
            available / MEBIBYTE,
            needed / MEBIBYTE,
            REPLICA_REGIONS.len(),
            REPLICA_REGIONS.len()
        )),
        Some(_) => Ok(()),
        None => {
            println!(
                "  warning: cannot read the free space of {}",
                directory.display()
            );
            Ok(())
        }
    }
}

/// An uploaded, sealed snapshot.
pub(crate) struct UploadedSnapshot {
    pub(crate) id: String,
    /// Where its bytes are: `<data-dir>/regions/<region>/contents/<content_id>/`.
    region: String,
    content_id: String,
    upload: Duration,
    seal: Duration,
}

/// Creates an Upload snapshot of `image_bytes` (+ footer) in westus, writes every byte through its
/// write SAS and seals it.
pub(crate) async fn upload_snapshot(
    address: std::net::SocketAddr,
    group_path: &str,
    image_bytes: u64,
) -> Result<UploadedSnapshot, String> {
    let snapshot = format!("{group_path}/providers/Microsoft.Compute/snapshots/bench-snapshot");
    let query = format!("api-version={DISK_API_VERSION}");
    let mut connection = HttpConnection::open(address).await?;
    let body = json!({
        "location": "westus",
        "properties": {
            "osType": "Linux", "hyperVGeneration": "V2",
            "creationData": {"createOption": "Upload", "uploadSizeBytes": image_bytes + VHD_FOOTER_BYTES}
        }
    });
    expect(
        &mut connection,
        Method::PUT,
        &format!("{snapshot}?{query}"),
        Some(&body),
        &[StatusCode::OK, StatusCode::ACCEPTED],
    )
    .await?;
    let grant = action_result(
        &mut connection,
        address,
        &format!("{snapshot}/beginGetAccess?{query}"),
        Some(&json!({"access": "Write", "durationInSeconds": 3600})),
    )
    .await?;
    let sas = grant["accessSAS"]
        .as_str()
        .ok_or_else(|| format!("beginGetAccess answered no accessSAS: {grant}"))?;
    let sas_path = path_of_url(sas, address)?;
    let (region, content_id) = blob_of_sas_path(&sas_path)?;

    let upload_started = Instant::now();
    put_pages(address, &sas_path, image_bytes).await?;
    let upload = upload_started.elapsed();

    let seal_started = Instant::now();
    action_result(
        &mut connection,
        address,
        &format!("{snapshot}/endGetAccess?{query}"),
        None,
    )
    .await?;
    let seal = seal_started.elapsed();
    let document = expect(
        &mut connection,
        Method::GET,
        &format!("{snapshot}?{query}"),
        None,
        &[StatusCode::OK],
    )
    .await?;
    let id = document["id"]
        .as_str()
        .ok_or_else(|| format!("the snapshot has no id: {document}"))?
        .to_string();
    Ok(UploadedSnapshot {
        id,
        region,
        content_id,
        upload,
        seal,
    })
}

/// POSTs an action (`beginGetAccess`, `endGetAccess`), which answers 202 as Azure does, and returns
/// what its `Location` answers once done (JSON, `null` when empty).
async fn action_result(
    connection: &mut HttpConnection,
    address: std::net::SocketAddr,
    path_and_query: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let response = connection
        .send(
            Method::POST,
            path_and_query,
            body.map(|body| Bytes::from(body.to_string())),
        )
        .await?;
    if response.status != StatusCode::ACCEPTED {
        return Err(format!(
            "POST {path_and_query} answered {}: {}",
            response.status,
            response.text()
        ));
    }
    let location = response
        .header("location")
        .ok_or_else(|| format!("POST {path_and_query} answered no Location"))?;
    let location = path_of_url(location, address)?;
    for _ in 0..600 {
        let result = connection.send(Method::GET, &location, None).await?;
        match result.status {
            StatusCode::OK if result.body.is_empty() => return Ok(Value::Null),
            StatusCode::OK => {
                return serde_json::from_slice(&result.body)
                    .map_err(|error| format!("{location} answered no JSON ({error})"));
            }
            StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(50)).await,
            status => {
                return Err(format!("{location} answered {status}: {}", result.text()));
            }
        }
    }
    Err(format!("{location} did not finish within 30 s"))
}

/// Sends a request and checks its status is one of `accepted`.
pub(crate) async fn send_expecting(
    connection: &mut HttpConnection,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
    accepted: &[StatusCode],
) -> Result<crate::http_load::HttpResponse, String> {
    let response = connection
        .send(
            method.clone(),
            path_and_query,
            body.map(|body| Bytes::from(body.to_string())),
        )
        .await?;
    if !accepted.contains(&response.status) {
        return Err(format!(
            "{method} {path_and_query} answered {}: {}",
            response.status,
            response.text()
        ));
    }
    Ok(response)
}

/// Sends a request, checks its status is one of `accepted`, and returns its JSON body (`null` when
/// it has none).
pub(crate) async fn expect(
    connection: &mut HttpConnection,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
    accepted: &[StatusCode],
) -> Result<Value, String> {
    let response =
        send_expecting(connection, method.clone(), path_and_query, body, accepted).await?;
    if response.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body)
        .map_err(|error| format!("{method} {path_and_query} answered no JSON ({error})"))
}

/// The path and query of `url`, which must point at `address` over plain HTTP.
pub(crate) fn path_of_url(url: &str, address: std::net::SocketAddr) -> Result<String, String> {
    let rest = url
        .strip_prefix(&format!("http://{address}"))
        .ok_or_else(|| format!("the SAS {url} is not on galleryd's http://{address}"))?;
    Ok(rest.to_string())
}

/// The region and content id a SAS path names: `/gallerydblob/<region>/<content id>?…`.
fn blob_of_sas_path(sas_path: &str) -> Result<(String, String), String> {
    let path = sas_path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    match segments.as_slice() {
        [_root, region, content_id] => Ok(((*region).to_string(), (*content_id).to_string())),
        _ => Err(format!(
            "the SAS path {path} is not /<root>/<region>/<content id>"
        )),
    }
}

/// Writes `image_bytes` from offset 0 with Put Page, [`PAGE_BYTES`] at a time, over
/// [`UPLOAD_CONNECTIONS`] connections that take the next page as they finish one.
async fn put_pages(
    address: std::net::SocketAddr,
    sas_path: &str,
    image_bytes: u64,
) -> Result<(), String> {
    let page_count = image_bytes.div_ceil(PAGE_BYTES);
    let next_page = Arc::new(AtomicU64::new(0));
    let put_page_path: Arc<str> = Arc::from(format!("{sas_path}&comp=page"));
    let mut uploaders = Vec::with_capacity(UPLOAD_CONNECTIONS);
    for _ in 0..UPLOAD_CONNECTIONS {
        let mut connection = HttpConnection::open(address).await?;
        let next_page = next_page.clone();
        let put_page_path = put_page_path.clone();
        uploaders.push(tokio::spawn(async move {
            loop {
                let index = next_page.fetch_add(1, Ordering::Relaxed);
                if index >= page_count {
                    return Ok::<(), String>(());
                }
                let start = index * PAGE_BYTES;
                let length = PAGE_BYTES.min(image_bytes - start);
                let range = format!("bytes={start}-{}", start + length - 1);
                let body = page_bytes(index, length);
                let response = connection
                    .send_with_headers(
                        Method::PUT,
                        &put_page_path,
                        &[
                            ("x-ms-page-write", "update"),
                            ("x-ms-range", &range),
                            ("x-ms-version", BLOB_SERVICE_VERSION),
                        ],
                        body,
                    )
                    .await?;
                if response.status != StatusCode::CREATED {
                    return Err(format!(
                        "Put Page {range} answered {}: {}",
                        response.status,
                        response.text()
                    ));
                }
            }
        }));
    }
    for uploader in uploaders {
        uploader
            .await
            .map_err(|error| format!("an upload task failed: {error}"))??;
    }
    Ok(())
}

/// `length` pseudo-random bytes for page `index`, none of them zero, different for every page
/// (xorshift64 seeded by the index; each byte's low bit set).
fn page_bytes(index: u64, length: u64) -> Bytes {
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    let mut state = (index.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(length);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = (state | 0x0101_0101_0101_0101).to_le_bytes();
        let take = (length - bytes.len()).min(word.len());
        bytes.extend_from_slice(&word[..take]);
    }
    Bytes::from(bytes)
}

/// Creates the version from the snapshot and waits until it is `Succeeded`. Returns the time from
/// the PUT to the poll that read `Succeeded`, and the version's id.
async fn replicate(
    address: std::net::SocketAddr,
    version_path: &str,
    snapshot_id: &str,
    timeout: Duration,
) -> Result<(Duration, String), String> {
    let mut connection = HttpConnection::open(address).await?;
    let target_regions: Vec<Value> = REPLICA_REGIONS
        .iter()
        .map(|region| json!({"name": region, "regionalReplicaCount": 1}))
        .collect();
    let body = json!({
        "location": REPLICA_REGIONS[0],
        "properties": {
            "publishingProfile": {"targetRegions": target_regions},
            "storageProfile": {"osDiskImage": {"source": {"id": snapshot_id}}}
        }
    });
    let status_query =
        format!("{version_path}?api-version={GALLERY_API_VERSION}&$expand=ReplicationStatus");
    let started = Instant::now();
    expect(
        &mut connection,
        Method::PUT,
        &format!("{version_path}?api-version={GALLERY_API_VERSION}"),
        Some(&body),
        &[StatusCode::OK, StatusCode::CREATED],
    )
    .await?;
    loop {
        let document = expect(
            &mut connection,
            Method::GET,
            &status_query,
            None,
            &[StatusCode::OK],
        )
        .await?;
        let answered = started.elapsed();
        match document["properties"]["provisioningState"].as_str() {
            Some("Succeeded") => {
                let id = document["id"]
                    .as_str()
                    .ok_or_else(|| format!("the version has no id: {document}"))?;
                return Ok((answered, id.to_string()));
            }
            Some(state @ ("Failed" | "Canceled")) => {
                return Err(format!(
                    "the version's replication ended {state}: {document}"
                ));
            }
            _ => {}
        }
        if answered > timeout {
            return Err(format!(
                "the version did not succeed within {:.0} s: {document}",
                timeout.as_secs_f64()
            ));
        }
        tokio::time::sleep(STATUS_POLL_INTERVAL).await;
    }
}

/// Checks `/_galleryd/replicas` shows one `Completed` replica per region holding every byte, and
/// that each replica's extent files hold that many bytes.
async fn check_replicas(
    address: std::net::SocketAddr,
    version_id: &str,
    image_bytes: u64,
    data_dir: &Path,
) -> Result<(), String> {
    let mut connection = HttpConnection::open(address).await?;
    let listing = expect(
        &mut connection,
        Method::GET,
        &format!("/_galleryd/replicas?versionId={version_id}"),
        None,
        &[StatusCode::OK],
    )
    .await?;
    let replicas = listing["value"]
        .as_array()
        .ok_or_else(|| format!("/_galleryd/replicas answered no value: {listing}"))?;
    let mut regions: Vec<&str> = replicas
        .iter()
        .filter_map(|replica| replica["region"].as_str())
        .collect();
    regions.sort_unstable();
    let mut expected_regions = REPLICA_REGIONS.to_vec();
    expected_regions.sort_unstable();
    if regions != expected_regions || replicas.len() != REPLICA_REGIONS.len() {
        return Err(format!(
            "expected one replica in each of {REPLICA_REGIONS:?}, found {listing}"
        ));
    }
    for replica in replicas {
        let complete = replica["state"] == "Completed"
            && replica["bytesTotal"].as_u64() == Some(image_bytes)
            && replica["bytesCopied"].as_u64() == Some(image_bytes);
        if !complete {
            return Err(format!(
                "replica {replica} is not Completed with {image_bytes} bytes copied"
            ));
        }
        if replica["copiesStarted"].as_u64() != Some(1) {
            println!(
                "  warning: replica {} was copied more than once (retried): {replica}",
                replica["region"]
            );
        }
        let region = replica["region"].as_str().unwrap_or_default();
        let content_id = replica["contentId"]
            .as_str()
            .ok_or_else(|| format!("replica {replica} has no contentId"))?;
        let extents = data_dir
            .join("regions")
            .join(region)
            .join("contents")
            .join(content_id)
            .join("extents");
        let on_disk = directory_bytes(&extents)?;
        if on_disk != image_bytes {
            return Err(format!(
                "replica {region}'s extents in {} hold {on_disk} bytes, not {image_bytes}",
                extents.display()
            ));
        }
    }
    Ok(())
}

/// Total size of the files in `directory` (not recursive: extent directories are flat).
fn directory_bytes(directory: &Path) -> Result<u64, String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| format!("cannot list {}: {error}", directory.display()))?;
    let mut total = 0;
    for entry in entries {
        let metadata = entry
            .and_then(|entry| entry.metadata())
            .map_err(|error| format!("cannot read an entry of {}: {error}", directory.display()))?;
        if metadata.is_file() {
            total += metadata.len();
        }
    }
    Ok(total)
}

/// Runs `sync` (every file system's dirty pages written back) and returns how long it took.
fn sync_file_systems() -> Result<Duration, String> {
    let started = Instant::now();
    let status = Command::new("sync")
        .status()
        .map_err(|error| format!("cannot run sync: {error}"))?;
    if !status.success() {
        return Err(format!("sync failed: {status}"));
    }
    Ok(started.elapsed())
}

/// One round of the baseline, printed, its copies deleted afterwards.
async fn cp_round(
    when: &'static str,
    source: &Path,
    baseline_dir: &Path,
    image_bytes: u64,
) -> Result<CpRound, String> {
    let source = source.to_path_buf();
    let baseline_dir = baseline_dir.to_path_buf();
    let round = crate::blocking(move || {
        let round = copy_with_cp(when, &source, &baseline_dir, image_bytes);
        if let Err(error) = std::fs::remove_dir_all(&baseline_dir) {
            println!(
                "  warning: cannot remove {}: {error}",
                baseline_dir.display()
            );
        }
        round
    })
    .await?;
    println!(
        "  cp {when}: {} copies in {:.3} s (sync after: {:.3} s); cp used {:.2} cores",
        REPLICA_REGIONS.len(),
        round.copy.as_secs_f64(),
        round.sync.as_secs_f64(),
        round.cp_cores
    );
    Ok(round)
}

/// Copies `source` into `<baseline_dir>/westus`, then that into `<baseline_dir>/eastus` (as
/// galleryd copies one replica from the other), checks each copy holds `image_bytes`, and times it.
fn copy_with_cp(
    when: &'static str,
    source: &Path,
    baseline_dir: &Path,
    image_bytes: u64,
) -> Result<CpRound, String> {
    std::fs::create_dir_all(baseline_dir)
        .map_err(|error| format!("cannot create {}: {error}", baseline_dir.display()))?;
    sync_file_systems()?;
    let cp_seconds_before = procfs::waited_children_cpu_seconds();
    let cpu_sampler = CpuSampler::start(None, false);
    let started = Instant::now();
    let mut copy_source = source.to_path_buf();
    let mut copies = Vec::with_capacity(REPLICA_REGIONS.len());
    for region in REPLICA_REGIONS {
        let destination = baseline_dir.join(region);
        let status = Command::new("cp")
            .args(["-R", "--reflink=never"])
            .arg(&copy_source)
            .arg(&destination)
            .status()
            .map_err(|error| format!("cannot run cp: {error}"))?;
        if !status.success() {
            return Err(format!(
                "cp -R {} {} failed: {status}",
                copy_source.display(),
                destination.display()
            ));
        }
        copies.push(destination.clone());
        copy_source = destination;
    }
    let copy = started.elapsed();
    let cpu = cpu_sampler.finish();
    let cp_cores = (procfs::waited_children_cpu_seconds() - cp_seconds_before)
        / copy.as_secs_f64().max(f64::MIN_POSITIVE);
    let sync = sync_file_systems()?;
    for copied in &copies {
        let on_disk = directory_bytes(copied)?;
        if on_disk != image_bytes {
            return Err(format!(
                "the cp copy {} holds {on_disk} bytes, not {image_bytes}",
                copied.display()
            ));
        }
    }
    Ok(CpRound {
        when,
        copy,
        sync,
        cp_cores,
        other_cores: (cpu.other_cores - cp_cores).max(0.0),
    })
}

/// Samples a process's resident memory on a thread of its own every [`MEMORY_SAMPLE_INTERVAL`]
/// until finished, keeping the highest value.
struct MemorySampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(u64, usize)>,
}

impl MemorySampler {
    fn start(pid: u32) -> MemorySampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak_kib = 0;
            let mut samples = 0;
            loop {
                if let Ok(memory) = Memory::of(pid) {
                    peak_kib = peak_kib.max(memory.resident_kib);
                    samples += 1;
                }
                if stop_seen.load(Ordering::Relaxed) {
                    return (peak_kib, samples);
                }
                std::thread::sleep(MEMORY_SAMPLE_INTERVAL);
            }
        });
        MemorySampler { stop, thread }
    }

    /// Stops sampling (after one last sample) and returns the highest resident KiB and the number
    /// of samples.
    async fn finish(self) -> Result<(u64, usize), String> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        crate::blocking(move || {
            thread
                .join()
                .map_err(|_| "the memory sampler panicked".to_string())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_non_zero_and_differ() {
        let first = page_bytes(0, 4096);
        let second = page_bytes(1, 4096);
        assert_eq!(first.len(), 4096);
        assert!(first.iter().all(|byte| *byte != 0));
        assert_ne!(first, second);
        assert_eq!(page_bytes(3, 13).len(), 13);
    }

    #[test]
    fn a_sas_path_names_its_blob() {
        assert_eq!(
            blob_of_sas_path("/gallerydblob/westus/c-123?sv=1&sig=x"),
            Ok(("westus".to_string(), "c-123".to_string()))
        );
        assert!(blob_of_sas_path("/gallerydblob/westus?sv=1").is_err());
    }
}
