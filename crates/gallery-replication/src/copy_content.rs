//! Copying contents for a disk, snapshot or managed image made from another one (createOption
//! `Copy`, a snapshot of a disk, an image of snapshots), then settling the new resource.
//!
//! The new resource is recorded `Creating` with its destination content ids already in its internal
//! data; this job records each destination content, copies the source into it (streamed,
//! checksummed), seals it with the copy's manifest, and turns the resource `Succeeded` and its
//! operation done. Copies are idempotent (destination ids are fixed), so a resumed job just copies
//! again what is not sealed yet.

use gallery_domain::ErrorCode;
use gallery_domain::internal::CopyContentPayload;
use gallery_domain::models::ProvisioningState;
use gallery_store::ClaimedJob;
use serde_json::Value;

use crate::settle::{Failure, cancel_operation, settle_resource_and_operation};
use crate::{Context, JobError, JobOutcome};

pub(crate) async fn run(context: &Context, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
    let payload: CopyContentPayload = serde_json::from_str(&job.payload)
        .map_err(|error| JobError::Invalid(format!("copy payload: {error}")))?;
    let Some(resource) = context.store.get_resource(&job.resource_key).await? else {
        // Deleted before its copy was made: nothing else ends the operation that created it.
        cancel_operation(
            context,
            job,
            "The resource was deleted before its copy finished.",
        )
        .await?;
        return Ok(JobOutcome::Finished);
    };
    for copy in &payload.copies {
        let copied_already = context
            .store
            .get_content(&copy.destination_content_id)
            .await?
            .is_some_and(|content| content.manifest.is_some());
        if copied_already {
            continue;
        }
        let Some(manifest) = context.sealed_manifest(&copy.source_content_id).await? else {
            return fail(
                context,
                job,
                &resource,
                &format!("the source content {} is gone", copy.source_content_id),
            )
            .await;
        };
        context
            .copy_and_record(copy, &manifest, &job.resource_key, &mut |_| {})
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
        code: ErrorCode::InternalOperationError,
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
