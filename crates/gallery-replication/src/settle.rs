//! Settling what a job worked on: the resource's provisioning state and the job's operation, ended
//! together in one transaction once the work behind them is done.

use gallery_domain::models::ProvisioningState;
use gallery_domain::models::common::set_provisioning_state;
use gallery_store::{ClaimedJob, OperationEnd, OperationStatus};
use serde_json::Value;

use crate::{Context, JobError};

/// Why a job's work failed: the `error` its operation ends with.
pub(crate) struct Failure {
    pub code: &'static str,
    pub message: String,
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
    let error = failure.map(|failure| {
        serde_json::json!({"code": failure.code, "message": failure.message}).to_string()
    });
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
