//! Starting and stopping galleryd: bind the listeners, serve HTTPS and HTTP with one router, open the
//! store, and drain in-flight requests on shutdown.
//!
//! The listeners come up before the database is opened, so `/_galleryd/health` answers from the
//! first moment and `/_galleryd/ready` turns 200 once migrations are done. Shutdown stops accepting,
//! gives in-flight requests the grace period to finish, then closes the store cleanly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use arm_api::arm::dispatch::Scheme;
use arm_api::{ApiSettings, App, SharedApp};
use axum::Router;
use gallery_domain::identity::{
    DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID, DEVELOPMENT_SERVICE_PRINCIPAL_SECRET,
    DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID,
};
use gallery_store::{Store, StoreError, StoreOptions};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::Layer;
use tower_http::timeout::RequestBodyTimeout;

use crate::config::{Config, ConfigError};
use crate::timeouts::ConnectionTimeouts;
use crate::tls::{self, TlsError};

/// Why galleryd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("blob stores: {0}")]
    Blob(gallery_blob::BlobError),
}

/// A running galleryd.
pub struct Server {
    pub app: SharedApp,
    pub https_address: SocketAddr,
    pub http_address: SocketAddr,
    /// What `endpoints.json` holds.
    pub endpoints: Value,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<()>,
    workers: Option<gallery_replication::Workers>,
}

/// The host to put in URLs for a bind address (a wildcard address is reached through loopback).
fn url_host(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V6(v6) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

async fn bind(address: IpAddr, port: u16) -> Result<TcpListener, StartError> {
    let socket_address = SocketAddr::new(address, port);
    TcpListener::bind(socket_address)
        .await
        .map_err(|source| StartError::Bind {
            address: socket_address,
            source,
        })
}

impl Server {
    /// Starts galleryd as `config` says and returns once it is ready.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let settings = ApiSettings {
            strict_api_versions: config.strict_api_versions,
            page_size: config.page_size,
            limits: config.limits(),
            max_request_body_bytes: 4 * 1024 * 1024,
            directory: config.directory()?,
            authentication: config.authentication_mode(),
            throttling: config.throttling_settings(),
            max_replicas_per_region: config.max_replicas_per_region,
            max_image_size_gb: config.max_image_size_gb,
            template_links: config.template_link_roots()?,
        };
        let blobs = gallery_blob::RegionStores::with_capacities(
            config.blob_backend()?,
            config.region_capacity_bytes(),
        )
        .map_err(StartError::Blob)?;
        let location = config.store_location()?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(certificate), Some(key)) => tls::from_files(certificate, key)?,
            _ if config.in_memory => tls::ephemeral()?,
            _ => tls::generated_in(&config.data_dir.join("tls"))?,
        };
        let https_listener = bind(config.bind_address, config.https_port).await?;
        let http_listener = bind(config.bind_address, config.http_port).await?;
        let https_address = https_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: SocketAddr::new(config.bind_address, config.https_port),
                source,
            })?;
        let http_address = http_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: SocketAddr::new(config.bind_address, config.http_port),
                source,
            })?;
        let host = url_host(config.bind_address);
        let https = format!("https://{host}:{}", https_address.port());
        let http = format!("http://{host}:{}", http_address.port());
        let endpoints = json!({
            "https": https,
            "http": http,
            "certificate": tls.trust_path.as_ref().map(|path| path.display().to_string()),
            "tenantId": DEVELOPMENT_TENANT_ID,
            "subscriptionId": DEVELOPMENT_SUBSCRIPTION_ID,
            "clientId": DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID,
            "clientSecret": DEVELOPMENT_SERVICE_PRINCIPAL_SECRET,
            "authorityHost": https,
            "metadataEndpoint": format!("{https}/metadata/endpoints?api-version=2022-09-01"),
            "identityEndpoint": format!("{https}/msi/token"),
            "identityHeader": "galleryd",
            "imdsEndpoint": http,
        });

        let fault_rules = config.fault_rules()?;
        let app = App::new(settings, blobs.clone());
        for rule in fault_rules {
            // Validated above.
            let _ = app.faults.add(rule);
        }
        let _ = app.endpoints.set(endpoints.clone());
        let _ = app.certificate_pem.set(tls.trust_pem.clone());
        if !config.in_memory {
            let path = config.data_dir.join("endpoints.json");
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::Write {
                path: config.data_dir.clone(),
                source,
            })?;
            let text = serde_json::to_string_pretty(&endpoints).unwrap_or_default();
            std::fs::write(&path, text).map_err(|source| StartError::Write {
                path: path.clone(),
                source,
            })?;
        }

        let router = arm_api::router(app.clone());
        let (shutdown, shutdown_signal) = watch::channel(false);
        let grace = Duration::from_secs(config.shutdown_grace_seconds);
        let serving = tokio::spawn(serve(
            Listeners {
                https: https_listener,
                http: http_listener,
            },
            router,
            TlsAcceptor::from(tls.server_config.clone()),
            shutdown_signal,
            grace,
            ConnectionTimeouts::from_config(config),
        ));
        tracing::info!(https = %endpoints["https"].as_str().unwrap_or_default(), http = %endpoints["http"].as_str().unwrap_or_default(), "listening");
        match &tls.trust_path {
            Some(path) => {
                tracing::info!(certificate = %path.display(), "clients trust this certificate, e.g. REQUESTS_CA_BUNDLE={}", path.display())
            }
            None => tracing::info!(
                "in-memory certificate: fetch it from {}/_galleryd/certificate",
                endpoints["http"].as_str().unwrap_or_default()
            ),
        }

        let options = StoreOptions {
            max_connections: config.database_max_connections,
            document_cache_capacity: config.document_cache_capacity,
            ..StoreOptions::default()
        };
        let store = match Store::open(&location, &options).await {
            Ok(store) => store,
            Err(error) => {
                let _ = shutdown.send(true);
                let _ = serving.await;
                return Err(error.into());
            }
        };
        tracing::info!(
            database = store.backend_name(),
            blobs = blobs.backend_name(),
            "database ready"
        );
        let workers = (config.workers > 0).then(|| {
            let workers = gallery_replication::Workers::start(
                store.clone(),
                blobs.clone(),
                config.worker_settings(),
                shutdown.subscribe(),
            );
            app.set_worker_waker(workers.waker());
            workers
        });
        app.set_store(store);
        Ok(Server {
            app,
            https_address,
            http_address,
            endpoints,
            shutdown,
            serving,
            workers,
        })
    }

    /// Stops accepting connections, lets in-flight requests finish (within the grace period) and
    /// closes the store.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.serving.await;
        if let Some(workers) = self.workers {
            workers.stopped().await;
        }
        if let Ok(store) = self.app.store() {
            store.close().await;
        }
        tracing::info!("stopped");
    }
}

