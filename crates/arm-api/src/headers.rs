//! ARM's response headers and galleryd's request log.
//!
//! Every response carries `x-ms-request-id` (new per request), `x-ms-correlation-request-id` (the
//! caller's, or the request id) and `x-ms-routing-request-id`; `x-ms-client-request-id` is echoed
//! when the caller asks with `x-ms-return-client-request-id: true`; caching is disabled as ARM does.
//! hyper adds `Date`. One log line per request records method, path, status, latency and request id.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const CORRELATION_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const RETURN_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-return-client-request-id");
const ROUTING_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-routing-request-id");

/// Middleware: ARM headers on every response, and the request log line.
pub async fn arm_headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    let headers = request.headers();
    let correlation_id = headers
        .get(&CORRELATION_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map_or_else(|| request_id.clone(), str::to_string);
    let echo_client_request_id = headers
        .get(&RETURN_CLIENT_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
        .then(|| headers.get(&CLIENT_REQUEST_ID).cloned())
        .flatten();

    let mut response = next.run(request).await;

    let response_headers = response.headers_mut();
    // A handler that named its own request id (the blob endpoint, in its error bodies) keeps it.
    if !response_headers.contains_key(&REQUEST_ID)
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        response_headers.insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response_headers.insert(CORRELATION_REQUEST_ID, value);
    }
    let routing = format!(
        "GALLERYD:{}:{request_id}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    if let Ok(value) = HeaderValue::from_str(&routing) {
        response_headers.insert(ROUTING_REQUEST_ID, value);
    }
    if let Some(client_request_id) = echo_client_request_id {
        response_headers.insert(CLIENT_REQUEST_ID, client_request_id);
    }
    response_headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    response_headers.insert(
        axum::http::header::PRAGMA,
        HeaderValue::from_static("no-cache"),
    );
    response_headers.insert(axum::http::header::EXPIRES, HeaderValue::from_static("-1"));
    response_headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );

    tracing::info!(
        target: "galleryd::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        correlation_id = %correlation_id,
        "request"
    );
    response
}
