//! `/_galleryd/*`: galleryd's own endpoints, outside ARM paths and free of ARM conventions (no
//! api-version): liveness, readiness, and where to find the endpoints and the certificate.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::SharedApp;

/// `GET /_galleryd/health`: 200 whenever the process serves requests.
pub async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

/// `GET /_galleryd/ready`: 200 once migrations are done and the database answers, 503 before.
pub async fn ready(State(app): State<SharedApp>) -> Response {
    let store = match app.store() {
        Ok(store) => store,
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "starting"})),
            )
                .into_response();
        }
    };
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "database": store.backend_name()})),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "database unavailable"})),
            )
                .into_response()
        }
    }
}

/// `GET /_galleryd/endpoints`: what `endpoints.json` holds (base URLs, certificate, development ids).
pub async fn endpoints(State(app): State<SharedApp>) -> Response {
    match app.endpoints.get() {
        Some(endpoints) => (StatusCode::OK, axum::Json(endpoints.clone())).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting"})),
        )
            .into_response(),
    }
}

/// `GET /_galleryd/certificate`: the PEM certificate the HTTPS listener presents (handy with
/// `--in-memory`, where no file is written).
pub async fn certificate(State(app): State<SharedApp>) -> Response {
    match app.certificate_pem.get() {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pem.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
