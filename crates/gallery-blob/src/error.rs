//! The one error type of the crate, and which of its cases a caller may retry.
//!
//! Callers (the replication and disk workers) decide between "try again later" and "fail the
//! operation" with [`BlobError::is_retryable`], so the classification lives here next to the cases
//! rather than being re-derived at every call site.

/// What went wrong in a blob operation.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// An object the operation needs does not exist (a page that was never written, an extent of a
    /// deleted content).
    #[error("blob object not found: {path}")]
    NotFound { path: String },
    /// A content id that is empty or could escape its prefix (`/`, `..`, control characters).
    #[error("invalid content id {0:?}: expected a non-empty id without '/', '\\' or '..'")]
    InvalidContentId(String),
    /// A region name that is not a catalog short name (lowercase letters and digits).
    #[error("invalid region name {0:?}: expected a catalog short name such as 'westus'")]
    InvalidRegion(String),
    /// A backend configuration that cannot work (bad container prefix, bad endpoint).
    #[error("invalid blob backend configuration: {0}")]
    InvalidConfiguration(String),
    /// A request for bytes outside `0..logical_size`, or a page write that extends past it.
    #[error("range {start}..{end} is outside the content's logical size {logical_size}")]
    RangeOutOfBounds {
        start: u64,
        end: u64,
        logical_size: u64,
    },
    /// Arguments that contradict each other (duplicate write numbers, an oversized page, a manifest
    /// whose totals do not add up).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The bytes read do not hash to the manifest's checksum.
    #[error("checksum mismatch: expected {expected}, computed {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    /// A stored object's size differs from what the manifest or the page write says it holds.
    #[error("object {path} holds {actual} bytes where {expected} were expected")]
    LengthMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    /// Creating the Azure container of a region failed.
    #[error("cannot create blob container {container}: {detail}")]
    ContainerCreation {
        container: String,
        detail: String,
        retryable: bool,
    },
    /// An object that must be new exists already (a page write whose number another write took).
    #[error("blob object exists already: {path}")]
    AlreadyExists { path: String },
    /// The object store failed (I/O, network, service error).
    #[error("blob store error: {0}")]
    Store(object_store::Error),
    /// Local file-system work outside the object store failed (creating a region directory).
    #[error("blob store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The copy was asked to stop (a reset of what it copies); what it wrote is garbage.
    #[error("the copy was stopped")]
    Stopped,
}

impl BlobError {
    /// Whether trying the same operation again later may succeed: store and network failures and
    /// corrupted reads (a re-read or a re-copy from the source may be clean) are; bad arguments,
    /// missing objects, refused credentials and bad configuration are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            BlobError::Store(error) => !matches!(
                error,
                object_store::Error::InvalidPath { .. }
                    | object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented
                    | object_store::Error::UnknownConfigurationKey { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            ),
            BlobError::Io(_)
            | BlobError::AlreadyExists { .. }
            | BlobError::ChecksumMismatch { .. }
            | BlobError::LengthMismatch { .. }
            | BlobError::Stopped => true,
            BlobError::ContainerCreation { retryable, .. } => *retryable,
            BlobError::NotFound { .. }
            | BlobError::InvalidContentId(_)
            | BlobError::InvalidRegion(_)
            | BlobError::InvalidConfiguration(_)
            | BlobError::RangeOutOfBounds { .. }
            | BlobError::InvalidArgument(_) => false,
        }
    }
}

impl From<object_store::Error> for BlobError {
    /// A store's "not found" and "already exists" become [`BlobError::NotFound`] and
    /// [`BlobError::AlreadyExists`] so callers need not look inside the store's error; everything
    /// else stays a [`BlobError::Store`].
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => BlobError::NotFound { path },
            object_store::Error::AlreadyExists { path, .. } => BlobError::AlreadyExists { path },
            other => BlobError::Store(other),
        }
    }
}
