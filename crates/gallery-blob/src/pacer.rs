//! Bandwidth pacing for the "realistic" latency profile: copies that take as long as bytes take to
//! cross a link of a given rate, without galleryd actually being slow at anything else.
//!
//! The pacer is a token bucket without burst allowance, implemented as virtual scheduling: it keeps
//! the instant at which every byte admitted so far will have been "transmitted" at the configured
//! rate. `pace(n)` moves that instant `n / rate` further (starting from now if the link was idle)
//! and sleeps until it. Concurrent callers sharing one pacer (`Arc<Pacer>`) therefore share the
//! rate: their bytes are scheduled one after another on the same virtual link. Time is tokio's, so
//! tests can run it under `tokio::time::pause()` in virtual time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Limits the throughput of everything paced through it to `bytes_per_second`.
#[derive(Debug)]
pub struct Pacer {
    bytes_per_second: u64,
    /// When the bytes admitted so far will have been transmitted.
    transmitted_at: Mutex<Instant>,
}

impl Pacer {
    /// A pacer admitting `bytes_per_second` on average; `0` means no limit.
    pub fn new(bytes_per_second: u64) -> Pacer {
        Pacer {
            bytes_per_second,
            transmitted_at: Mutex::new(Instant::now()),
        }
    }

    /// The configured rate (`0`: unlimited).
    pub fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }

    /// Waits until `bytes` more may pass without the throughput exceeding the rate.
    pub async fn pace(&self, bytes: u64) {
        if self.bytes_per_second == 0 || bytes == 0 {
            return;
        }
        let transmission = u128::from(bytes) * 1_000_000_000 / u128::from(self.bytes_per_second);
        let transmission = Duration::from_nanos(u64::try_from(transmission).unwrap_or(u64::MAX));
        let deadline = {
            // A poisoned lock only means another pacing caller panicked; the instant is still valid.
            let mut transmitted_at = self
                .transmitted_at
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let start = (*transmitted_at).max(Instant::now());
            *transmitted_at = start + transmission;
            *transmitted_at
        };
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const MEBIBYTE: u64 = 1024 * 1024;

    #[tokio::test(start_paused = true)]
    async fn ten_mebibytes_at_one_mebibyte_per_second_take_ten_seconds() {
        let pacer = Pacer::new(MEBIBYTE);
        let started = Instant::now();
        for _ in 0..40 {
            pacer.pace(MEBIBYTE / 4).await;
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(9_990) && elapsed <= Duration::from_millis(10_010),
            "took {elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_copies_share_the_rate() {
        let pacer = Arc::new(Pacer::new(2 * MEBIBYTE));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let pacer = Arc::clone(&pacer);
            tasks.push(tokio::spawn(async move {
                for _ in 0..5 {
                    pacer.pace(MEBIBYTE).await;
                }
            }));
        }
        for task in tasks {
            task.await.expect("pacing task panicked");
        }
        // 20 MiB at 2 MiB/s, whichever task sent them.
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(9_990) && elapsed <= Duration::from_millis(10_010),
            "took {elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_saved_up_as_burst() {
        let pacer = Pacer::new(MEBIBYTE);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Instant::now();
        pacer.pace(2 * MEBIBYTE).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_unlimited() {
        let pacer = Pacer::new(0);
        let started = Instant::now();
        pacer.pace(1 << 40).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
