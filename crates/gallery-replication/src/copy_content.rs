//! Copying contents for a disk, snapshot or managed image made from another one (createOption
//! `Copy`, a snapshot of a disk, an image of snapshots), then settling the new resource.
//!
//! The new resource is recorded `Creating` with its destination content ids already in its internal
//! data; this job copies each source content (streamed, checksummed), records the copies, and turns
//! the resource `Succeeded` and its operation done. Copies are idempotent (destination ids are
//! fixed), so a resumed job just copies again what is missing.

use gallery_domain::internal::CopyContentPayload;
use gallery_domain::models::ProvisioningState;
use gallery_store::ClaimedJob;
use serde_json::Value;

use crate::settle::{Failure, settle_resource_and_operation};
use crate::{Context, JobError, JobOutcome};

pub(crate) async fn run(context: &Context, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
    let payload: CopyContentPayload = serde_json::from_str(&job.payload)
        .map_err(|error| JobError::Invalid(format!("copy payload: {error}")))?;
    let Some(resource) = context.store.get_resource(&job.resource_key).await? else {
        return Ok(JobOutcome::Finished);
    };
    for copy in &payload.copies {
        if context
            .store
            .get_content(&copy.destination_content_id)
            .await?
            .is_some()
        {
            continue;
        }
        let Some(manifest_text) = context
            .store
            .get_content(&copy.source_content_id)
            .await?
            .and_then(|content| content.manifest)
        else {
            return fail(
                context,
                job,
                &resource,
                &format!("the source content {} is gone", copy.source_content_id),
            )
            .await;
        };
        let manifest: gallery_blob::Manifest = serde_json::from_str(&manifest_text)
            .map_err(|error| JobError::Invalid(format!("source manifest: {error}")))?;
        let source = context.blobs.region(&copy.source_region).await?;
        let destination = context.blobs.region(&copy.destination_region).await?;
        let pacer = context.pacer(&copy.source_region, &copy.destination_region);
        let mut progress = |_bytes: u64| {};
        let copied = gallery_blob::copy(
            source.as_ref(),
            &manifest,
            destination.as_ref(),
            &copy.destination_content_id,
            pacer.as_deref(),
            &mut progress,
        )
        .await?;
        let copied_text =
            serde_json::to_string(&copied).map_err(|error| JobError::Invalid(error.to_string()))?;
        context
            .store
            .create_content(
                &copy.destination_content_id,
                &copy.destination_region,
                i64::try_from(copied.logical_size).unwrap_or(i64::MAX),
                &job.resource_key,
                Some((
                    &copied_text,
                    i64::try_from(copied.occupied_bytes).unwrap_or(i64::MAX),
                    &copied.checksum,
                )),
            )
            .await?;
    }
    settle(context, job, &resource, ProvisioningState::Succeeded, None).await
}

async fn fail(
    context: &Context,
    job: &ClaimedJob,
    resource: &gallery_store::StoredResource,
    message: &str,
) -> Result<JobOutcome, JobError> {
    let failure = Failure {
        code: "InternalOperationError",
        message: message.to_string(),
    };
    settle(
        context,
        job,
        resource,
        ProvisioningState::Failed,
        Some(failure),
    )
    .await
}

/// Settles the new resource and its operation; when the resource changed meanwhile, the operation
/// is ended on its own.
async fn settle(
    context: &Context,
    job: &ClaimedJob,
    resource: &gallery_store::StoredResource,
    state: ProvisioningState,
    failure: Option<Failure>,
) -> Result<JobOutcome, JobError> {
    let document: Value = serde_json::from_str(&resource.body)
        .map_err(|error| JobError::Invalid(format!("stored resource: {error}")))?;
    let end_operation_anyway = true;
    settle_resource_and_operation(
        context,
        job,
        document,
        resource.revision,
        state,
        failure,
        end_operation_anyway,
    )
    .await?;
    Ok(JobOutcome::Finished)
}
