//! Replicating a published version (of any artifact kind): make its replicas match its publishing
//! profile, then settle it.
//!
//! The replicas are planned from the version's document (the publishing core's replication plan:
//! target regions × replica counts) times the contents it is made of (its internal
//! `PublishedContents`: an image version's disks, an application's package, …) into rows (see
//! gallery-store's `replicas`). Nothing here knows the artifact's kind beyond how failures name it:
//! a new kind records its contents and enqueues a `ReplicateVersion` job, and this module copies
//! them. Copies follow Azure's order: the source content is
//! copied into the version's own region first (replica 0 there), each other target region gets one
//! cross-region copy from it (its replica 0), and further replicas in a region are copied from that
//! region's replica 0. Every copy is claimed row by row under a lease, streamed, checksummed and
//! verified by the blob layer, and reported as it progresses (that is what
//! `$expand=ReplicationStatus` shows). Replicas of regions that left the profile are deleted. When
//! every replica is complete the version turns `Succeeded` and its operation ends, in one
//! transaction, provided no newer write came in meanwhile (the newer write's own job settles it).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};
use gallery_domain::internal::ContentCopy;
use gallery_domain::models::ProvisioningState;
use gallery_domain::publishing::{
    ArtifactKind, PublishedContents, PublishedVersion, replication_plan,
};
use gallery_store::{ClaimedJob, PlannedReplica, ReplicaState, StoredReplica};
use serde_json::Value;

use crate::delete::{content_id_of, delete_replica};
use crate::runner::renew_until_lost;
use crate::settle::{Failure, cancel_operation, settle_resource_and_operation};
use crate::{Context, JobError, JobOutcome};

/// A replica copy that failed this many times fails the version.
const COPY_ATTEMPTS: i32 = 3;

/// A published version as a replication run sees it: its document, the contents it is made of,
/// and the revision the run plans from.
struct Loaded {
    seq: i64,
    revision: i64,
    document: Value,
    version: PublishedVersion,
    contents: PublishedContents,
}

async fn load(context: &Context, resource_key: &str) -> Result<Option<Loaded>, JobError> {
    let Some(resource) = context.store.get_resource(resource_key).await? else {
        return Ok(None);
    };
    let document: Value = serde_json::from_str(&resource.body)
        .map_err(|error| JobError::Invalid(format!("stored version: {error}")))?;
    let version: PublishedVersion = serde_json::from_value(document.clone())
        .map_err(|error| JobError::Invalid(format!("stored version: {error}")))?;
    let contents: PublishedContents = match &resource.internal {
        Some(text) => serde_json::from_str(text)
            .map_err(|error| JobError::Invalid(format!("version internal data: {error}")))?,
        None => PublishedContents::default(),
    };
    Ok(Some(Loaded {
        seq: resource.seq,
        revision: resource.revision,
        document,
        version,
        contents,
    }))
}

impl Loaded {
    /// How messages and failed operations name the version's kind.
    fn kind(&self) -> &'static ArtifactKind {
        self.version.kind().unwrap_or(&ArtifactKind::IMAGE_VERSION)
    }
}

/// Every replica row the version must have: each of its contents in every planned replica.
fn plan(loaded: &Loaded) -> Vec<PlannedReplica> {
    let mut planned = Vec::new();
    for replica in replication_plan(&loaded.version.properties.publishing_profile) {
        for source in &loaded.contents.sources {
            planned.push(PlannedReplica {
                region: replica.region.clone(),
                replica_index: i32::try_from(replica.replica_index).unwrap_or(i32::MAX),
                disk: source.disk.clone(),
                storage_account_type: replica.storage_account_type.as_str().to_string(),
                bytes_total: i64::try_from(source.occupied_bytes).unwrap_or(i64::MAX),
            });
        }
    }
    planned
}

/// Where a replica is copied from: the version's source content (for replica 0 in the version's
/// region), that replica (for replica 0 elsewhere), or the region's replica 0 (for the others).
enum CopySource {
    VersionSource,
    Replica(Box<StoredReplica>),
}

fn copy_source(
    replica: &StoredReplica,
    all: &[StoredReplica],
    home_region: &str,
) -> Option<CopySource> {
    let find = |region: &str| {
        all.iter().find(|other| {
            other.region == region && other.replica_index == 0 && other.disk == replica.disk
        })
    };
    if replica.replica_index == 0 && replica.region == home_region {
        return Some(CopySource::VersionSource);
    }
    let origin = if replica.replica_index == 0 {
        find(home_region)
    } else {
        find(&replica.region)
    }?;
    (origin.state == ReplicaState::Completed).then(|| CopySource::Replica(Box::new(origin.clone())))
}

/// Whether a replica may be claimed now.
fn claimable(replica: &StoredReplica, now: i64) -> bool {
    match replica.state {
        ReplicaState::Pending => true,
        ReplicaState::Replicating => replica.lease_expires.is_none_or(|expires| expires < now),
        _ => false,
    }
}

