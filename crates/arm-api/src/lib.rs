//! The ARM front end of galleryd.
//!
//! A request flows: [`headers`] (request ids, ARM response headers, one log line) → [`dispatch`]
//! (route table → api-version → subscription → caller → authorization seam → body) → one handler
//! module per resource, with functions named after the spec's operationIds → `gallery-domain`
//! decides → `gallery-store` writes in one transaction → an ARM response with async-operation
//! headers. Errors from anywhere become a `CloudError` in [`error`], the only place that renders them.
//!
//! `/_galleryd/*` (health, readiness, endpoints) is galleryd's own surface, outside ARM paths.

pub mod admin;
mod caller;
pub mod dispatch;
pub mod error;
mod headers;
pub mod operation;
pub mod request;
mod response;
pub mod routes;
mod tracked;

mod galleries;
mod gallery_images;
mod operations;
mod resource_groups;
mod subscriptions;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
pub use gallery_domain::ServiceError;
use gallery_domain::identity::Subscription;
use gallery_domain::limits::Limits;
use gallery_store::Store;

pub use error::{ApiError, ApiResult};

/// Settings of the ARM front end (see galleryd's configuration for the flags that set them).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Refuse api-versions newer than the newest known one instead of serving them with a warning.
    pub strict_api_versions: bool,
    /// Items per list page (lists carry a `nextLink` when more follow).
    pub page_size: u32,
    /// Per-subscription, per-region limits.
    pub limits: Limits,
    /// Largest request body accepted (ARM: 4 MB); larger ones get 413.
    pub max_request_body_bytes: usize,
    /// The subscriptions galleryd serves (the development one first).
    pub subscriptions: Vec<Subscription>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            strict_api_versions: false,
            page_size: 100,
            limits: Limits::default(),
            max_request_body_bytes: 4 * 1024 * 1024,
            subscriptions: vec![Subscription::development()],
        }
    }
}

/// Everything handlers share.
#[derive(Debug)]
pub struct App {
    store: OnceLock<Store>,
    pub settings: ApiSettings,
    /// What `/_galleryd/endpoints` answers (and `endpoints.json` holds), once the listeners are bound.
    pub endpoints: OnceLock<serde_json::Value>,
    /// The PEM of the certificate the HTTPS listener presents, for `/_galleryd/certificate`.
    pub certificate_pem: OnceLock<String>,
}

/// The shared application state.
pub type SharedApp = Arc<App>;

impl App {
    /// State with no store yet: ARM requests answer 503 and `/_galleryd/ready` is not ready until
    /// [`App::set_store`] is called (after migrations).
    pub fn new(settings: ApiSettings) -> SharedApp {
        Arc::new(App {
            store: OnceLock::new(),
            settings,
            endpoints: OnceLock::new(),
            certificate_pem: OnceLock::new(),
        })
    }

    /// Makes the store available: galleryd is ready.
    pub fn set_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    /// The store, or 503 while galleryd is starting.
    pub fn store(&self) -> Result<&Store, ApiError> {
        self.store.get().ok_or(ApiError::NotReady)
    }

    /// A subscription galleryd serves, by id (ignoring case).
    pub fn subscription(&self, subscription_id: &str) -> Option<&Subscription> {
        self.settings.subscriptions.iter().find(|subscription| {
            subscription
                .subscription_id
                .eq_ignore_ascii_case(subscription_id)
        })
    }
}

/// The HTTP application: galleryd's own endpoints, then every ARM path through the dispatcher.
pub fn router(app: SharedApp) -> Router {
    Router::new()
        .route("/_galleryd/health", get(admin::health))
        .route("/_galleryd/ready", get(admin::ready))
        .route("/_galleryd/endpoints", get(admin::endpoints))
        .route("/_galleryd/certificate", get(admin::certificate))
        .fallback(dispatch::dispatch)
        .layer(axum::middleware::from_fn(headers::arm_headers))
        .with_state(app)
}
