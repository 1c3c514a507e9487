//! The front end of galleryd: three services and galleryd's own surface, behind one router.
//!
//! - [`arm`]: Azure Resource Manager. A request flows: [`headers`] (request ids, ARM response
//!   headers, one log line) → [`arm::dispatch`] (route table → api-version → subscription → caller →
//!   authorization seam → body) → one handler module per resource in [`arm::handlers`], with
//!   functions named after the spec's operationIds → `gallery-domain` decides → `gallery-store`
//!   writes in one transaction → an ARM response with async-operation headers.
//! - `blob_service`: the blob data plane (`/gallerydblob/{region}/{blob}`): the page-blob subset
//!   the storage SDKs use to upload and download disk and snapshot bytes, under galleryd's own SAS.
//! - [`identity`]: galleryd is its own cloud: the cloud metadata and token endpoints clients sign
//!   in with, the tokens they hand out, and the authentication of ARM requests.
//! - [`admin`]: `/_galleryd/*` (health, readiness, endpoints, reports), galleryd's own surface,
//!   outside ARM paths.
//!
//! Errors from anywhere become a `CloudError` in [`error`], the only place that renders them.
//! While the database is unreachable, [`database_outage`] answers 503 at once until a probe finds
//! it back.

pub mod admin;
pub mod arm;
mod blob_service;
pub mod database_outage;
pub mod error;
pub mod faults;
mod headers;
pub mod identity;
pub mod prometheus;

#[cfg(test)]
mod parser_properties;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
pub use gallery_domain::ServiceError;
use gallery_domain::identity::{Directory, Subscription};
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
    /// The tenants, subscriptions and principals galleryd knows (the development ones first).
    pub directory: Directory,
    /// How ARM requests are authenticated.
    pub authentication: identity::authentication::AuthenticationMode,
    /// ARM's per-subscription request limits.
    pub throttling: arm::throttling::ThrottlingSettings,
    /// The most replicas an image version may have per region.
    pub max_replicas_per_region: u32,
    /// The largest image version (all disks together) in GiB.
    pub max_image_size_gb: u64,
    /// `--template-link PREFIX=DIR`: linked-template URIs starting with PREFIX are read from DIR.
    pub template_links: Vec<(String, std::path::PathBuf)>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            strict_api_versions: false,
            page_size: 100,
            limits: Limits::default(),
            max_request_body_bytes: 4 * 1024 * 1024,
            directory: Directory::default(),
            authentication: identity::authentication::AuthenticationMode::default(),
            throttling: arm::throttling::ThrottlingSettings::default(),
            max_replicas_per_region: 10,
            max_image_size_gb: 1024,
            template_links: Vec::new(),
        }
    }
}

/// Everything handlers share.
#[derive(Debug)]
pub struct App {
    store: OnceLock<Store>,
    pub settings: ApiSettings,
    /// The per-region blob stores (disk and snapshot bytes, image version replicas).
    pub blobs: gallery_blob::RegionStores,
    /// Wakes an idle replication worker of this process after work was enqueued.
    workers: OnceLock<Arc<tokio::sync::Notify>>,
    /// The key that signs blob SAS URLs, shared by every process on the database (read once).
    blob_signing_key: tokio::sync::OnceCell<Vec<u8>>,
    /// What `/_galleryd/endpoints` answers (and `endpoints.json` holds), once the listeners are bound.
    pub endpoints: OnceLock<serde_json::Value>,
    /// The PEM of the certificate the HTTPS listener presents, for `/_galleryd/certificate`.
    pub certificate_pem: OnceLock<String>,
    /// Reads VM application packages from their links (built on first use, trusting
    /// `certificate_pem` too).
    pub(crate) package_client: OnceLock<reqwest::Client>,
    /// Signs and verifies galleryd's access tokens (its key is shared through the database).
    token_issuer: tokio::sync::OnceCell<identity::tokens::TokenIssuer>,
    /// Requests per subscription over the last hour.
    pub throttle: arm::throttling::Throttle,
    /// Where writers of one resource that lost a race take turns.
    pub(crate) write_queues: arm::tracked::WriteQueues,
    /// Whether the database is known to be unreachable (requests then answer 503 at once).
    pub database_outage: Arc<database_outage::DatabaseOutage>,
    /// The cached access policy every authorization decision reads.
    pub access: arm::access::AccessControl,
    /// The fault rules a test suite installed (`/_galleryd/faults`).
    pub faults: faults::FaultRules,
}