pub(crate) async fn run(context: &Context, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
    let loaded = match load(context, &job.resource_key).await? {
        Some(loaded)
            if loaded.version.properties.provisioning_state != ProvisioningState::Deleting =>
        {
            loaded
        }
        // Deleted, or being deleted (its deletion job removes the replicas): nothing else ends
        // this job's operation.
        _ => {
            let kind = ArtifactKind::of_resource_id(&job.resource_key)
                .unwrap_or(&ArtifactKind::IMAGE_VERSION);
            let message = format!(
                "The {} was deleted before its replication finished.",
                kind.noun
            );
            cancel_operation(context, job, &message).await?;
            return Ok(JobOutcome::Finished);
        }
    };
    context
        .store
        .sync_replicas(loaded.seq, &plan(&loaded))
        .await?;
    restart_replicas_failed_before_the_write(context, job, &loaded).await?;
    let mut replicas = context.store.list_replicas(loaded.seq).await?;
    remove_unplanned(context, &replicas).await?;

    // Copies start as soon as their source is complete: whenever a copy ends, the replicas are read
    // again and every replica that became copyable (a region's others once its replica 0 is done,
    // other regions once the home region's is) starts at once, within this run. Nothing waits for
    // a poll interval between the phases.
    let home_region = loaded.version.location.as_str();
    let mut started: HashSet<(String, i32, String)> = HashSet::new();
    // At most `concurrent_copies` copies at once. The futures are boxed as `dyn Future + Send` so
    // the compiler need not prove `Send` for every borrowed lifetime at once.
    type Copy<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;
    let mut running: FuturesUnordered<Copy<'_>> = FuturesUnordered::new();
    loop {
        let now = gallery_store::now_millis();
        for replica in &replicas {
            if running.len() >= context.settings.concurrent_copies.max(1) {
                break;
            }
            let label = (
                replica.region.clone(),
                replica.replica_index,
                replica.disk.clone(),
            );
            if started.contains(&label) || !claimable(replica, now) {
                continue;
            }
            let Some(source) = copy_source(replica, &replicas, home_region) else {
                continue;
            };
            started.insert(label);
            running.push(Box::pin(copy_replica(
                context,
                &loaded,
                replica.clone(),
                source,
            )));
        }
        match running.next().await {
            Some(result) => {
                if let Err(error) = result {
                    tracing::warn!(%error, "a replica copy failed");
                }
                replicas = context.store.list_replicas(loaded.seq).await?;
            }
            None => break,
        }
    }

    let replicas = context.store.list_replicas(loaded.seq).await?;
    let active: Vec<&StoredReplica> = replicas
        .iter()
        .filter(|replica| replica.state != ReplicaState::Removing)
        .collect();
    let settled = if let Some(failed) = active
        .iter()
        .find(|replica| replica.state == ReplicaState::Failed)
    {
        if failed.copies_started < COPY_ATTEMPTS {
            context.store.reset_replica(&failed.key()).await?;
            return Ok(JobOutcome::Again(
                crate::runner::backoff(failed.copies_started),
                failed.details.clone(),
            ));
        }
        let message = format!(
            "Replication of the {} to region '{}' failed: {}",
            loaded.kind().noun,
            failed.region,
            failed.details
        );
        settle(
            context,
            job,
            &loaded,
            ProvisioningState::Failed,
            Some(message),
        )
        .await?
    } else if active
        .iter()
        .all(|replica| replica.state == ReplicaState::Completed)
        && replicas.len() == active.len()
    {
        settle(context, job, &loaded, ProvisioningState::Succeeded, None).await?
    } else {
        // Other workers are still copying replicas this job depends on.
        return Ok(JobOutcome::Again(
            context
                .settings
                .poll_interval
                .min(Duration::from_millis(200)),
            "waiting for replicas".to_string(),
        ));
    };
    if settled {
        return Ok(JobOutcome::Finished);
    }
    // A newer write changed the version: look again from it (its state, its replicas).
    Ok(JobOutcome::Again(
        Duration::ZERO,
        "the version changed while replicating".to_string(),
    ))
}

/// A write of a version whose replicas failed earlier (a PATCH or PUT of a `Failed` version) is how
/// a user retries them: replicas that failed before the write this job carries out began get their
/// copies again. Failures during this job count against [`COPY_ATTEMPTS`] as usual.
async fn restart_replicas_failed_before_the_write(
    context: &Context,
    job: &ClaimedJob,
    loaded: &Loaded,
) -> Result<(), JobError> {
    let Some(operation_id) = &job.operation_id else {
        return Ok(());
    };
    let Some(started) = context.store.operation_started_at(operation_id).await? else {
        return Ok(());
    };
    let Ok(started) = chrono::DateTime::parse_from_rfc3339(&started) else {
        return Ok(());
    };
    let restarted = context
        .store
        .restart_replicas_failed_before(loaded.seq, started.timestamp_millis())
        .await?;
    if restarted > 0 {
        tracing::info!(
            restarted,
            "replicas that failed before a new write of the version are copied again"
        );
    }
    Ok(())
}

