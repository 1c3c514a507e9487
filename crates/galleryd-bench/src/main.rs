//! `galleryd-bench`: measures a real galleryd binary and compares it with bare baselines measured in
//! the same run on the same machine.
//!
//! For each backend (SQLite, Postgres) it starts galleryd as a child process and measures:
//! 1. startup: spawn → first 200 of `GET /_galleryd/ready` (polled every 2 ms), on a fresh data
//!    directory/database (1st start) and again on the one the first start initialised (2nd start);
//! 2. resident memory right after ready, and idle after the load (plus the peak);
//! 3. GET throughput and latency of one image definition over N keep-alive HTTP/1.1 connections,
//!    against a bare axum server (this binary re-executed as `bare-server`) answering the same bytes;
//! 4. create throughput and latency (PUT of new image definitions into one gallery), against raw
//!    single-row `BEGIN; INSERT; COMMIT`s on the same database at the same concurrency.
//!
//! Then (SQLite only) replication: an image version of an uploaded snapshot is replicated to two
//! regions, timed against `cp` of the same bytes on the same disk, with galleryd's peak memory while
//! it copies (see [`replication`]).
//!
//! It builds nothing: the galleryd binary must exist (`cargo build --release -p galleryd`).
//!
//! Usage: `cargo run --release -p galleryd-bench -- [--seconds 10] [--connections 64]
//! [--backends sqlite,postgres] [--galleryd-binary PATH] [--postgres-url URL]
//! [--replication-image-mib 1024 (0: skip)]`, or the replication benchmark alone:
//! `galleryd-bench replication [--image-mib 1024]` (`--image-mib 4096` for the 4 GiB memory target;
//! it needs about 5 × the image size free under the temporary directory); or the reset benchmark
//! alone: `galleryd-bench reset [--resources 1000] [--rounds 5]` (see [`reset`]).

mod bare_server;
mod closed_loop;
mod http_load;
mod procfs;
mod raw_insert;
mod replication;
mod report;
mod reset;
mod server_process;
mod stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hyper::Method;
use hyper::body::Bytes;
use serde_json::json;

use crate::bare_server::BareServerArgs;
use crate::http_load::{
    GALLERY_API_VERSION, HttpConnection, HttpWorker, RESOURCES_API_VERSION, RequestPlan,
    image_definition_body,
};
use crate::procfs::{CpuUsage, Memory, available_cores, megabytes};
use crate::raw_insert::{InsertWorker, RawDatabase, ScratchPostgresDatabase};
use crate::replication::{DEFAULT_IMAGE_MEBIBYTES, ReplicationSettings};
use crate::report::{BackendFigures, ReplicationFigures};
use crate::server_process::{GallerydLaunch, ServerProcess, StartedGalleryd};
use crate::stats::{PhaseResult, milliseconds};

/// Benchmarks galleryd (startup, memory, GET and create throughput) against bare baselines.
#[derive(Debug, Parser)]
#[command(name = "galleryd-bench", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<BenchCommand>,

    /// Measured seconds of each load phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,

    /// Seconds of unmeasured load before each measured phase.
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,

    /// Concurrent connections (HTTP) or tasks (raw inserts).
    #[arg(long, default_value_t = 64)]
    connections: usize,

    /// Backends to measure, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    backends: Vec<BackendKind>,

    /// The galleryd binary (default: `galleryd` next to this executable, i.e. target/release).
    #[arg(long, global = true)]
    galleryd_binary: Option<PathBuf>,

    /// Postgres server to create the benchmark's database on (it is dropped at the end).
    #[arg(
        long,
        env = "GALLERYD_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,

    /// Seconds to wait after the load (or a replication) stops before reading the idle memory.
    #[arg(long, default_value_t = 3.0, global = true)]
    settle_seconds: f64,

    /// Image size of the replication benchmark at the end of the full run, in MiB (0: skip it).
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_IMAGE_MEBIBYTES)]
    replication_image_mib: u64,
}

/// Subcommands: parts of the benchmark run alone, and the processes it runs itself as.
#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Only the replication benchmark: an image version of an uploaded snapshot replicated to two
    /// regions, against `cp` of the same bytes, with galleryd's peak memory meanwhile.
    Replication(ReplicationArgs),
    /// Only the reset benchmark: `POST /_galleryd/reset` of a subscription holding N resources
    /// (SQLite).
    Reset(ResetArgs),
    /// The bare baseline server (started by the benchmark).
    #[command(hide = true)]
    BareServer(BareServerArgs),
}

