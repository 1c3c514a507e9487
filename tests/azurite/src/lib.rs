//! Azurite for tests: the Azure Storage emulator, installed with npm into `<target>/azurite` on
//! first use (pinned to [`AZURITE_VERSION`], the newest release that still runs on Node 20) and
//! started on a free port, blob service only, in memory.
//!
//! Both the blob crate's backend test and the end-to-end replication test on the Azure backend run
//! against it, so the launcher lives here once. Without node or npm, [`Azurite::start`] prints a
//! notice and returns `None` (the caller's test then passes without running);
//! `GALLERYD_SKIP_AZURITE=1` skips deliberately, and `GALLERYD_REQUIRE_AZURITE=1` (set by CI) turns
//! a missing node or npm into a failure instead.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Azurite release installed (3.36 and later need Node 21 or newer).
pub const AZURITE_VERSION: &str = "3.35.0";
/// Azurite's well-known development account.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
/// The published key of the development account.
pub const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite, stopped (and its workspace removed) when dropped.
pub struct Azurite {
    process: Child,
    port: u16,
    workspace: PathBuf,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.workspace);
    }
}

/// The workspace's target directory, found from the running test binary
/// (`<target>/debug/deps/<test>`), so `CARGO_TARGET_DIR` is honoured.
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

/// Installs the pinned Azurite into `<target>/azurite` unless it is there; returns its executable.
/// Tests of one binary run in parallel: one installs while the others wait.
fn install() -> PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
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
    executable
}

impl Azurite {
    /// Installs (if needed) and starts Azurite; `None` when it cannot run here (see the module).
    pub fn start() -> Option<Azurite> {
        if std::env::var_os("GALLERYD_SKIP_AZURITE").is_some() {
            eprintln!("NOTICE: GALLERYD_SKIP_AZURITE is set: the Azurite test does not run");
            return None;
        }
        if !command_available("node") || !command_available("npm") {
            assert!(
                std::env::var_os("GALLERYD_REQUIRE_AZURITE").is_none(),
                "GALLERYD_REQUIRE_AZURITE is set but node or npm is not installed"
            );
            eprintln!("NOTICE: node or npm is not installed: the Azurite test does not run");
            return None;
        }
        let executable = install();

        // A free port: bind port 0, note the port, release it (Azurite cannot take port 0).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("find a free port")
            .port();
        let workspace =
            std::env::temp_dir().join(format!("azurite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&workspace).expect("create the Azurite workspace");
        let log = std::fs::File::create(workspace.join("azurite.log")).expect("create log");
        let log_for_errors = log.try_clone().expect("clone log handle");
        let process = Command::new(&executable)
            .args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(port.to_string())
            // In memory, nothing on disk (Azurite refuses `--location` with it; it runs in the
            // temporary workspace instead).
            .args(["--inMemoryPersistence", "--disableTelemetry"])
            .current_dir(&workspace)
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

    /// The blob endpoint of the development account.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{DEVELOPMENT_ACCOUNT}", self.port)
    }

    /// What Azurite printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.workspace.join("azurite.log")).unwrap_or_default()
    }
}
