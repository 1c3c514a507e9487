//! The Azure Blob backend against a real Azurite (the Azure Storage emulator): container creation
//! with Shared Key, then the same content scenarios as the local backends.
//!
//! Azurite is installed with npm into `<target>/azurite` on first run (pinned to
//! [`AZURITE_VERSION`], the newest release that still runs on Node 20) and started for the test on
//! a free port, blob service only, in memory. Without node or npm the test prints a notice and
//! passes; `GALLERYD_SKIP_AZURITE=1` skips it deliberately.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gallery_blob::{BlobBackend, BlobError, RegionStores};

use common::TempDirectory;

/// The Azurite release the test installs (3.36 and later need Node 21 or newer).
const AZURITE_VERSION: &str = "3.35.0";
/// Azurite's well-known development account and its published key.
const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite, stopped when dropped.
struct Azurite {
    process: Child,
    port: u16,
    workspace: TempDirectory,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Azurite {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{DEVELOPMENT_ACCOUNT}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.workspace.path().join("azurite.log")).unwrap_or_default()
    }

    fn stores(&self, container_prefix: &str) -> RegionStores {
        RegionStores::new(BlobBackend::AzureBlob {
            account: DEVELOPMENT_ACCOUNT.to_owned(),
            access_key: DEVELOPMENT_KEY.to_owned(),
            endpoint: Some(self.endpoint()),
            container_prefix: container_prefix.to_owned(),
        })
        .expect("Azure backend settings")
    }
}

/// The workspace's target directory, found from the test binary (`<target>/debug/deps/<test>`),
/// so `CARGO_TARGET_DIR` is honoured.
fn target_directory() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|executable| {
            executable
                .ancestors()
                .find(|ancestor| ancestor.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn command_available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Installs (if needed) and starts Azurite; `None` when node or npm is missing.
fn start_azurite() -> Option<Azurite> {
    if std::env::var_os("GALLERYD_SKIP_AZURITE").is_some() {
        eprintln!("NOTICE: GALLERYD_SKIP_AZURITE is set: the Azurite test does not run");
        return None;
    }
    if !command_available("node") || !command_available("npm") {
        eprintln!("NOTICE: node or npm is not installed: the Azurite test does not run");
        return None;
    }
    let install_directory = target_directory().join("azurite");
    let executable = install_directory.join("node_modules/.bin/azurite-blob");
    let installed_version =
        std::fs::read_to_string(install_directory.join("node_modules/azurite/package.json"))
            .ok()
            .and_then(|manifest| serde_json::from_str::<serde_json::Value>(&manifest).ok())
            .and_then(|manifest| manifest["version"].as_str().map(str::to_owned));
    if !executable.exists() || installed_version.as_deref() != Some(AZURITE_VERSION) {
        eprintln!(
            "installing azurite@{AZURITE_VERSION} into {}",
            install_directory.display()
        );
        let status = Command::new("npm")
            .args([
                "install",
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&install_directory)
            .arg(format!("azurite@{AZURITE_VERSION}"))
            .status()
            .expect("run npm install");
        assert!(
            status.success(),
            "npm install azurite@{AZURITE_VERSION} failed: {status}"
        );
    }

    // A free port: bind port 0, note the port, release it (Azurite cannot take port 0).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port();
    let workspace = TempDirectory::new("azurite");
    let log = std::fs::File::create(workspace.path().join("azurite.log")).expect("create log");
    let log_for_errors = log.try_clone().expect("clone log handle");
    let process = Command::new(&executable)
        .args(["--blobHost", "127.0.0.1", "--blobPort"])
        .arg(port.to_string())
        // In memory, nothing on disk (Azurite refuses `--location` with it; it runs in the
        // temporary workspace instead).
        .args(["--inMemoryPersistence", "--disableTelemetry"])
        .current_dir(workspace.path())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_errors)
        .spawn()
        .expect("start Azurite");
    let mut azurite = Azurite {
        process,
        port,
        workspace,
    };

    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = azurite.process.try_wait() {
            panic!("Azurite exited with {status}:\n{}", azurite.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Azurite did not listen within 30 s:\n{}",
            azurite.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "Azurite {AZURITE_VERSION} listening on port {port} after {:?}",
        started.elapsed()
    );
    Some(azurite)
}

#[tokio::test]
async fn azure_blob_backend_against_azurite() {
    let Some(azurite) = start_azurite() else {
        return;
    };
    let started = Instant::now();

    // Containers are created on first use; a second RegionStores finds them already there (409).
    let stores = azurite.stores("galleryd-");
    assert_eq!(stores.backend_name(), "azure-blob");
    stores
        .region("westus")
        .await
        .expect("create the westus container");
    azurite
        .stores("galleryd-")
        .region("westus")
        .await
        .expect("an existing container is fine");

    // Each scenario gets its own containers, so listings see only its contents.
    common::scattered_writes_match_the_model(azurite.stores("scattered-")).await;
    common::sixty_four_mebibytes_in_sixteen_pages(azurite.stores("large-")).await;
    common::tampering_is_detected(azurite.stores("tamper-")).await;
    common::sealing_again_gives_the_same_manifest(azurite.stores("reseal-")).await;
    common::empty_contents_are_zeros(azurite.stores("empty-")).await;
    common::delete_and_list_contents(azurite.stores("delete-")).await;

    // A wrong key is refused by the service when the container is created, and not retried.
    let wrong_key = RegionStores::new(BlobBackend::AzureBlob {
        account: DEVELOPMENT_ACCOUNT.to_owned(),
        access_key: "d3Jvbmcga2V5".to_owned(),
        endpoint: Some(azurite.endpoint()),
        container_prefix: "refused-".to_owned(),
    })
    .expect("settings are well-formed");
    match wrong_key.region("westus").await {
        Err(error @ BlobError::ContainerCreation { .. }) => {
            assert!(!error.is_retryable(), "{error}");
        }
        other => panic!("a wrong key should be refused: {:?}", other.map(|_| ())),
    }
    eprintln!("Azurite scenarios took {:?}", started.elapsed());
}
