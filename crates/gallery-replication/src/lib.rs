//! galleryd's background workers.
//!
//! A [`Workers`] pool claims jobs from the durable queue in the database (see gallery-store's
//! `jobs`) and runs them: replicating published versions ([`replicate`]: image versions today,
//! application and script versions through the same path, since a version is copied as "its
//! contents × every planned replica"), deleting them ([`delete`]), copying the contents of disks,
//! snapshots and managed images ([`copy_content`]) and collecting garbage ([`garbage`]). Everything is resumable: jobs are held under leases that the
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

use gallery_domain::internal::ContentCopy;

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
    /// How long blobs nothing references must stay untouched before they are deleted (they may
    /// belong to a write that has not recorded them yet).
    pub garbage_grace: Duration,
    /// How many runs of a job may fail (or be cut off by a crash) before it is given up on: its
    /// operation then fails, and so does its resource. Errors that no retry can mend give up at once.
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

    /// The manifest of a sealed content; `None` when the content is gone or not sealed.
    pub(crate) async fn sealed_manifest(
        &self,
        content_id: &str,
    ) -> Result<Option<gallery_blob::Manifest>, JobError> {
        let Some(text) = self
            .store
            .get_content(content_id)
            .await?
            .and_then(|content| content.manifest)
        else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| JobError::Invalid(format!("manifest of {content_id}: {error}")))
    }

    /// Copies the sealed content `manifest` describes as `copy` says and records the copy as a
    /// content of `owner`. The destination is recorded (unsealed) before its first blob is written,
    /// so garbage collection never takes the copy's blobs for what a crash left behind, however long
    /// the copy runs; it is sealed with the copy's manifest, which is returned, once every byte is
    /// copied and checked. `progress` gets the bytes copied so far.
    pub(crate) async fn copy_and_record(
        &self,
        copy: &ContentCopy,
        manifest: &gallery_blob::Manifest,
        owner: &str,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<gallery_blob::Manifest, JobError> {
        let source = self.blobs.region(&copy.source_region).await?;
        let destination = self.blobs.region(&copy.destination_region).await?;
        let size = |bytes: u64| i64::try_from(bytes).unwrap_or(i64::MAX);
        self.store
            .create_content(
                &copy.destination_content_id,
                &copy.destination_region,
                size(manifest.logical_size),
                owner,
                None,
            )
            .await?;
        let pacer = self.pacer(&copy.source_region, &copy.destination_region);
        let copied = gallery_blob::copy_until(
            source.as_ref(),
            manifest,
            destination.as_ref(),
            &copy.destination_content_id,
            pacer.as_deref(),
            progress,
            &runner::stop_requested,
        )
        .await;
        let outcome = if copied.is_ok() {
            "completed"
        } else {
            "failed"
        };
        metrics::counter!(
            "galleryd_replica_copies_total",
            "source_region" => copy.source_region.clone(),
            "destination_region" => copy.destination_region.clone(),
            "outcome" => outcome,
        )
        .increment(1);
        let copied = copied?;
        metrics::counter!(
            "galleryd_replication_bytes_total",
            "source_region" => copy.source_region.clone(),
            "destination_region" => copy.destination_region.clone(),
        )
        .increment(copied.occupied_bytes);
        let copied_text =
            serde_json::to_string(&copied).map_err(|error| JobError::Invalid(error.to_string()))?;
        self.store
            .create_content(
                &copy.destination_content_id,
                &copy.destination_region,
                size(copied.logical_size),
                owner,
                Some((&copied_text, size(copied.occupied_bytes), &copied.checksum)),
            )
            .await?;
        Ok(copied)
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

impl JobError {
    /// Whether running the job again cannot help: its stored data cannot be read, or the blob store
    /// refused for good (a missing source object, a bad region or content id, refused credentials).
    pub(crate) fn is_permanent(&self) -> bool {
        match self {
            JobError::Invalid(_) => true,
            JobError::Blob(error) => !error.is_retryable(),
            JobError::Store(_) | JobError::LeaseLost => false,
        }
    }
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