struct Listeners {
    https: TcpListener,
    http: TcpListener,
}

async fn serve(
    listeners: Listeners,
    router: Router,
    acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    timeouts: ConnectionTimeouts,
) {
    let https_router = router.clone().layer(axum::Extension(Scheme::Https));
    let http_router = router.layer(axum::Extension(Scheme::Http));
    let graceful = GracefulShutdown::new();
    let builder = timeouts.connection_builder();
    let body_timeout = timeouts.body_layer();
    loop {
        tokio::select! {
            accepted = listeners.https.accept() => {
                if let Some(stream) = accepted_stream(accepted).await {
                    spawn_connection(stream, Some(acceptor.clone()), body_timeout.layer(https_router.clone()), &builder, &graceful);
                }
            }
            accepted = listeners.http.accept() => {
                if let Some(stream) = accepted_stream(accepted).await {
                    spawn_connection(stream, None, body_timeout.layer(http_router.clone()), &builder, &graceful);
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listeners);
    tracing::info!(
        connections = graceful.count(),
        "shutting down: waiting for in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period elapsed; dropping the remaining connections"),
    }
}

async fn accepted_stream(accepted: std::io::Result<(TcpStream, SocketAddr)>) -> Option<TcpStream> {
    match accepted {
        Ok((stream, _peer)) => {
            let _ = stream.set_nodelay(true);
            Some(stream)
        }
        Err(error) => {
            // Out of file descriptors and alike: back off briefly instead of spinning.
            tracing::warn!(%error, "accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

fn spawn_connection(
    stream: TcpStream,
    acceptor: Option<TlsAcceptor>,
    router: RequestBodyTimeout<Router>,
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
) {
    let watcher = graceful.watcher();
    let builder = builder.clone();
    tokio::spawn(async move {
        let service = TowerToHyperService::new(router);
        let result = match acceptor {
            Some(acceptor) => {
                let tls_stream =
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls_stream)) => tls_stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                watcher
                    .watch(
                        builder
                            .serve_connection(TokioIo::new(tls_stream), service)
                            .into_owned(),
                    )
                    .await
            }
            None => {
                watcher
                    .watch(
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .into_owned(),
                    )
                    .await
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "connection ended with an error");
        }
    });
}

/// Replication workers running without the API (`galleryd worker`).
pub struct WorkersOnly {
    shutdown: watch::Sender<bool>,
    workers: gallery_replication::Workers,
    store: Store,
}

impl WorkersOnly {
    /// Stops the workers (work in flight is resumed by any process later) and closes the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.workers.stopped().await;
        self.store.close().await;
    }
}

/// Starts only replication workers on the configured database and blob stores.
pub async fn run_workers_only(config: &Config) -> Result<WorkersOnly, StartError> {
    let blobs = gallery_blob::RegionStores::with_capacities(
        config.blob_backend()?,
        config.region_capacity_bytes(),
    )
    .map_err(StartError::Blob)?;
    let options = StoreOptions {
        max_connections: config.database_max_connections,
        document_cache_capacity: 0,
        ..StoreOptions::default()
    };
    let store = Store::open(&config.store_location()?, &options).await?;
    let (shutdown, receiver) = watch::channel(false);
    let workers = gallery_replication::Workers::start(
        store.clone(),
        blobs,
        config.worker_settings(),
        receiver,
    );
    Ok(WorkersOnly {
        shutdown,
        workers,
        store,
    })
}
