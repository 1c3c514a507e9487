//! The one place errors become ARM `CloudError` responses.
//!
//! Handlers return [`ApiError`]. Service errors (a rule said no) are rendered as they are:
//! `{"error":{"code","message","target","details"}}` with their 4xx status. Store failures are
//! server-side: an unavailable database is a 503 (clients retry those), anything else a 500 whose
//! details go to the log, never to the client. 4xx are logged at debug, 5xx at warn.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_store::StoreError;
use serde_json::{Map, Value, json};

/// Anything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule of the service refused the request.
    #[error("{0}")]
    Service(ServiceError),
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
    /// The database is not open yet (galleryd is starting).
    #[error("galleryd is starting")]
    NotReady,
    /// The database is known to be unreachable (see `database_outage`): not tried again until it
    /// answers.
    #[error("the database is unreachable")]
    DatabaseUnavailable,
    /// The caller could not be authenticated: a 401 with its `WWW-Authenticate` challenge.
    #[error("{error}")]
    Unauthenticated {
        error: ServiceError,
        challenge: Box<str>,
    },
    /// Too many requests of one kind for a subscription (`--throttling on`): 429 with `Retry-After`.
    #[error("{error}")]
    Throttled {
        error: ServiceError,
        retry_after_seconds: u64,
    },
}

/// A handler's result.
pub type ApiResult<T = Response> = Result<T, ApiError>;

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        ApiError::Service(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Rejected(error) => ApiError::Service(error),
            other => ApiError::Store(other),
        }
    }
}

/// The `error` object of a service error (`code`, `message`, `target`, `details`, `additionalInfo`).
pub fn error_object(error: &ServiceError) -> Value {
    let mut object = Map::new();
    object.insert("code".into(), Value::String(error.code.as_str().into()));
    object.insert("message".into(), Value::String(error.message.clone()));
    if let Some(target) = &error.target {
        object.insert("target".into(), Value::String(target.clone()));
    }
    if !error.details.is_empty() {
        object.insert(
            "details".into(),
            Value::Array(error.details.iter().map(error_object).collect()),
        );
    }
    if !error.additional_info.is_empty() {
        object.insert(
            "additionalInfo".into(),
            Value::Array(error.additional_info.clone()),
        );
    }
    Value::Object(object)
}

/// The `{"error":{...}}` body of a service error.
pub fn cloud_error_body(error: &ServiceError) -> Value {
    json!({ "error": error_object(error) })
}

impl ApiError {
    /// The service error clients see.
    pub fn to_service_error(&self) -> ServiceError {
        match self {
            ApiError::Service(error)
            | ApiError::Unauthenticated { error, .. }
            | ApiError::Throttled { error, .. } => error.clone(),
            ApiError::Store(_) | ApiError::DatabaseUnavailable
                if self.is_database_unavailable() =>
            {
                ServiceError::new(
                    503,
                    ErrorCode::ServiceUnavailable,
                    "The database is unavailable; retry the request.",
                )
            }
            ApiError::Store(_) | ApiError::DatabaseUnavailable => ServiceError::new(
                500,
                ErrorCode::InternalServerError,
                "galleryd failed to complete the request; its log has the details.",
            ),
            ApiError::NotReady => ServiceError::new(
                503,
                ErrorCode::ServiceUnavailable,
                "galleryd is starting; retry the request in a moment.",
            ),
        }
    }
}

impl ApiError {
    /// Whether the request failed because the database could not be reached (503, retry).
    pub fn is_database_unavailable(&self) -> bool {
        match self {
            ApiError::Store(error) => error.is_unavailable(),
            ApiError::DatabaseUnavailable => true,
            _ => false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.to_service_error();
        match &self {
            ApiError::Service(_)
            | ApiError::Unauthenticated { .. }
            | ApiError::Throttled { .. } => {
                tracing::debug!(code = %error.code, message = %error.message, "request refused")
            }
            other => tracing::warn!(error = %other, "request failed"),
        }
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(cloud_error_body(&error))).into_response();
        match &self {
            ApiError::Unauthenticated { challenge, .. } => {
                if let Ok(value) = HeaderValue::from_str(challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
            }
            ApiError::Throttled {
                retry_after_seconds,
                ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        if self.is_database_unavailable() {
            response
                .extensions_mut()
                .insert(crate::database_outage::DatabaseUnavailable);
        }
        if error.status == 503 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if error.code == ErrorCode::ServiceUnavailable || error.status >= 500 {
            response
                .headers_mut()
                .insert("x-ms-failure-cause", HeaderValue::from_static("service"));
        }
        response
    }
}