/// The shared application state.
pub type SharedApp = Arc<App>;

impl App {
    /// State with no store yet: ARM requests answer 503 and `/_galleryd/ready` is not ready until
    /// [`App::set_store`] is called (after migrations).
    pub fn new(settings: ApiSettings, blobs: gallery_blob::RegionStores) -> SharedApp {
        prometheus::install();
        Arc::new(App {
            store: OnceLock::new(),
            settings,
            blobs,
            workers: OnceLock::new(),
            blob_signing_key: tokio::sync::OnceCell::new(),
            endpoints: OnceLock::new(),
            certificate_pem: OnceLock::new(),
            package_client: OnceLock::new(),
            token_issuer: tokio::sync::OnceCell::new(),
            throttle: arm::throttling::Throttle::default(),
            write_queues: arm::tracked::WriteQueues::default(),
            database_outage: Arc::default(),
            access: arm::access::AccessControl::default(),
            faults: faults::FaultRules::default(),
        })
    }

    /// Lets handlers wake this process's workers (when the process runs any).
    pub fn set_worker_waker(&self, waker: Arc<tokio::sync::Notify>) {
        let _ = self.workers.set(waker);
    }

    /// The key blob SAS URLs are signed with: a secret in the database, created by the first process
    /// that needs it, so a URL one process hands out is honoured by every other.
    pub async fn blob_signing_key(&self) -> Result<&[u8], ApiError> {
        let store = self.store()?;
        let key = self
            .blob_signing_key
            .get_or_try_init(|| async {
                let encoded = store
                    .secret("blob-sas-signing-key", || {
                        use base64::Engine;
                        let mut bytes = [0u8; 32];
                        // The system generator does not fail on supported platforms; a zero key would
                        // still sign correctly, just guessably.
                        let _ = ring::rand::SecureRandom::fill(
                            &ring::rand::SystemRandom::new(),
                            &mut bytes,
                        );
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    })
                    .await?;
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|_| {
                        ApiError::Store(gallery_store::StoreError::CorruptDocument(
                            "blob signing key".to_string(),
                        ))
                    })
            })
            .await?;
        Ok(key.as_slice())
    }

    /// The token issuer, with the signing key every process on the database shares (generated by
    /// the first one that needs it, off the async runtime).
    pub async fn token_issuer(&self) -> Result<&identity::tokens::TokenIssuer, ApiError> {
        let store = self.store()?;
        self.token_issuer
            .get_or_try_init(|| async {
                let stored = load_or_create_signing_key(store).await?;
                identity::tokens::TokenIssuer::from_stored_key(&stored).map_err(|message| {
                    ApiError::Store(gallery_store::StoreError::CorruptDocument(message))
                })
            })
            .await
    }

    /// Wakes one idle worker: there is new work.
    pub fn wake_workers(&self) {
        if let Some(waker) = self.workers.get() {
            waker.notify_one();
        }
    }

    /// Makes the store available: galleryd is ready.
    pub fn set_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    /// The store, or 503 while galleryd is starting or while the database is known to be
    /// unreachable (see [`database_outage`]).
    pub fn store(&self) -> Result<&Store, ApiError> {
        let store = self.store.get().ok_or(ApiError::NotReady)?;
        if self.database_outage.is_down() {
            return Err(ApiError::DatabaseUnavailable);
        }
        Ok(store)
    }

    /// The store once opened, whether or not the database answers (for probing it).
    pub fn opened_store(&self) -> Option<&Store> {
        self.store.get()
    }

    /// A subscription galleryd serves, by id (ignoring case).
    pub fn subscription(&self, subscription_id: &str) -> Option<&Subscription> {
        self.settings
            .directory
            .subscriptions
            .iter()
            .find(|subscription| {
                subscription
                    .subscription_id
                    .eq_ignore_ascii_case(subscription_id)
            })
    }
}

