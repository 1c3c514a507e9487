//! What can go wrong in the store: a rule said no (the request is refused with an ARM error), or the
//! database failed (a server-side problem, never the caller's fault).

use gallery_domain::ServiceError;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule refused the write (resource group missing, limit reached, name taken, …).
    #[error("{0}")]
    Rejected(ServiceError),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored document could not be read back.
    #[error("stored document is corrupt: {0}")]
    CorruptDocument(String),
}

impl From<ServiceError> for StoreError {
    fn from(error: ServiceError) -> Self {
        StoreError::Rejected(error)
    }
}

impl StoreError {
    /// Whether the database is merely busy or unreachable (worth a 503 and a retry).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }
}
