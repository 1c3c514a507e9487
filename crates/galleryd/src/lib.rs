//! galleryd: an offline emulator of the Azure Compute Gallery resource provider.
//!
//! This crate is the composition root: configuration ([`config`]), TLS ([`tls`]), logging
//! ([`telemetry`]) and the server lifecycle ([`server`]) around the ARM front end (`arm-api`), the
//! service rules (`gallery-domain`) and the store (`gallery-store`). `main.rs` stays thin so tests and
//! benchmarks start the very same server in-process with [`server::Server::start`].

pub mod config;
pub mod server;
pub mod telemetry;
pub mod timeouts;
pub mod tls;

pub use config::{Cli, Command, Config};
pub use server::Server;
