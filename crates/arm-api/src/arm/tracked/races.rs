//! What a write does after losing a race: pause a little, then queue behind the other writers of
//! the same resource in this process, and try again, a bounded number of times.
//!
//! Writes are optimistic (the store applies a decision only over what it read), so writers of one
//! resource that overlap lose races to each other. The first attempt of every write runs without
//! waiting for anything. A write that lost pauses for a random moment (up to 2, 4, 8 … 64 ms, so
//! writers from several processes spread out) and then takes its resource's turn in
//! [`WriteQueues`]: from then on the writers of one resource in this process run one at a time,
//! as they would queue on a row lock, and each retry sees the previous one's result. After
//! [`WRITE_ATTEMPTS`] lost races the write answers a clean 409 `Conflict`.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use gallery_domain::{ErrorCode, ServiceError};
use tokio::sync::{Mutex, MutexGuard};

/// How often a write runs again after losing a race before it answers 409.
pub const WRITE_ATTEMPTS: u32 = 24;
/// The longest pause (milliseconds) before a write takes its turn again.
const MAX_PAUSE_MILLISECONDS: u64 = 64;
/// Queues per process; writers of resources that share one only wait for each other after a lost
/// race.
const QUEUES: usize = 64;

/// The per-process turns of writers that lost a race, by resource (sharded).
#[derive(Debug)]
pub struct WriteQueues {
    queues: Vec<Mutex<()>>,
    hasher: RandomState,
}

impl Default for WriteQueues {
    fn default() -> Self {
        WriteQueues {
            queues: (0..QUEUES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl WriteQueues {
    /// Waits for the turn of the resource `key`; the turn lasts as long as the guard.
    async fn turn(&self, key: &str) -> MutexGuard<'_, ()> {
        let index = (self.hasher.hash_one(key) as usize) % self.queues.len();
        self.queues[index].lock().await
    }
}

/// The lost races of one write, and its turn once it has lost one.
pub struct RaceRetries<'a> {
    queues: &'a WriteQueues,
    key: String,
    lost: u32,
    conflict_message: &'static str,
    turn: Option<MutexGuard<'a, ()>>,
}

impl<'a> RaceRetries<'a> {
    /// The retries of a write of the resource `key` (lower-cased id), answering
    /// `conflict_message` once they are used up.
    pub fn new(queues: &'a WriteQueues, key: &str, conflict_message: &'static str) -> Self {
        RaceRetries {
            queues,
            key: key.to_string(),
            lost: 0,
            conflict_message,
            turn: None,
        }
    }

    /// The retries of a resource write, with the usual 409.
    pub fn for_resource(queues: &'a WriteQueues, key: &str) -> Self {
        RaceRetries::new(
            queues,
            key,
            "The resource is being changed by other requests; retry the operation.",
        )
    }

    /// After a lost race: gives up the turn (if any), pauses, waits for the resource's turn and
    /// answers `Ok` to run the write again; the 409 once the attempts are used up.
    pub async fn lost_race(&mut self) -> Result<(), ServiceError> {
        self.turn = None;
        self.lost += 1;
        if self.lost >= WRITE_ATTEMPTS {
            return Err(ServiceError::new(
                409,
                ErrorCode::Conflict,
                self.conflict_message,
            ));
        }
        let ceiling = (1u64 << self.lost.min(6)).min(MAX_PAUSE_MILLISECONDS);
        tracing::debug!(attempt = self.lost, "a write lost a race; running it again");
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=ceiling))).await;
        self.turn = Some(self.queues.turn(&self.key).await);
        Ok(())
    }
}
