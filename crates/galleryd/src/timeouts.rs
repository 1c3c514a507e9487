//! Read timeouts of client connections, so that slow or stalled clients (slow-loris) cannot hold
//! connections and tasks forever.
//!
//! Two bounds apply to every HTTP/1 connection, on both listeners:
//! - the request headers must arrive within `--header-read-timeout-seconds` of their first byte
//!   (hyper's header read timeout, which needs a timer to run; without one hyper applies none), or
//!   the connection is closed without an answer;
//! - a request body may not pause longer than `--body-read-timeout-seconds` between two pieces
//!   (`tower-http`'s body timeout); a stalled body fails the read, which ARM requests answer with
//!   408 `RequestTimeout`, and the connection closes.
//!
//! The TLS handshake has its own bound in the server.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::Config;

/// How long a client may take to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// From the first byte of a request's headers to their end.
    pub header_read: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_idle: Duration,
}

impl ConnectionTimeouts {
    /// The timeouts `config` sets.
    pub fn from_config(config: &Config) -> ConnectionTimeouts {
        ConnectionTimeouts {
            header_read: Duration::from_secs(config.header_read_timeout_seconds),
            body_idle: Duration::from_secs(config.body_read_timeout_seconds),
        }
    }

    /// A connection builder that enforces the header read timeout.
    pub fn connection_builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read);
        builder
    }

    /// The layer that bounds pauses within request bodies.
    pub fn body_layer(&self) -> RequestBodyTimeoutLayer {
        RequestBodyTimeoutLayer::new(self.body_idle)
    }
}
