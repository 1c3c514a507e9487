//! Settling what a job worked on: the resource's provisioning state and the job's operation, ended
//! together in one transaction once the work behind them is done; or the operation alone, canceled
//! when the resource went away, or failed when the job is given up on.

use gallery_domain::ErrorCode;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::common::set_provisioning_state;
use gallery_store::{ClaimedJob, JobKind, OperationEnd, OperationStatus};
use serde_json::Value;

use crate::{Context, JobError};

/// Why a job's work failed (or was canceled): the `error` its operation ends with.
pub(crate) struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    /// The operation's `error` object (JSON).
    fn to_error(&self) -> String {
        serde_json::json!({"code": self.code.as_str(), "message": self.message}).to_string()
    }
}

/// Sets `state` as the provisioning state of `document` (the job's resource as it read it, at
/// `revision`) and stores it, ending the job's operation in the same transaction: failed with
/// `failure` when given, else succeeded. Returns whether it did; `false` (nothing written) when the
/// resource changed meanwhile or is gone. The operation is then ended on its own only when
/// `end_operation_anyway` (no newer write will end it).
pub(crate) async fn settle_resource_and_operation(
    context: &Context,
    job: &ClaimedJob,
    mut document: Value,
    revision: i64,
    state: ProvisioningState,
    failure: Option<Failure>,
    end_operation_anyway: bool,
) -> Result<bool, JobError> {
    set_provisioning_state(&mut document, state);
    let error = failure.as_ref().map(Failure::to_error);
    let status = if error.is_some() {
        OperationStatus::Failed
    } else {
        OperationStatus::Succeeded
    };
    let end = job
        .operation_id
        .as_deref()
        .map(|operation_id| OperationEnd {
            operation_id,
            status,
            error,
        });
    let settled = context
        .store
        .settle_resource(
            &job.resource_key,
            revision,
            state.as_str(),
            &document.to_string(),
            end.as_ref(),
        )
        .await?;
    if !settled
        && end_operation_anyway
        && let Some(end) = &end
    {
        context.store.end_operation(end).await?;
    }
    Ok(settled)
}

/// Ends the job's operation `Canceled` with `message`: the resource it worked for is gone or being
/// deleted, so nothing will settle the operation otherwise.
pub(crate) async fn cancel_operation(
    context: &Context,
    job: &ClaimedJob,
    message: &str,
) -> Result<(), JobError> {
    if let Some(operation_id) = &job.operation_id {
        let reason = Failure {
            code: ErrorCode::OperationCanceled,
            message: message.to_string(),
        };
        let end = OperationEnd {
            operation_id,
            status: OperationStatus::Canceled,
            error: Some(reason.to_error()),
        };
        context.store.end_operation(&end).await?;
    }
    Ok(())
}

/// The provisioning states a job of `kind` drives its resource out of: a job given up on fails its
/// resource only from these (a replication never fails a version that is being deleted).
fn states_driven_by(kind: JobKind) -> &'static [ProvisioningState] {
    match kind {
        JobKind::ReplicateVersion | JobKind::CopyContent => {
            &[ProvisioningState::Creating, ProvisioningState::Updating]
        }
        JobKind::DeleteVersion => &[ProvisioningState::Deleting],
        JobKind::CollectGarbage => &[],
    }
}

/// Gives up on a job whose work cannot be done (`reason`): its resource turns `Failed` (when the
/// job was driving its state) and its operation fails, then the job is never run again. A crash in
/// between runs the job once more and gives up again (every step is idempotent).
pub(crate) async fn give_up(
    context: &Context,
    job: &ClaimedJob,
    reason: &str,
) -> Result<(), JobError> {
    let failure = Failure {
        code: ErrorCode::InternalOperationError,
        message: reason.to_string(),
    };
    let driven = context
        .store
        .get_resource(&job.resource_key)
        .await?
        .filter(|resource| {
            states_driven_by(job.kind)
                .iter()
                .any(|state| state.as_str() == resource.provisioning_state)
        })
        .and_then(|resource| {
            let document: Value = serde_json::from_str(&resource.body).ok()?;
            Some((document, resource.revision))
        });
    match driven {
        Some((document, revision)) => {
            let end_operation_anyway = true;
            settle_resource_and_operation(
                context,
                job,
                document,
                revision,
                ProvisioningState::Failed,
                Some(failure),
                end_operation_anyway,
            )
            .await?;
        }
        None => {
            if let Some(operation_id) = &job.operation_id {
                let end = OperationEnd {
                    operation_id,
                    status: OperationStatus::Failed,
                    error: Some(failure.to_error()),
                };
                context.store.end_operation(&end).await?;
            }
        }
    }
    context
        .store
        .fail_job(job.job_id, &context.settings.worker_id, reason)
        .await?;
    Ok(())
}
