//! Deleting a published version: every replica's blobs and those of any other content it owns, then
//! the version with the rows of its contents and replicas (one transaction), and its operation
//! ends — in that order, so a crash midway resumes where it was and never leaves blobs without a
//! row that leads to them.

use std::collections::HashSet;

use gallery_domain::publishing::replica_content_id;
use gallery_store::{ClaimedJob, OperationEnd, OperationStatus, StoredReplica};

use crate::{Context, JobError, JobOutcome};

pub(crate) async fn run(context: &Context, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
    let end = job
        .operation_id
        .as_deref()
        .map(|operation_id| OperationEnd {
            operation_id,
            status: OperationStatus::Succeeded,
            error: None,
        });
    let Some(version) = context.store.get_resource(&job.resource_key).await? else {
        if let Some(end) = &end {
            context.store.end_operation(end).await?;
        }
        return Ok(JobOutcome::Finished);
    };
    // Marks every replica `Removing`: none is claimed for copying any more, and copies in flight
    // lose their claims and stop.
    context.store.sync_replicas(version.seq, &[]).await?;
    let mut deleted = HashSet::new();
    for replica in context.store.list_replicas(version.seq).await? {
        // By id, not by content row: a copy cut off before it recorded its content left blobs too.
        let content_id = content_id_of(&replica);
        let store = context.blobs.region(&replica.region).await?;
        gallery_blob::delete(store.as_ref(), &content_id).await?;
        deleted.insert(content_id);
    }
    for content in context.store.contents_of(&job.resource_key).await? {
        if !deleted.contains(&content.content_id) {
            let store = context.blobs.region(&content.region).await?;
            gallery_blob::delete(store.as_ref(), &content.content_id).await?;
        }
    }
    context
        .store
        .remove_resource(&job.resource_key, end.as_ref())
        .await?;
    Ok(JobOutcome::Finished)
}

/// The content a replica is copied into.
pub(crate) fn content_id_of(replica: &StoredReplica) -> String {
    replica_content_id(
        replica.version_seq,
        &replica.region,
        replica.replica_index,
        &replica.disk,
    )
}

/// Deletes one replica: its content (blobs, then row), then its replica row.
pub(crate) async fn delete_replica(
    context: &Context,
    replica: &StoredReplica,
) -> Result<(), JobError> {
    context
        .delete_content(&replica.region, &content_id_of(replica))
        .await?;
    context.store.delete_replica(&replica.key()).await?;
    Ok(())
}
