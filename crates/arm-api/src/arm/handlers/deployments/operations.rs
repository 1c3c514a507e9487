//! Deployment operations (`…/resourcegroups/{rg}/deployments/{name}/operations[/{id}]`, a path
//! without `providers/Microsoft.Resources`, as ARM has it; at subscription scope
//! `…/providers/Microsoft.Resources/deployments/{name}/operations`): one per resource the
//! deployment touched, with its own state, status code and error.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::{ErrorCode, ServiceError};

use super::DeploymentPath;
use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::error::ApiResult;

/// DeploymentOperations_ListByResourceGroup: keyset pages, in the order the operations started.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let store = app.store()?;
    let deployment = store
        .get_deployment(&path.key())
        .await?
        .ok_or_else(|| path.not_found())?;
    let limit = response::page_size(request, app.settings.page_size)?;
    let after = response::skip_token(request)?;
    let page = store
        .list_deployment_operations(deployment.seq, after, limit)
        .await?;
    Ok(response::list_page(
        request,
        page.items.into_iter().map(|operation| operation.body),
        page.next_cursor,
    ))
}

/// DeploymentOperations_GetAtResourceGroup.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let operation_id = request.parameters.get("operationId");
    let store = app.store()?;
    let deployment = store
        .get_deployment(&path.key())
        .await?
        .ok_or_else(|| path.not_found())?;
    let operation = store
        .get_deployment_operation(deployment.seq, &operation_id.to_uppercase())
        .await?
        .ok_or_else(|| {
            ServiceError::new(
                404,
                ErrorCode::DeploymentOperationNotFound,
                format!(
                    "The deployment operation '{operation_id}' of deployment '{}' could not be found.",
                    path.name
                ),
            )
        })?;
    Ok(response::json_text(StatusCode::OK, operation.body))
}