/// Deletes the blobs and rows of replicas the profile no longer has.
async fn remove_unplanned(context: &Context, replicas: &[StoredReplica]) -> Result<(), JobError> {
    for replica in replicas
        .iter()
        .filter(|replica| replica.state == ReplicaState::Removing)
    {
        delete_replica(context, replica).await?;
    }
    Ok(())
}

/// Claims and copies one replica from `source`. Once claimed, a copy that fails marks the replica
/// `Failed` (the job retries it, at most [`COPY_ATTEMPTS`] copies in all, then fails the version)
/// rather than leaving it claimed until its lease runs out.
async fn copy_replica(
    context: &Context,
    loaded: &Loaded,
    replica: StoredReplica,
    source: CopySource,
) -> Result<(), JobError> {
    let replica = &replica;
    let worker = context.settings.worker_id.as_str();
    let key = replica.key();
    if context
        .store
        .claim_replica(&key, worker, context.settings.lease)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let copied = copy_claimed(context, loaded, replica, source).await;
    if let Err(error) = &copied
        && !matches!(error, JobError::LeaseLost)
    {
        context
            .store
            .fail_replica(&key, worker, &error.to_string())
            .await?;
        // What the failed copy wrote is garbage: give the space back now (a retry rewrites it).
        if let Err(cleanup) = context
            .delete_content(&replica.region, &content_id_of(replica))
            .await
        {
            tracing::warn!(error = %cleanup, "cannot delete what a failed copy wrote");
        }
    }
    copied
}

/// Copies a claimed replica, reporting progress while it runs, and records it.
async fn copy_claimed(
    context: &Context,
    loaded: &Loaded,
    replica: &StoredReplica,
    source: CopySource,
) -> Result<(), JobError> {
    let worker = context.settings.worker_id.as_str();
    let lease = context.settings.lease;
    let key = replica.key();
    let (source_content_id, source_region) = match source {
        CopySource::VersionSource => {
            let source = loaded.contents.source(&replica.disk).ok_or_else(|| {
                JobError::Invalid(format!(
                    "the version has no source content for {}",
                    replica.disk
                ))
            })?;
            (source.content_id.clone(), source.region.clone())
        }
        CopySource::Replica(origin) => (content_id_of(&origin), origin.region.clone()),
    };
    let manifest = context
        .sealed_manifest(&source_content_id)
        .await?
        .ok_or_else(|| {
            JobError::Invalid(format!("the source content {source_content_id} is gone"))
        })?;
    let task = ContentCopy {
        source_content_id,
        source_region,
        destination_content_id: content_id_of(replica),
        destination_region: replica.region.clone(),
    };
    let owner = job_owner(loaded);
    let copied = AtomicU64::new(0);
    let mut progress = |bytes: u64| copied.store(bytes, Ordering::Relaxed);
    let copy = context.copy_and_record(&task, &manifest, &owner, &mut progress);
    let reporting = renew_until_lost(
        Duration::from_millis(250).min(lease / 3),
        || {
            let bytes = i64::try_from(copied.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
            context
                .store
                .report_replica_progress(&key, worker, bytes, lease)
        },
        "cannot report replica progress",
    );
    let copied_manifest = tokio::select! {
        result = copy => result?,
        () = reporting => return Err(JobError::LeaseLost),
    };
    context
        .store
        .complete_replica(
            &key,
            worker,
            &task.destination_content_id,
            &copied_manifest.checksum,
        )
        .await?;
    tracing::debug!(region = %replica.region, index = replica.replica_index, disk = %replica.disk, "replica copied");
    Ok(())
}

/// The resource key contents of this version's replicas belong to.
fn job_owner(loaded: &Loaded) -> String {
    gallery_domain::ids::resource_key(loaded.document["id"].as_str().unwrap_or_default())
}

/// Sets the version's provisioning state and ends the job's operation, if the version is still at
/// the revision this run planned from. Returns whether it did, or whether another run (e.g. the
/// same job resumed) already settled the version in `state`: then only this operation is ended.
async fn settle(
    context: &Context,
    job: &ClaimedJob,
    loaded: &Loaded,
    state: ProvisioningState,
    failure: Option<String>,
) -> Result<bool, JobError> {
    let already_settled = loaded.version.properties.provisioning_state == state;
    let failure = failure.map(|message| Failure {
        code: loaded.kind().replication_failed,
        message,
    });
    let settled = settle_resource_and_operation(
        context,
        job,
        loaded.document.clone(),
        loaded.revision,
        state,
        failure,
        already_settled,
    )
    .await?;
    Ok(settled || already_settled)
}
