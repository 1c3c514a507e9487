//! The GET baseline: a bare axum server in its own process (the hidden `bare-server` subcommand of
//! this binary) that answers `GET <path>` with fixed JSON bytes — those galleryd served for the same
//! path. It uses the same HTTP stack as galleryd's plain-HTTP listener (hyper-util's auto builder,
//! TCP_NODELAY, a multi-threaded tokio runtime with one worker per core) and nothing else: no
//! routing table of ARM, no database, no logging. The ratio galleryd/bare is the share of HTTP
//! throughput galleryd keeps while doing its work.

use std::path::PathBuf;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Where the bare server gets its answer and reports its address.
#[derive(Debug, Clone, clap::Args)]
pub struct BareServerArgs {
    /// The path to answer (the query string is ignored).
    #[arg(long)]
    pub path: String,
    /// The exact bytes to answer with.
    #[arg(long)]
    pub body_file: PathBuf,
    /// Written with `127.0.0.1:<port>` once listening.
    #[arg(long)]
    pub address_file: PathBuf,
}

/// Runs the bare server until killed.
pub fn run(args: &BareServerArgs) -> Result<(), String> {
    let body = Bytes::from(
        std::fs::read(&args.body_file)
            .map_err(|error| format!("cannot read {}: {error}", args.body_file.display()))?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the tokio runtime: {error}"))?;
    runtime.block_on(serve(args, body))
}

async fn serve(args: &BareServerArgs, body: Bytes) -> Result<(), String> {
    let router = Router::new().route(
        &args.path,
        get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json; charset=utf-8")], body) }
        }),
    );
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| format!("cannot listen on 127.0.0.1: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    // Write then rename, so the parent never reads a half-written address.
    let staging = args.address_file.with_extension("partial");
    std::fs::write(&staging, address.to_string())
        .map_err(|error| format!("cannot write {}: {error}", staging.display()))?;
    std::fs::rename(&staging, &args.address_file)
        .map_err(|error| format!("cannot write {}: {error}", args.address_file.display()))?;

    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("bare server: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
