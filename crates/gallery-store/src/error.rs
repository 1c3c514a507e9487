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
    /// Whether the database is merely busy or unreachable (worth a 503 and a retry): no free
    /// connection in time, the connection broke or could not be made, or the server said it is
    /// shutting down, starting, or out of connections (Postgres SQLSTATE class 08, 57P01–57P03,
    /// 53300). The one place connection failures are told from other database errors.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            StoreError::Database(sqlx::Error::Database(error)) => {
                error.code().is_some_and(|code| {
                    code.starts_with("08")
                        || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                })
            }
            _ => false,
        }
    }

    /// Whether the database chose this transaction as a deadlock's victim (Postgres 40P01):
    /// running it again may succeed.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(error))
            if error.code().is_some_and(|code| code == "40P01"))
    }
}
