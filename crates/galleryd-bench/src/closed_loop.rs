//! The closed-loop load driver shared by every phase: N workers (one connection each) start together,
//! each issues its next operation as soon as the previous one completes, until the phase's time is
//! up. Every completed operation's latency is recorded (in microseconds); failures are counted.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Barrier;

use crate::procfs::CpuSampler;
use crate::stats::{LatencySummary, PhaseResult};

/// One simulated client: owns its connection and performs one operation per call.
pub trait Worker: Send + 'static {
    /// Performs operation number `sequence` of this worker; `Err` describes a failure.
    fn perform(&mut self, sequence: u64) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one worker observed.
struct WorkerTally {
    latencies_us: Vec<u32>,
    failed: u64,
    first_failure: Option<String>,
}

/// Runs `workers` (already connected) for `duration` and measures them. `server_pid` and
/// `include_postgres` say whose CPU to sample besides this process.
pub async fn run<W: Worker>(
    workers: Vec<W>,
    duration: Duration,
    server_pid: Option<u32>,
    include_postgres: bool,
) -> PhaseResult {
    let start_line = Arc::new(Barrier::new(workers.len() + 1));
    let mut handles = Vec::with_capacity(workers.len());
    for mut worker in workers {
        let start_line = start_line.clone();
        handles.push(tokio::spawn(async move {
            let mut tally = WorkerTally {
                latencies_us: Vec::with_capacity(64 * 1024),
                failed: 0,
                first_failure: None,
            };
            start_line.wait().await;
            let deadline = Instant::now() + duration;
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                let began = Instant::now();
                let outcome = worker.perform(sequence).await;
                let latency = began.elapsed();
                sequence += 1;
                match outcome {
                    Ok(()) => tally
                        .latencies_us
                        .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX)),
                    Err(failure) => {
                        tally.failed += 1;
                        tally.first_failure.get_or_insert(failure);
                        // A worker whose server or database went away should not spin.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            tally
        }));
    }
    let cpu = CpuSampler::start(server_pid, include_postgres);
    start_line.wait().await;
    let released = Instant::now();
    let mut latencies_us = Vec::new();
    let mut failed = 0;
    let mut first_failure = None;
    for handle in handles {
        match handle.await {
            Ok(tally) => {
                latencies_us.extend_from_slice(&tally.latencies_us);
                failed += tally.failed;
                if first_failure.is_none() {
                    first_failure = tally.first_failure;
                }
            }
            Err(error) => {
                failed += 1;
                first_failure.get_or_insert(format!("worker task failed: {error}"));
            }
        }
    }
    let elapsed = released.elapsed();
    let cpu = cpu.finish();
    PhaseResult {
        completed: latencies_us.len() as u64,
        failed,
        first_failure,
        elapsed,
        latency: LatencySummary::from_microseconds(&mut latencies_us),
        cpu,
    }
}
