//! Per-region blob stores and the sparse-content model galleryd uses for the bytes of disks,
//! snapshots and image version replicas.
//!
//! The crate is a library over the `object_store` crate and knows nothing of the database or HTTP:
//! callers keep each content's [`PageWrite`] records and sealed [`Manifest`] in their database and
//! hand them back to these functions.
//!
//! - [`RegionStores`]: one object store per region, on local disk, in memory or in Azure Blob
//!   Storage (Azurite included), created on first use.
//! - [`BlobKey`]: the one place object keys are spelled.
//! - Contents: Put Page payloads are stored as written ([`write_page`]), then [`seal`]ed into
//!   canonical extents with a checksum; sealed contents are read by range with holes as zeros
//!   ([`read_range`]), copied between regions ([`copy`]), re-checked ([`verify`]), deleted
//!   ([`delete`]) and listed for garbage collection ([`list_contents`], [`last_written`]).
//! - [`Pacer`]: bandwidth pacing for copies under the "realistic" latency profile.
//! - [`CapacityLimitedStore`]: a region store that fills up (`--region-capacity-mib`).
//!
//! Every operation on a content is idempotent, so a worker that crashed midway simply runs it
//! again; each module's documentation says how.

mod azure_container;
mod capacity;
mod checksum;
mod content;
mod copy;
mod error;
mod key;
mod pacer;
mod read;
mod region;
mod seal;

pub use capacity::CapacityLimitedStore;
pub use content::{
    EXTENT_MAX_BYTES, Extent, Manifest, PAGE_MAX_BYTES, PageWrite, READ_CHUNK_BYTES, delete, empty,
    last_written, list_contents, write_page,
};
pub use copy::{COPY_PART_BYTES, PROGRESS_INTERVAL_BYTES, copy, copy_until, verify};
pub use error::BlobError;
pub use key::{BlobKey, validate_content_id};
pub use pacer::Pacer;
pub use read::read_range;
pub use region::{BlobBackend, RegionStores};
pub use seal::seal;

/// The `object_store` crate this one is built on, so callers can name `ObjectStore` and `Path`
/// without depending on a matching version themselves.
pub use object_store;
