//! The servers under test as child processes: the real galleryd binary, and this binary re-executed
//! as the bare baseline server. Starting galleryd is timed from `spawn` to the first 200 of
//! `GET /_galleryd/ready`, polling every 2 ms. A child is stopped with SIGTERM (galleryd drains and
//! closes its database cleanly) and killed if it is still around when its handle is dropped.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How often readiness is polled.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(2);
/// How long a server may take to become ready before the benchmark gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A server running as a child process of the benchmark.
pub struct ServerProcess {
    /// For messages: `galleryd` or `bare server`.
    pub name: &'static str,
    child: Option<Child>,
    /// Where its plain-HTTP listener is.
    pub http_address: SocketAddr,
    /// Its stdout and stderr.
    pub log_path: PathBuf,
}

/// How to run galleryd.
#[derive(Debug, Clone)]
pub struct GallerydLaunch {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    pub log_path: PathBuf,
}

/// A galleryd that answered ready.
pub struct StartedGalleryd {
    pub process: ServerProcess,
    /// From `spawn` to the first 200 of `/_galleryd/ready`.
    pub time_to_ready: Duration,
    /// The contents of `endpoints.json`.
    pub endpoints: Value,
}

/// Limits raised far above what the create load reaches.
const UNLIMITED: &str = "10000000";

fn open_log(path: &Path) -> Result<(Stdio, Stdio), String> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| format!("cannot open log {}: {error}", path.display()))?;
    let second = log
        .try_clone()
        .map_err(|error| format!("cannot share log {}: {error}", path.display()))?;
    Ok((Stdio::from(log), Stdio::from(second)))
}

/// A command without the `GALLERYD_*` variables of the caller's environment, so only the flags
/// configure the child.
fn clean_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GALLERYD_") {
            command.env_remove(name);
        }
    }
    command
}

/// Starts galleryd and waits (blocking) until it is ready.
pub fn start_galleryd(launch: &GallerydLaunch) -> Result<StartedGalleryd, String> {
    let endpoints_path = launch.data_dir.join("endpoints.json");
    // A previous run's file names ports that are gone: wait for this run's.
    match std::fs::remove_file(&endpoints_path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(format!(
                "cannot remove {}: {error}",
                endpoints_path.display()
            ));
        }
    }
    let (stdout, stderr) = open_log(&launch.log_path)?;
    let mut command = clean_command(&launch.binary);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&launch.data_dir)
        .args([
            "--https-port",
            "0",
            "--http-port",
            "0",
            "--log-level",
            "warn",
        ])
        .args(["--max-galleries-per-region", UNLIMITED])
        .args(["--max-image-definitions-per-region", UNLIMITED])
        .args(["--shutdown-grace-seconds", "2"]);
    if let Some(url) = &launch.database_url {
        command.arg("--database-url").arg(url);
    }
    command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);

    let spawned_at = Instant::now();
    let child = command
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", launch.binary.display()))?;
    let mut process = ServerProcess {
        name: "galleryd",
        child: Some(child),
        http_address: SocketAddr::from(([127, 0, 0, 1], 0)),
        log_path: launch.log_path.clone(),
    };
    let mut endpoints: Option<Value> = None;
    loop {
        process.fail_if_exited()?;
        if spawned_at.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "galleryd was not ready after {READY_TIMEOUT:?}; log: {}",
                process.log_tail()
            ));
        }
        if endpoints.is_none() {
            // The file may be caught half-written: an unparsable read is retried.
            endpoints = std::fs::read_to_string(&endpoints_path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            if let Some(found) = &endpoints {
                process.http_address = http_address(found)?;
            }
        }
        if endpoints.is_some() && is_ready(process.http_address) {
            let time_to_ready = spawned_at.elapsed();
            return Ok(StartedGalleryd {
                process,
                time_to_ready,
                endpoints: endpoints.unwrap_or_default(),
            });
        }
        std::thread::sleep(READY_POLL_INTERVAL);
    }
}

/// The socket address of `endpoints.json`'s `http` URL.
fn http_address(endpoints: &Value) -> Result<SocketAddr, String> {
    let url = endpoints["http"]
        .as_str()
        .ok_or_else(|| format!("endpoints.json has no http URL: {endpoints}"))?;
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    authority
        .parse()
        .map_err(|error| format!("cannot read the address of {url}: {error}"))
}

/// Whether `GET /_galleryd/ready` answers 200 (one short-lived connection).
fn is_ready(address: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_nodelay(true)?;
        stream.write_all(
            format!(
                "GET /_galleryd/ready HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )?;
        let mut status_line = [0u8; 12];
        stream.read_exact(&mut status_line)?;
        Ok(status_line.starts_with(b"HTTP/1.1 200"))
    };
    attempt().unwrap_or(false)
}

/// Starts this executable as the bare baseline server answering `GET path` with `body`, and waits
/// (blocking) for it to listen.
pub fn start_bare_server(
    scratch_dir: &Path,
    path: &str,
    body: &[u8],
) -> Result<ServerProcess, String> {
    let body_path = scratch_dir.join("bare-server-body.json");
    let address_path = scratch_dir.join("bare-server-address");
    let log_path = scratch_dir.join("bare-server.log");
    std::fs::write(&body_path, body)
        .map_err(|error| format!("cannot write {}: {error}", body_path.display()))?;
    let _ = std::fs::remove_file(&address_path);
    let executable = std::env::current_exe()
        .map_err(|error| format!("cannot find the benchmark's own executable: {error}"))?;
    let (stdout, stderr) = open_log(&log_path)?;
    let child = clean_command(&executable)
        .arg("bare-server")
        .arg("--path")
        .arg(path)
        .arg("--body-file")
        .arg(&body_path)
        .arg("--address-file")
        .arg(&address_path)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|error| format!("cannot run {} bare-server: {error}", executable.display()))?;
    let mut process = ServerProcess {
        name: "bare server",
        child: Some(child),
        http_address: SocketAddr::from(([127, 0, 0, 1], 0)),
        log_path,
    };
    let started = Instant::now();
    loop {
        process.fail_if_exited()?;
        // The file is written whole once the listener is bound (see `bare_server`).
        if let Some(address) = std::fs::read_to_string(&address_path)
            .ok()
            .and_then(|text| text.trim().parse::<SocketAddr>().ok())
        {
            process.http_address = address;
            return Ok(process);
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "the bare server did not start; log: {}",
                process.log_tail()
            ));
        }
        std::thread::sleep(READY_POLL_INTERVAL);
    }
}

impl ServerProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The last lines of the child's output.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            format!("({} is empty)", self.log_path.display())
        } else {
            tail
        }
    }

    fn fail_if_exited(&mut self) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err(format!("{} is not running", self.name));
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited early ({status}); log:\n{}",
                self.name,
                self.log_tail()
            )),
            Err(error) => Err(format!("cannot watch {}: {error}", self.name)),
        }
    }

    /// Sends SIGTERM and waits (blocking) for the process to exit; kills it after a timeout.
    pub fn stop(mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().to_string();
        // `unsafe` is forbidden in the workspace, so the signal goes through kill(1), by process id.
        let signalled = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while signalled && Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => return Err(format!("cannot wait for {}: {error}", self.name)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "{} (pid {pid}) did not stop on SIGTERM and was killed",
            self.name
        ))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
