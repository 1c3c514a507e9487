//! `/_galleryd/faults`: the fault rules of [`crate::faults`], installed, listed and removed by a
//! test suite. `POST` adds a rule (201 with its id), `GET` lists them with how often each fired,
//! `DELETE` removes all of them, `DELETE /_galleryd/faults/{id}` one.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gallery_domain::{ErrorCode, ServiceError};

use crate::faults::FaultRuleInput;
use crate::{ApiError, SharedApp};

/// `POST /_galleryd/faults`: installs a rule (tried after the ones installed before it).
pub async fn add(State(app): State<SharedApp>, body: Bytes) -> Result<Response, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    let input: FaultRuleInput =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            ServiceError::new(
                400,
                ErrorCode::InvalidRequestContent,
                format!("The fault rule is not valid: {error}"),
            )
        })?;
    let view = app.faults.add(input)?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// `GET /_galleryd/faults`: the rules and the count of injected faults.
pub async fn list(State(app): State<SharedApp>) -> Response {
    axum::Json(app.faults.list()).into_response()
}

/// `DELETE /_galleryd/faults`: removes every rule.
pub async fn clear(State(app): State<SharedApp>) -> Response {
    app.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /_galleryd/faults/{id}`: removes one rule (404 when there is none).
pub async fn remove(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if app.faults.remove(&id) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Err(ServiceError::new(
        404,
        ErrorCode::ResourceNotFound,
        format!("There is no fault rule '{id}'."),
    )
    .into())
}
