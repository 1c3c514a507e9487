//! Answering at once while the database is gone, and noticing by itself when it is back.
//!
//! Without this, every request during a database outage would wait for a connection until the
//! pool's acquire timeout (the driver keeps retrying a refused connection until then), and
//! `/_galleryd/ready` would hang just as long. Instead, the first request that fails because the
//! database is unreachable (`ApiError::is_database_unavailable`, rendered by `error.rs`, which
//! marks such responses with [`DatabaseUnavailable`]) reports an outage: from then on
//! [`App::store`](crate::App::store) answers 503 `ServiceUnavailable` with `Retry-After` at once,
//! without touching the pool, and `/_galleryd/ready` answers 503 at once. One probe task pings
//! the database (through the pool, so a successful ping also leaves a fresh connection behind)
//! every [`PROBE_INTERVAL`], each ping bounded by [`PROBE_TIMEOUT`], and ends the outage when a ping
//! succeeds. A single broken connection (the database restarted, a connection killed) reports an
//! outage too; the first probe ends it within milliseconds.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gallery_store::Store;

use crate::SharedApp;

/// How long the probe waits between two pings while the database is gone.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// The longest one ping may take (the driver retries refused connections until its deadline).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Marks a response that failed because the database was unreachable, so that the middleware
/// ([`notice_outages`]) reports the outage; `error.rs` sets it.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnavailable;

/// Whether the database is known to be gone, and the probe that finds out when it is back.
#[derive(Debug, Default)]
pub struct DatabaseOutage {
    /// Read by every request: answer 503 at once while set.
    down: AtomicBool,
    /// When the running outage began (`None` without a probe running).
    probing_since: Mutex<Option<Instant>>,
}

impl DatabaseOutage {
    /// Whether requests should be answered 503 without trying the database.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Records that the database could not be reached, and starts the probe unless it runs.
    pub fn report(self: &Arc<Self>, store: &Store) {
        self.down.store(true, Ordering::Release);
        let mut probing_since = self
            .probing_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if probing_since.is_some() {
            return;
        }
        *probing_since = Some(Instant::now());
        tracing::warn!("the database is unreachable: answering 503 until it answers again");
        tokio::spawn(Arc::clone(self).probe(store.clone()));
    }

    /// Pings until the database answers, then ends the outage.
    async fn probe(self: Arc<Self>, store: Store) {
        loop {
            if let Ok(Ok(())) = tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
                let mut probing_since = self
                    .probing_since
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                self.down.store(false, Ordering::Release);
                let lasted = probing_since.take().map(|since| since.elapsed());
                tracing::warn!(
                    seconds = lasted.unwrap_or_default().as_secs_f64(),
                    "the database answers again"
                );
                return;
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }
}

/// Middleware: reports an outage when a response says the database was unreachable.
pub async fn notice_outages(
    State(app): State<SharedApp>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<DatabaseUnavailable>().is_some()
        && let Some(store) = app.opened_store()
    {
        app.database_outage.report(store);
    }
    response
}
