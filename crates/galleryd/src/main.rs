//! The `galleryd` command: parse the configuration, then serve (the default), run workers only,
//! migrate, or print a token.

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

/// `galleryd token`: a token signed with the database's key, for the principal asked for.
async fn print_token(
    config: &galleryd::Config,
    arguments: &galleryd::config::TokenArguments,
) -> Result<String, Box<dyn std::error::Error>> {
    let directory = config.directory()?;
    let principal = match &arguments.principal {
        Some(name) => directory
            .principal(name)
            .ok_or_else(|| {
                format!(
                    "no principal named '{name}' (an object id, client id or user principal name)"
                )
            })?
            .clone(),
        None => gallery_domain::identity::Principal::development_user(),
    };
    let tenant_id = arguments
        .tenant
        .clone()
        .unwrap_or_else(|| principal.tenant_id.clone());
    if directory.tenant(&tenant_id).is_none() {
        return Err(format!("no tenant '{tenant_id}'").into());
    }
    let options = gallery_store::StoreOptions {
        max_connections: 2,
        ..Default::default()
    };
    let store = Store::open(&config.store_location()?, &options).await?;
    let key = arm_api::load_or_create_signing_key(&store)
        .await
        .map_err(|error| error.to_string())?;
    store.close().await;
    let issuer = arm_api::identity::tokens::TokenIssuer::from_stored_key(&key)?;
    let issuer_url = format!("https://127.0.0.1:{}/{tenant_id}/v2.0", config.https_port);
    let (token, _expires_on) = arm_api::identity::token_endpoints::token_for(
        &issuer,
        &principal,
        &tenant_id,
        &arguments.audience,
        &issuer_url,
    );
    Ok(token)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli.command.clone().unwrap_or(Command::Serve);
    // `galleryd token` logs nothing: only the token goes to standard output, for `$(galleryd token)`.
    if !matches!(command, Command::Token(_)) {
        telemetry::init(cli.config.log_format, &cli.config.log_level);
    }
    match command {
        Command::Token(arguments) => match print_token(&cli.config, &arguments).await {
            Ok(token) => {
                println!("{token}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("galleryd token: {error}");
                std::process::ExitCode::FAILURE
            }
        },
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
