//! Deleting an image version: every replica's blobs, then the replica rows and contents, then the
//! version itself, and its operation ends — in that order, so a crash midway resumes where it was
//! and never leaves blobs without a row that leads to them.

use gallery_domain::internal::replica_content_id;
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
    context.store.sync_replicas(version.seq, &[]).await?;
    for replica in context.store.list_replicas(version.seq).await? {
        delete_replica(context, &replica).await?;
    }
    // Anything else the version owned (nothing today; kept general).
    for content in context.store.contents_of(&job.resource_key).await? {
        context
            .delete_content(&content.region, &content.content_id)
            .await?;
    }
    context
        .store
        .remove_resource(&job.resource_key, end.as_ref())
        .await?;
    Ok(JobOutcome::Finished)
}

/// Deletes one replica: its content (blobs, then row), then its replica row.
pub(crate) async fn delete_replica(
    context: &Context,
    replica: &StoredReplica,
) -> Result<(), JobError> {
    let content_id = replica_content_id(
        replica.version_seq,
        &replica.region,
        replica.replica_index,
        &replica.disk,
    );
    context.delete_content(&replica.region, &content_id).await?;
    context.store.delete_replica(&replica.key()).await?;
    Ok(())
}
