//! `…/providers/Microsoft.Compute/locations/{location}/capsOperations/{operationId}`: the status of
//! a gallery operation (the `Azure-AsyncOperation` URL) and, with `monitor=true`, its result (the
//! `Location` URL).
//!
//! A poll of an operation still in progress waits a moment for it to end before answering
//! ([`SETTLE_WAIT`]): background work that takes tens of milliseconds (deleting a version's replicas,
//! dropping a region) then answers terminal at the client's first poll, instead of making SDKs and
//! `az` sleep the whole `Retry-After` second for it. The wait re-reads the operation row; it never
//! holds anything while it waits.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::OperationStatus;
use serde_json::{Value, json};

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response::{self, RETRY_AFTER_SECONDS};
use crate::error::ApiResult;

/// The longest a poll waits for an operation in progress to end (well under the `Retry-After`
/// second a client would otherwise sleep).
pub const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
/// How often a waiting poll re-reads the operation.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// CapsOperations_Get: always 200 with `{name, status, startTime, endTime, error}`; with
/// `monitor=true`, 202 while running and then the operation's result (204 for a deletion, 200 with
/// the resource for a write).
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let operation_id = request.parameters.get("operationId");
    let store = app.store()?;
    let subscription_id = &request.subscription().subscription_id;
    let mut operation = store
        .get_operation(subscription_id, operation_id)
        .await?
        .ok_or_else(|| ServiceError::operation_not_found(operation_id))?;
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    while operation.status == OperationStatus::InProgress && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(SETTLE_POLL).await;
        if let Some(current) = store.get_operation(subscription_id, operation_id).await? {
            operation = current;
        }
    }
    let monitor = request
        .query
        .get("monitor")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if monitor {
        return match operation.status {
            OperationStatus::InProgress => {
                let response = response::with_header(
                    response::empty(StatusCode::ACCEPTED),
                    "Location",
                    &request.url(&request.path, &[("monitor", "true")]),
                );
                Ok(response::with_header(
                    response,
                    "Retry-After",
                    RETRY_AFTER_SECONDS,
                ))
            }
            OperationStatus::Failed | OperationStatus::Canceled => {
                let error: Value = operation
                    .error
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_else(
                        || json!({"code": ErrorCode::OperationFailed.as_str(), "message": "The operation failed."}),
                    );
                Ok(response::json(
                    StatusCode::CONFLICT,
                    &json!({ "error": error }),
                ))
            }
            OperationStatus::Succeeded if operation.final_status == 204 => {
                Ok(response::empty(StatusCode::NO_CONTENT))
            }
            // An action's own result (a SAS), or none at all (an empty result: 200 without a body).
            OperationStatus::Succeeded if operation.result.is_some() => {
                match operation.result.filter(|result| !result.is_empty()) {
                    Some(result) => Ok(response::json_text(StatusCode::OK, result)),
                    None => Ok(response::empty(StatusCode::OK)),
                }
            }
            OperationStatus::Succeeded => match store
                .get_resource(&ids::resource_key(&operation.resource_id))
                .await?
            {
                Some(resource) => Ok(response::json_text(StatusCode::OK, resource.body)),
                None => Ok(response::empty(StatusCode::NO_CONTENT)),
            },
        };
    }
    let mut body = json!({
        "name": operation.operation_id,
        "status": operation.status.as_str(),
        "startTime": operation.started_at,
    });
    if let Some(ended_at) = &operation.ended_at {
        body["endTime"] = Value::String(ended_at.clone());
    }
    // An action's result is also the status's `properties.output`, as the disk service reports it.
    if let Some(output) = operation
        .result
        .as_deref()
        .filter(|result| !result.is_empty())
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        body["properties"] = json!({ "output": output });
    }
    if let Some(error) = operation
        .error
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        body["error"] = error;
    }
    let response = response::json(StatusCode::OK, &body);
    Ok(if operation.status == OperationStatus::InProgress {
        response::with_header(response, "Retry-After", RETRY_AFTER_SECONDS)
    } else {
        response
    })
}
