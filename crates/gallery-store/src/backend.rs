//! Connecting to Postgres or SQLite, migrating, and the macros that run one piece of query code on
//! either backend.
//!
//! SQLite gets one writer connection and a small pool of read-only connections: SQLite serializes
//! writers anyway, and queueing them in the pool (rather than in SQLite's busy handler, which sleeps
//! and retries) keeps concurrent writes fast and never fails them with `SQLITE_BUSY`. In WAL mode the
//! readers are never blocked by the writer. `--in-memory` uses a single connection to one private
//! in-memory database for both.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;
use crate::cache::DocumentCache;
use crate::work_fence::WorkFence;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A Postgres database URL (`postgres://…`).
    Postgres(String),
    /// An SQLite database file (created if missing).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database: nothing is written to disk, everything is lost at exit.
    SqliteMemory,
}

impl StoreLocation {
    /// Reads a database URL: `postgres://…`/`postgresql://…`, `sqlite://path`, `sqlite:path` or
    /// `sqlite::memory:`.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(url.to_string()));
        }
        if lower == "sqlite::memory:" || lower == "sqlite://:memory:" {
            return Ok(StoreLocation::SqliteMemory);
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(format!("the database URL '{url}' names no file"));
            }
            return Ok(StoreLocation::SqliteFile(PathBuf::from(path)));
        }
        Err(format!(
            "unsupported database URL '{url}': use postgres://… or sqlite://path"
        ))
    }
}

/// Tuning of the connection pools.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections to Postgres (SQLite: read-only connections; it always has one writer).
    pub max_connections: u32,
    /// How long a request waits for a free connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
    /// Most resource documents kept in memory for reads (0: no cache).
    pub document_cache_capacity: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 32,
            // Long enough for a busy pool to hand over a connection, short enough that a request
            // never waits long for a database that is gone (refused connections are retried by the
            // driver until this deadline).
            acquire_timeout: Duration::from_secs(3),
            document_cache_capacity: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Postgres(PgPool),
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
}

/// The handle every part of galleryd reads and writes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Into how many rows each usage counter is split (see `quota`).
    pub(crate) quota_shards: i32,
    /// Resource documents served without a database round trip (see `cache`); `None` when disabled.
    pub(crate) cache: Option<Arc<DocumentCache>>,
    /// The task that hears document changes announced by Postgres; stopped by [`Store::close`].
    listener: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
    /// The job runs of this process, which a reset stops first (see `work_fence`).
    pub(crate) work_fence: Arc<WorkFence>,
}

/// Shards per usage counter on Postgres: enough that 64 concurrent creates rarely queue on one row.
const POSTGRES_QUOTA_SHARDS: i32 = 16;

impl Store {
    /// Connects, creating the SQLite file if needed, and applies pending migrations.
    pub async fn open(
        location: &StoreLocation,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let cache = (options.document_cache_capacity > 0).then(|| {
            // On Postgres other processes may write too: serve only once their changes are heard.
            let serving = !matches!(location, StoreLocation::Postgres(_));
            Arc::new(DocumentCache::new(options.document_cache_capacity, serving))
        });
        let (backend, quota_shards) = match location {
            StoreLocation::Postgres(url) => {
                let connect = PgConnectOptions::from_str(url)?.application_name("galleryd");
                let pool = PgPoolOptions::new()
                    // A ping before every acquire would double the round trips of every query; a
                    // broken connection shows itself on use instead.
                    .test_before_acquire(false)
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                (Backend::Postgres(pool), POSTGRES_QUOTA_SHARDS)
            }
            StoreLocation::SqliteFile(path) => {
                if let Some(parent) = path
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| StoreError::Database(sqlx::Error::Io(error)))?;
                }
                let connect = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let writer = SqlitePoolOptions::new()
                    // A ping before every acquire would double the round trips of every query; a
                    // broken connection shows itself on use instead.
                    .test_before_acquire(false)
                    .max_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.clone())
                    .await?;
                // Readers open read-only, so the schema must exist first.
                Self::migrate_sqlite(&writer).await?;
                let reader = SqlitePoolOptions::new()
                    // A ping before every acquire would double the round trips of every query; a
                    // broken connection shows itself on use instead.
                    .test_before_acquire(false)
                    .max_connections(options.max_connections.clamp(1, 8))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.read_only(true))
                    .await?;
                (Backend::Sqlite { writer, reader }, 1)
            }
            StoreLocation::SqliteMemory => {
                let connect = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    // A ping before every acquire would double the round trips of every query; a
                    // broken connection shows itself on use instead.
                    .test_before_acquire(false)
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                (
                    Backend::Sqlite {
                        writer: pool.clone(),
                        reader: pool,
                    },
                    1,
                )
            }
        };
        let store = Store {
            backend,
            quota_shards,
            cache,
            listener: Arc::new(Mutex::new(None)),
            work_fence: Arc::default(),
        };
        store.migrate().await?;
        if let (Backend::Postgres(pool), Some(cache)) = (&store.backend, &store.cache) {
            let task = tokio::spawn(hear_document_changes(pool.clone(), cache.clone()));
            *store
                .listener
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(task.abort_handle());
        }
        Ok(store)
    }

    async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
        sqlx::migrate!("../../migrations/sqlite").run(pool).await?;
        Ok(())
    }

    /// Applies pending migrations (idempotent; `galleryd migrate` and every start run it).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
            Backend::Sqlite { writer, .. } => Self::migrate_sqlite(writer).await?,
        }
        Ok(())
    }

    /// Answers once the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: i32 = read!(self, pool => sqlx::query_scalar("SELECT 1").fetch_one(pool).await)?;
        Ok(())
    }

    /// Closes every connection, waiting for the ones in use to be returned.
    pub async fn close(&self) {
        if let Some(listener) = self
            .listener
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        {
            listener.abort();
        }
        match &self.backend {
            Backend::Postgres(pool) => pool.close().await,
            Backend::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
        }
    }

    /// The job runs of this process (the workers register each run, so a reset can stop them).
    pub fn work_fence(&self) -> &WorkFence {
        &self.work_fence
    }

    /// `postgres` or `sqlite`, for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite { .. } => "sqlite",
        }
    }
}

/// Listens to `galleryd_documents` (announced by a trigger after every committed change of a
/// resource row, from any process) and drops the changed documents from the cache. While the
/// connection is down the cache stops answering, since changes may be missed; it answers again once
/// a notification proves the connection is back.
async fn hear_document_changes(pool: PgPool, cache: Arc<DocumentCache>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for document changes; the document cache is off until it can");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen("galleryd_documents").await {
            tracing::warn!(%error, "cannot listen for document changes; the document cache is off until it can");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        cache.resume();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    cache.invalidate(notification.payload());
                    cache.resume();
                }
                // The connection dropped; the next call reconnects.
                Ok(None) => cache.suspend(),
                Err(error) => {
                    cache.suspend();
                    tracing::warn!(%error, "lost the document change listener; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}
