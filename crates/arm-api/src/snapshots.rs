//! `Microsoft.Compute/snapshots` (being written).

use axum::response::Response;

use crate::App;
use crate::error::ApiResult;
use crate::request::ArmRequest;

pub async fn list(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn list_by_resource_group(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn create_or_update(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn update(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn get(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn delete(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn grant_access(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}

pub async fn revoke_access(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Err(crate::ServiceError::new(
        501,
        "NotImplemented",
        format!("{} is being written", request.operation.name()),
    )
    .into())
}