/// The stored token signing key, generated (off the async runtime) and stored when there is none.
pub async fn load_or_create_signing_key(store: &Store) -> Result<String, ApiError> {
    if let Some(stored) = store
        .existing_secret(identity::tokens::SIGNING_KEY_SECRET)
        .await?
    {
        return Ok(stored);
    }
    let generated = tokio::task::spawn_blocking(identity::tokens::generate_signing_key)
        .await
        .map_err(|error| {
            ApiError::Store(gallery_store::StoreError::CorruptDocument(
                error.to_string(),
            ))
        })?
        .map_err(|message| ApiError::Store(gallery_store::StoreError::CorruptDocument(message)))?;
    Ok(store
        .secret(identity::tokens::SIGNING_KEY_SECRET, move || generated)
        .await?)
}

/// The HTTP application: galleryd's own endpoints, then every ARM path through the dispatcher.
/// Repeated slashes in a path are collapsed first, before routing, as ARM does: `az` asks for
/// `https://host//metadata/endpoints` when the resource manager URL ends with a slash.
pub fn router(app: SharedApp) -> Router {
    let routes = tower::ServiceBuilder::new()
        .map_request(collapse_repeated_slashes)
        .service(routes(app));
    Router::new().fallback_service(routes)
}

/// `request` with runs of `/` in its path collapsed into one.
fn collapse_repeated_slashes(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    if !path.contains("//") {
        return request;
    }
    let mut collapsed = String::with_capacity(path.len());
    for character in path.chars() {
        if character == '/' && collapsed.ends_with('/') {
            continue;
        }
        collapsed.push(character);
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{collapsed}?{query}"),
        None => collapsed,
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(value) = path_and_query.parse() {
        parts.path_and_query = Some(value);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

fn routes(app: SharedApp) -> Router {
    Router::new()
        .route("/_galleryd/health", get(admin::health))
        .route("/_galleryd/ready", get(admin::ready))
        .route("/_galleryd/endpoints", get(admin::endpoints))
        .route("/_galleryd/certificate", get(admin::certificate))
        .route("/_galleryd/replicas", get(admin::replicas))
        .route("/_galleryd/latest", get(admin::latest))
        .route("/_galleryd/billing", get(admin::billing))
        .route("/_galleryd/usage", get(admin::usage))
        .route("/_galleryd/reset", axum::routing::post(admin::reset::reset))
        .route("/_galleryd/metrics", get(prometheus::render))
        .route(
            "/_galleryd/faults",
            get(admin::faults::list)
                .post(admin::faults::add)
                .delete(admin::faults::clear),
        )
        .route(
            "/_galleryd/faults/{id}",
            axum::routing::delete(admin::faults::remove),
        )
        .route(
            "/gallerydblob/{region}/{blob}",
            axum::routing::any(blob_service::handle),
        )
        .route(
            "/metadata/endpoints",
            get(identity::token_endpoints::cloud_metadata),
        )
        .route(
            "/metadata/identity/oauth2/token",
            get(identity::token_endpoints::instance_metadata_token),
        )
        .route(
            "/msi/token",
            get(identity::token_endpoints::app_service_token),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(identity::token_endpoints::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(identity::token_endpoints::openid_configuration),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            axum::routing::post(identity::token_endpoints::token),
        )
        .route(
            "/{tenant}/oauth2/token",
            axum::routing::post(identity::token_endpoints::token),
        )
        .route(
            "/{tenant}/discovery/v2.0/keys",
            get(identity::token_endpoints::keys),
        )
        .route(
            "/{tenant}/discovery/keys",
            get(identity::token_endpoints::keys),
        )
        .fallback(arm::dispatch::dispatch)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            database_outage::notice_outages,
        ))
        .layer(axum::middleware::from_fn(headers::arm_headers))
        .with_state(app)
}
