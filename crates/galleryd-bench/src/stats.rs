//! What a load phase measured: completed operations, failures, wall time, the latency of every
//! completed operation, and the CPU each party spent meanwhile.

use std::time::Duration;

use crate::procfs::CpuUsage;

/// The latency distribution of one phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatencySummary {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencySummary {
    /// Summarises latencies recorded in microseconds (sorted in place).
    pub fn from_microseconds(latencies: &mut [u32]) -> LatencySummary {
        if latencies.is_empty() {
            return LatencySummary::default();
        }
        latencies.sort_unstable();
        let at = |fraction: f64| {
            // Nearest-rank percentile: the smallest value with at least `fraction` of all at or below it.
            let rank = (fraction * latencies.len() as f64).ceil() as usize;
            Duration::from_micros(u64::from(latencies[rank.clamp(1, latencies.len()) - 1]))
        };
        LatencySummary {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The outcome of one closed-loop load phase.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Operations that completed as expected.
    pub completed: u64,
    /// Operations that failed (wrong status, transport or database error).
    pub failed: u64,
    /// The first failure, to show what went wrong.
    pub first_failure: Option<String>,
    /// From the moment all workers were released until the last one finished.
    pub elapsed: Duration,
    pub latency: LatencySummary,
    pub cpu: CpuUsage,
}

impl PhaseResult {
    /// Completed operations per second of wall time.
    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.completed as f64 / seconds
        } else {
            0.0
        }
    }
}

/// A duration in milliseconds with two decimals.
pub fn milliseconds(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut latencies: Vec<u32> = (1..=100).rev().collect();
        let summary = LatencySummary::from_microseconds(&mut latencies);
        assert_eq!(summary.p50, Duration::from_micros(50));
        assert_eq!(summary.p99, Duration::from_micros(99));
        assert_eq!(summary.max, Duration::from_micros(100));
        let mut single = vec![7];
        assert_eq!(
            LatencySummary::from_microseconds(&mut single).p99,
            Duration::from_micros(7)
        );
    }
}