/// Options of `galleryd-bench replication`.
#[derive(Debug, Args)]
struct ReplicationArgs {
    /// Bytes written into the snapshot (and copied into each of the two replicas), in MiB.
    #[arg(long = "image-mib", value_name = "MIB", default_value_t = DEFAULT_IMAGE_MEBIBYTES)]
    image_mebibytes: u64,
}

/// Options of `galleryd-bench reset`.
#[derive(Debug, Args)]
struct ResetArgs {
    /// Resources in the subscription when it is reset.
    #[arg(long, default_value_t = 1000)]
    resources: usize,
    /// How many times the world is built and reset.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(BenchCommand::BareServer(args)) = &cli.command {
        return match bare_server::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bare server: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match &cli.command {
        Some(BenchCommand::Replication(args)) => {
            runtime.block_on(run_replication_alone(&cli, args.image_mebibytes))
        }
        Some(BenchCommand::Reset(args)) => runtime.block_on(run_reset_alone(&cli, args)),
        _ => runtime.block_on(run_benchmark(&cli)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\ngalleryd-bench failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A temporary directory removed when dropped.
struct ScratchDirectory(PathBuf);

impl ScratchDirectory {
    fn create() -> Result<ScratchDirectory, String> {
        let path =
            std::env::temp_dir().join(format!("galleryd-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        Ok(ScratchDirectory(path))
    }
}

impl Drop for ScratchDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs blocking work (process spawning and polling) off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| format!("blocking task failed: {error}"))?
}

fn default_galleryd_binary() -> Result<PathBuf, String> {
    let executable = std::env::current_exe()
        .map_err(|error| format!("cannot find the benchmark's own executable: {error}"))?;
    let directory = executable
        .parent()
        .ok_or_else(|| format!("{} has no directory", executable.display()))?;
    Ok(directory.join(format!("galleryd{}", std::env::consts::EXE_SUFFIX)))
}

/// The galleryd binary to run: `--galleryd-binary` or the one next to this executable; it must exist.
fn galleryd_binary(cli: &Cli) -> Result<PathBuf, String> {
    let binary = match &cli.galleryd_binary {
        Some(binary) => binary.clone(),
        None => default_galleryd_binary()?,
    };
    if !binary.is_file() {
        return Err(format!(
            "{} does not exist: build it first with `cargo build --release -p galleryd` (or pass --galleryd-binary)",
            binary.display()
        ));
    }
    Ok(binary)
}

/// `galleryd-bench replication`: the replication benchmark alone.
async fn run_replication_alone(cli: &Cli, image_mebibytes: u64) -> Result<(), String> {
    let binary = galleryd_binary(cli)?;
    let cores = available_cores();
    println!("galleryd-bench replication");
    println!("  galleryd binary: {}", binary.display());
    println!(
        "  machine: {cores} cores, shared by galleryd, this benchmark (upload, polls) and cp."
    );
    report_machine_load("at start");
    let scratch = ScratchDirectory::create()?;
    let figures = run_replication(cli, &binary, &scratch.0, image_mebibytes).await?;
    println!("\n==================== results ====================");
    println!("{}", replication::describe_fsync_policy());
    println!("\n{}", figures.table());
    report_machine_load("at end");
    Ok(())
}

/// `galleryd-bench reset`: the reset benchmark alone.
async fn run_reset_alone(cli: &Cli, args: &ResetArgs) -> Result<(), String> {
    let binary = galleryd_binary(cli)?;
    println!("galleryd-bench reset");
    println!("  galleryd binary: {}", binary.display());
    let scratch = ScratchDirectory::create()?;
    let data_dir = scratch.0.join("data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let launch = GallerydLaunch {
        binary,
        data_dir,
        database_url: None,
        log_path: scratch.0.join("galleryd.log"),
    };
    let figures = reset::run(&launch, args.resources, args.rounds).await?;
    println!("\n==================== results ====================");
    println!("{}", figures.describe());
    Ok(())
}

/// Runs the replication benchmark in `scratch`.
async fn run_replication(
    cli: &Cli,
    binary: &Path,
    scratch: &Path,
    image_mebibytes: u64,
) -> Result<ReplicationFigures, String> {
    println!("\n== replication ({image_mebibytes} MiB image, 2 replicas) ==");
    replication::run(&ReplicationSettings {
        binary: binary.to_path_buf(),
        scratch: scratch.to_path_buf(),
        image_mebibytes,
        settle: Duration::from_secs_f64(cli.settle_seconds.max(0.0)),
    })
    .await
}

async fn run_benchmark(cli: &Cli) -> Result<(), String> {
    if cli.connections == 0 || cli.seconds <= 0.0 {
        return Err("--connections and --seconds must be positive".to_string());
    }
    let binary = galleryd_binary(cli)?;
    let cores = available_cores();
    println!("galleryd-bench");
    println!("  galleryd binary: {}", binary.display());
    println!(
        "  phases: {} s measured after {} s warm-up, {} concurrent connections/tasks, backends: {}",
        cli.seconds,
        cli.warmup_seconds,
        cli.connections,
        cli.backends
            .iter()
            .map(|backend| backend.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if cli.replication_image_mib > 0 {
        println!(
            "  then replication of a {} MiB image to 2 regions against cp (--replication-image-mib 0 skips it)",
            cli.replication_image_mib
        );
    }
    println!(
        "  machine: {cores} cores. The load generator (this process, {cores} tokio workers) shares them with \
         the server under test (and with Postgres): every throughput below is what the machine does with \
         client, server and database together, and each ratio compares two such runs made in this same run."
    );
    report_machine_load("at start");

    let scratch = ScratchDirectory::create()?;
    let mut figures = Vec::new();
    for backend in &cli.backends {
        println!("\n== {} ==", backend.name());
        figures.push(run_backend(cli, *backend, &binary, &scratch.0).await?);
    }
    let replication_figures = if cli.replication_image_mib > 0 {
        Some(run_replication(cli, &binary, &scratch.0, cli.replication_image_mib).await?)
    } else {
        None
    };

    println!("\n==================== results ====================");
    println!(
        "(client and server share {cores} cores; baselines measured in this run: bare axum server for GET, \
         raw BEGIN/INSERT/COMMIT on the same database for create)"
    );
    for backend in &figures {
        println!("\n{}", backend.table());
    }
    if let Some(replication_figures) = &replication_figures {
        println!("\n{}", replication::describe_fsync_policy());
        println!("\n{}", replication_figures.table());
    }
    report_machine_load("at end");
    Ok(())
}

/// Prints the load average and any compilers running beside the benchmark.
fn report_machine_load(when: &str) {
    let load = procfs::load_average().map_or("unknown".to_string(), |load| format!("{load:.2}"));
    let competing = procfs::competing_jobs();
    if competing.is_empty() {
        println!("  machine load {when}: 1-minute load average {load}; no compilers running");
    } else {
        println!(
            "  WARNING machine load {when}: 1-minute load average {load}; other heavy jobs running ({}): figures are disturbed",
            competing.join(", ")
        );
    }
}

/// Prints one phase's figures.
fn print_phase(label: &str, unit: &str, phase: &PhaseResult, server_name: &str) {
    println!(
        "  {label}: {:.0} {unit} ({} in {:.2} s), p50 {}, p99 {}, max {}, {} failed; {}",
        phase.per_second(),
        phase.completed,
        phase.elapsed.as_secs_f64(),
        milliseconds(phase.latency.p50),
        milliseconds(phase.latency.p99),
        milliseconds(phase.latency.max),
        phase.failed,
        describe_cpu(&phase.cpu, server_name),
    );
    if let Some(failure) = &phase.first_failure {
        let shortened: String = failure.chars().take(300).collect();
        println!("    first failure: {shortened}");
    }
}

fn describe_cpu(cpu: &CpuUsage, server_name: &str) -> String {
    cpu.describe(server_name, available_cores())
}

fn print_memory(label: &str, memory: Memory) {
    println!(
        "  {label}: RSS {:.1} MB (peak {:.1} MB)",
        megabytes(memory.resident_kib),
        megabytes(memory.peak_kib)
    );
}

async fn run_backend(
    cli: &Cli,
    backend: BackendKind,
    binary: &Path,
    scratch: &Path,
) -> Result<BackendFigures, String> {
    let backend_dir = scratch.join(backend.name());
    let data_dir = backend_dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let database = match backend {
        BackendKind::Postgres => {
            let database = ScratchPostgresDatabase::create(&cli.postgres_url).await?;
            println!("  scratch database: {}", database.name);
            Some(database)
        }
        BackendKind::Sqlite => None,
    };
    let launch = GallerydLaunch {
        binary: binary.to_path_buf(),
        data_dir: data_dir.clone(),
        database_url: database.as_ref().map(|database| database.url.clone()),
        log_path: backend_dir.join("galleryd.log"),
    };
    let result = measure_backend(cli, backend, &launch, &backend_dir).await;
    if let Some(database) = database {
        // Dropped whatever happened above; galleryd has stopped or been killed by now.
        if let Err(error) = database.drop_database().await {
            eprintln!("  warning: {error}");
        }
    }
    result
}

async fn measure_backend(
    cli: &Cli,
    backend: BackendKind,
    launch: &GallerydLaunch,
    backend_dir: &Path,
) -> Result<BackendFigures, String> {
    let measured = Duration::from_secs_f64(cli.seconds);
    let warmup = Duration::from_secs_f64(cli.warmup_seconds);
    let on_postgres = backend == BackendKind::Postgres;

    // 1. Startup, twice: the second start finds the data directory/database initialised.
    let first = start_galleryd(launch).await?;
    println!(
        "  1st start (empty data directory{}): ready after {}",
        if on_postgres { ", fresh database" } else { "" },
        milliseconds(first.time_to_ready)
    );
    let first_start = first.time_to_ready;
    blocking(move || first.process.stop()).await?;
    let second = start_galleryd(launch).await?;
    println!(
        "  2nd start (initialised data): ready after {}",
        milliseconds(second.time_to_ready)
    );
    let galleryd = second.process;
    let pid = galleryd.pid();
    let memory_after_ready = Memory::of(pid)?;
    print_memory("right after ready, before any request", memory_after_ready);

    // 2. The resources the load reads and writes under.
    let subscription = second.endpoints["subscriptionId"]
        .as_str()
        .ok_or("endpoints.json has no subscriptionId")?
        .to_string();
    let paths = create_resources(galleryd.http_address, &subscription).await?;
    let image_get = format!("{}?api-version={GALLERY_API_VERSION}", paths.image);
    let document = fetch(galleryd.http_address, &image_get).await?;
    println!("  image definition document: {} bytes", document.len());

    // 3. GET: galleryd, then the bare server answering the same bytes.
    let get_plan = RequestPlan::Get {
        path_and_query: image_get.clone(),
    };
    let galleryd_get = http_phase(
        cli,
        &galleryd,
        get_plan.clone(),
        warmup,
        measured,
        on_postgres,
    )
    .await?;
    print_phase("GET galleryd", "req/s", &galleryd_get, "galleryd");

    let bare = {
        let scratch = backend_dir.to_path_buf();
        let path = paths.image.clone();
        let body = document.to_vec();
        blocking(move || server_process::start_bare_server(&scratch, &path, &body)).await?
    };
    let bare_document = fetch(bare.http_address, &image_get).await?;
    if bare_document != document {
        return Err("the bare server does not answer the bytes galleryd served".to_string());
    }
    let bare_get = http_phase(cli, &bare, get_plan, warmup, measured, false).await?;
    print_phase("GET bare axum", "req/s", &bare_get, "bare server");
    blocking(move || bare.stop()).await?;
    println!(
        "  GET ratio galleryd / bare: {:.1} %",
        galleryd_get.per_second() / bare_get.per_second().max(f64::MIN_POSITIVE) * 100.0
    );

    // 4. Creates through galleryd.
    let create_plan = |phase_tag: &str| RequestPlan::CreateImage {
        gallery_path: paths.gallery.clone(),
        phase_tag: phase_tag.to_string(),
    };
    let create_warmup_workers = HttpWorker::connect_many(
        galleryd.http_address,
        create_plan("warmup"),
        cli.connections,
    )
    .await?;
    closed_loop::run(create_warmup_workers, warmup, Some(pid), on_postgres).await;
    let create_workers = HttpWorker::connect_many(
        galleryd.http_address,
        create_plan("measured"),
        cli.connections,
    )
    .await?;
    let galleryd_create = closed_loop::run(create_workers, measured, Some(pid), on_postgres).await;
    print_phase("create galleryd", "creates/s", &galleryd_create, "galleryd");

    // 5. Idle memory once the load has stopped and settled.
    tokio::time::sleep(Duration::from_secs_f64(cli.settle_seconds)).await;
    let memory_idle = Memory::of(pid)?;
    print_memory(
        &format!("idle, {} s after the load", cli.settle_seconds),
        memory_idle,
    );
    blocking(move || galleryd.stop()).await?;

    // 6. Raw inserts on the same database, galleryd stopped.
    let raw_database = match &launch.database_url {
        Some(url) => {
            RawDatabase::postgres(url, u32::try_from(cli.connections).unwrap_or(u32::MAX)).await?
        }
        None => RawDatabase::sqlite(&launch.data_dir.join("galleryd.db")).await?,
    };
    raw_database.create_table().await?;
    let body = String::from_utf8_lossy(&document).into_owned();
    closed_loop::run(
        InsertWorker::many(&raw_database, &body, "warmup", cli.connections),
        warmup,
        None,
        on_postgres,
    )
    .await;
    let raw_insert = closed_loop::run(
        InsertWorker::many(&raw_database, &body, "measured", cli.connections),
        measured,
        None,
        on_postgres,
    )
    .await;
    raw_database.drop_table_and_close().await;
    print_phase(
        &format!(
            "raw BEGIN/INSERT/COMMIT ({} B body, {})",
            body.len(),
            if on_postgres {
                format!("pool of {} connections", cli.connections)
            } else {
                "WAL, synchronous=NORMAL, one writer connection".to_string()
            }
        ),
        "rows/s",
        &raw_insert,
        "",
    );
    println!(
        "  create ratio galleryd / raw: {:.1} %",
        galleryd_create.per_second() / raw_insert.per_second().max(f64::MIN_POSITIVE) * 100.0
    );

    Ok(BackendFigures {
        backend: backend.name(),
        startup_target_applies: backend == BackendKind::Sqlite,
        first_start,
        second_start: second.time_to_ready,
        memory_after_ready,
        memory_idle,
        document_bytes: document.len(),
        galleryd_get,
        bare_get,
        galleryd_create,
        raw_insert,
    })
}

async fn start_galleryd(launch: &GallerydLaunch) -> Result<StartedGalleryd, String> {
    let launch = launch.clone();
    blocking(move || server_process::start_galleryd(&launch)).await
}

/// A warm-up then a measured run of `plan` against `server`.
async fn http_phase(
    cli: &Cli,
    server: &ServerProcess,
    plan: RequestPlan,
    warmup: Duration,
    measured: Duration,
    include_postgres: bool,
) -> Result<PhaseResult, String> {
    let pid = Some(server.pid());
    let warmup_workers =
        HttpWorker::connect_many(server.http_address, plan.clone(), cli.connections).await?;
    closed_loop::run(warmup_workers, warmup, pid, include_postgres).await;
    let workers = HttpWorker::connect_many(server.http_address, plan, cli.connections).await?;
    Ok(closed_loop::run(workers, measured, pid, include_postgres).await)
}

/// The paths (no query) of the resources the load uses.
struct ResourcePaths {
    group: String,
    gallery: String,
    image: String,
}

/// Creates resource group `bench-rg`, gallery `benchgallery` and image definition `bench-image`.
async fn create_resources(
    address: SocketAddr,
    subscription: &str,
) -> Result<ResourcePaths, String> {
    let mut connection = HttpConnection::open(address).await?;
    let group = format!("/subscriptions/{subscription}/resourceGroups/bench-rg");
    let gallery = format!("{group}/providers/Microsoft.Compute/galleries/benchgallery");
    let image = format!("{gallery}/images/bench-image");
    let location = Bytes::from(json!({"location": "westus"}).to_string());
    let steps = [
        (
            format!("{group}?api-version={RESOURCES_API_VERSION}"),
            location.clone(),
        ),
        (
            format!("{gallery}?api-version={GALLERY_API_VERSION}"),
            location,
        ),
        (
            format!("{image}?api-version={GALLERY_API_VERSION}"),
            image_definition_body("bench-publisher", "bench-offer", "bench-sku"),
        ),
    ];
    for (path, body) in steps {
        let response = connection.send(Method::PUT, &path, Some(body)).await?;
        if !matches!(response.status.as_u16(), 200 | 201) {
            return Err(format!(
                "PUT {path} answered {}: {}",
                response.status,
                response.text()
            ));
        }
    }
    Ok(ResourcePaths {
        group,
        gallery,
        image,
    })
}

/// GETs `path_and_query` and returns the body of a 200.
async fn fetch(address: SocketAddr, path_and_query: &str) -> Result<Bytes, String> {
    let mut connection = HttpConnection::open(address).await?;
    let response = connection.send(Method::GET, path_and_query, None).await?;
    if response.status.as_u16() != 200 {
        return Err(format!(
            "GET {path_and_query} answered {}: {}",
            response.status,
            response.text()
        ));
    }
    Ok(response.body)
}
