//! galleryd's background workers.
//!
//! A [`Workers`] pool claims jobs from the durable queue in the database (see gallery-store's
//! `jobs`) and runs them: replicating image versions ([`replicate`]), deleting them ([`delete`]) and
//! collecting garbage ([`garbage`]). Everything is resumable: jobs are held under leases that the
//! worker renews, replicas are claimed one by one (also under leases), copies are idempotent, and a
//! job whose worker died is claimed again by any process sharing the database. The API process
//! runs workers by default (`galleryd serve`); `galleryd worker` runs only workers.
//!
//! Work is never done in request handlers: a handler records the resource, its operation and a job
//! in one transaction and wakes the workers; the client polls the operation.

mod copy_content;
mod delete;
mod garbage;
mod links;
mod replicate;
mod runner;
mod settle;

use std::sync::Arc;
use std::time::Duration;

pub use links::{LinkBandwidth, Links};
pub use runner::Workers;

/// How copies are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyProfile {
    /// As fast as the machine copies (tests, CI).
    Instant,
    /// Paced by a bandwidth, so progress can be watched climbing.
    Realistic,
}

/// Settings of the workers.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This process's name in leases (unique per process).
    pub worker_id: String,
    /// How many jobs run at once in this process.
    pub concurrent_jobs: usize,
    /// How many replica copies one job runs at once.
    pub concurrent_copies: usize,
    /// How long a claim holds without renewal (renewed every third of it).
    pub lease: Duration,
    /// How often idle workers look for work they were not woken for (jobs from other processes).
    pub poll_interval: Duration,
    pub profile: LatencyProfile,
    /// Bytes per second of every link between two regions (and of a region with itself) under the
    /// realistic profile, unless `link_bandwidths` names the pair.
    pub bandwidth_bytes_per_second: u64,
    /// Links whose bandwidth differs from the default.
    pub link_bandwidths: Vec<LinkBandwidth>,
    /// How often garbage collection runs (`None`: never).
    pub garbage_collection_interval: Option<Duration>,
    /// How long a blob nothing references must stay unreferenced before it is deleted (it may
    /// belong to a write that has not recorded it yet).
    pub garbage_grace: Duration,
    /// How many times a failed job is retried before its operation fails.
    pub max_attempts: i32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            worker_id: format!("galleryd-{}", uuid::Uuid::new_v4().simple()),
            concurrent_jobs: 4,
            concurrent_copies: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            profile: LatencyProfile::Instant,
            bandwidth_bytes_per_second: 100 * 1024 * 1024,
            link_bandwidths: Vec::new(),
            garbage_collection_interval: Some(Duration::from_secs(60)),
            garbage_grace: Duration::from_secs(300),
            max_attempts: 5,
        }
    }
}

/// What every job shares.
#[derive(Clone)]
pub(crate) struct Context {
    pub store: gallery_store::Store,
    pub blobs: gallery_blob::RegionStores,
    pub settings: Arc<WorkerSettings>,
    /// The paced links between regions under the realistic profile (`None`: copies are not paced).
    pub links: Option<Arc<Links>>,
}

impl Context {
    /// The pacer of the link a copy from `source` to `destination` crosses, if copies are paced.
    pub(crate) fn pacer(
        &self,
        source: &str,
        destination: &str,
    ) -> Option<Arc<gallery_blob::Pacer>> {
        self.links
            .as_ref()
            .map(|links| links.pacer(source, destination))
    }

    /// Deletes a content: its blobs in `region` first, then its row (so a crash in between leaves
    /// the row that leads to what is left).
    pub(crate) async fn delete_content(
        &self,
        region: &str,
        content_id: &str,
    ) -> Result<(), JobError> {
        let store = self.blobs.region(region).await?;
        gallery_blob::delete(store.as_ref(), content_id).await?;
        self.store.delete_content(content_id).await?;
        Ok(())
    }
}

/// Why a job could not finish this time.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error("database: {0}")]
    Store(#[from] gallery_store::StoreError),
    #[error("blob store: {0}")]
    Blob(#[from] gallery_blob::BlobError),
    #[error("{0}")]
    Invalid(String),
    /// Another worker took over (our lease expired): stop without touching anything.
    #[error("the job's lease was lost")]
    LeaseLost,
}

/// How a job run ended.
#[derive(Debug)]
pub(crate) enum JobOutcome {
    /// Done; the job can be marked done.
    Finished,
    /// Not done yet (waiting for replicas other workers copy, or a transient failure): run again
    /// after the delay.
    Again(Duration, String),
}
