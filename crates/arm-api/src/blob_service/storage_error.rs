//! The Blob service's errors: status, `x-ms-error-code` and the XML body its clients parse.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;

use super::writes::PAGE_MAX_BYTES;
use crate::error::ApiError;

/// An error of the Blob service: status, code, message and extra detail elements.
#[derive(Debug)]
pub(super) struct StorageError {
    pub(super) status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<(&'static str, String)>,
    /// Extra headers (`Content-Range` of a 416).
    headers: Vec<(HeaderName, String)>,
}

impl StorageError {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> StorageError {
        StorageError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub(super) fn detail(mut self, name: &'static str, value: impl Into<String>) -> StorageError {
        self.details.push((name, value.into()));
        self
    }

    pub(super) fn authentication(detail: impl Into<String>) -> StorageError {
        StorageError::new(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        )
        .detail("AuthenticationErrorDetail", detail)
    }

    pub(super) fn permission_mismatch() -> StorageError {
        StorageError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )
    }

    pub(super) fn body_too_large() -> StorageError {
        StorageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        )
        .detail("MaxLimit", PAGE_MAX_BYTES.to_string())
    }

    pub(super) fn blob_not_found() -> StorageError {
        StorageError::new(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        )
    }

    pub(super) fn missing_header(name: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified.",
        )
        .detail("HeaderName", name)
    }

    pub(super) fn invalid_header(name: &str, value: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
        )
        .detail("HeaderName", name)
        .detail("HeaderValue", value)
    }

    pub(super) fn invalid_page_range(reason: impl Into<String>) -> StorageError {
        StorageError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidPageRange",
            "The page range specified is invalid.",
        )
        .detail("Reason", reason)
    }

    pub(super) fn invalid_range(size: u64) -> StorageError {
        let mut error = StorageError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        );
        error
            .headers
            .push((header::CONTENT_RANGE, format!("bytes */{size}")));
        error
    }

    pub(super) fn upload_in_progress() -> StorageError {
        StorageError::new(
            StatusCode::CONFLICT,
            "UploadInProgress",
            "The blob is still being uploaded: its bytes can be read once the upload ends with endGetAccess.",
        )
    }

    pub(super) fn upload_ended() -> StorageError {
        StorageError::authentication(
            "The upload of this blob has ended (endGetAccess): it takes no more writes.",
        )
    }

    pub(super) fn condition_not_met() -> StorageError {
        StorageError::new(
            StatusCode::PRECONDITION_FAILED,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        )
    }

    pub(super) fn unsupported_query(name: &str, value: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid.",
        )
        .detail("QueryParameterName", name)
        .detail("QueryParameterValue", value)
        .detail(
            "Reason",
            "galleryd's blob endpoint serves Put Blob, Put Page, Get Blob, Get Blob Properties and Get Page Ranges of page blobs.",
        )
    }

    /// A failure on galleryd's side: logged, answered 500 (or 503 when retrying may help).
    pub(super) fn internal(error: impl std::fmt::Display, retryable: bool) -> StorageError {
        tracing::error!(%error, "blob endpoint failure");
        if retryable {
            StorageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServerBusy",
                "The server is currently unable to receive requests. Please retry your request.",
            )
        } else {
            StorageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The server encountered an internal error. Please retry the request.",
            )
        }
    }

    pub(super) fn from_api(error: ApiError) -> StorageError {
        let retryable = match &error {
            ApiError::NotReady | ApiError::DatabaseUnavailable => true,
            ApiError::Store(store) => store.is_unavailable(),
            ApiError::Service(service) => service.status == 503,
            ApiError::Unauthenticated { .. } | ApiError::Throttled { .. } => false,
        };
        StorageError::internal(error, retryable)
    }

    pub(super) fn from_store(error: gallery_store::StoreError) -> StorageError {
        StorageError::from_api(error.into())
    }

    pub(super) fn from_blob(error: gallery_blob::BlobError) -> StorageError {
        let retryable = error.is_retryable();
        StorageError::internal(error, retryable)
    }

    /// The XML answer (no body for HEAD), with `x-ms-error-code`.
    pub(super) fn into_response(self, request_id: &str, head: bool) -> Response {
        let now = Utc::now();
        let time = format!(
            "{}.{:07}Z",
            now.format("%Y-%m-%dT%H:%M:%S"),
            now.timestamp_subsec_nanos() / 100
        );
        let mut body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}\nRequestId:{request_id}\nTime:{time}</Message>",
            self.code,
            xml_escape(&self.message)
        );
        for (name, value) in &self.details {
            body.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
        }
        body.push_str("</Error>");
        let mut response = if head {
            Response::new(Body::empty())
        } else {
            Response::new(Body::from(body))
        };
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        headers.insert("x-ms-error-code", HeaderValue::from_static(self.code));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

pub(super) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
