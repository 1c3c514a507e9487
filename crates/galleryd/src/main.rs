//! The `galleryd` command: parse the configuration, then serve (the default) or migrate.

use clap::Parser;
use gallery_store::Store;
use galleryd::config::{Cli, Command};
use galleryd::{Server, telemetry};

/// Resolves when SIGINT or SIGTERM arrives.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format, &cli.config.log_level);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match Server::start(&cli.config).await {
            Ok(server) => {
                shutdown_signal().await;
                tracing::info!("shutdown requested");
                server.shutdown().await;
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "galleryd could not start");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Worker => match galleryd::server::run_workers_only(&cli.config).await {
            Ok(workers) => {
                shutdown_signal().await;
                tracing::info!("shutdown requested");
                workers.stop().await;
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "galleryd worker could not start");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Migrate => {
            let result = async {
                let location = cli.config.store_location()?;
                let options = gallery_store::StoreOptions {
                    max_connections: 2,
                    ..Default::default()
                };
                let store = Store::open(&location, &options).await?;
                store.close().await;
                Ok::<(), Box<dyn std::error::Error>>(())
            }
            .await;
            match result {
                Ok(()) => {
                    tracing::info!("migrations applied");
                    std::process::ExitCode::SUCCESS
                }
                Err(error) => {
                    tracing::error!(%error, "migration failed");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
