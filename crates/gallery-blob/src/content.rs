//! The sparse-content model: what a sealed content is (a [`Manifest`] of extents over a logical
//! size), how Put Page payloads are stored before sealing, and the whole-content operations that need
//! no streaming (create empty, delete, list, age).
//!
//! A content is the bytes of one disk, snapshot or image version replica in one region. While it is
//! written (Put Page), each payload is stored as its own object, numbered in write order; the caller
//! records each [`PageWrite`] in its database. [`crate::seal`] then turns those writes into canonical
//! extents and a [`Manifest`], which the caller keeps in its database: this crate never stores a
//! manifest, so an object store holds only bytes and the database decides which contents exist.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::checksum::ContentHasher;
use crate::error::BlobError;
use crate::key::{BlobKey, validate_content_id};

const MEBIBYTE: u64 = 1024 * 1024;
/// Largest extent object [`crate::seal`] produces; extents are cut at absolute multiples of it.
pub const EXTENT_MAX_BYTES: u64 = 4 * MEBIBYTE;
/// Largest Put Page payload (Azure's limit for one Put Page call).
pub const PAGE_MAX_BYTES: u64 = 4 * MEBIBYTE;
/// Largest chunk [`crate::read_range`] yields (zeros of holes and ranged reads of extents alike).
pub const READ_CHUNK_BYTES: u64 = MEBIBYTE;

/// One written run of a sealed content, stored as the object [`BlobKey::Extent`] at its offset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub length: u64,
}

impl Extent {
    /// The logical offset just past the extent.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// A sealed content: which bytes exist, where, and their checksum. Kept by the caller (in its
/// database); the objects it names live in one region's store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub content_id: String,
    /// Provisioned size: reads beyond the extents (but within this size) are zeros.
    pub logical_size: u64,
    /// Sorted by offset, non-overlapping, each non-empty.
    pub extents: Vec<Extent>,
    /// Sum of the extents' lengths.
    pub occupied_bytes: u64,
    /// `sha256:<hex>` of the canonical content (see the `checksum` module).
    pub checksum: String,
}

/// One Put Page call, recorded by the caller in the order the writes were made.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PageWrite {
    /// Sequence number of the write; a higher number is a later write and wins where writes overlap.
    /// It also names the payload object ([`BlobKey::PageWrite`]).
    pub write: u64,
    /// Logical offset the page was written at.
    pub offset: u64,
    /// Length of the payload.
    pub length: u64,
}

/// The manifest of a content with nothing written: all zeros over `logical_size`, no objects.
pub fn empty(content_id: &str, logical_size: u64) -> Manifest {
    Manifest {
        content_id: content_id.to_owned(),
        logical_size,
        extents: Vec::new(),
        occupied_bytes: 0,
        checksum: ContentHasher::new().finish(),
    }
}

/// Stores the payload of one Put Page call as a new object `write` of the content; a `write` that
/// exists already is [`BlobError::AlreadyExists`] (the caller draws another number).
pub async fn write_page(
    store: &dyn ObjectStore,
    content_id: &str,
    write: u64,
    bytes: bytes::Bytes,
) -> Result<(), BlobError> {
    validate_content_id(content_id)?;
    if bytes.len() as u64 > PAGE_MAX_BYTES {
        return Err(BlobError::InvalidArgument(format!(
            "page write {write} holds {} bytes, more than the {PAGE_MAX_BYTES} a page may hold",
            bytes.len()
        )));
    }
    let key = BlobKey::PageWrite {
        content_id: content_id.to_owned(),
        write,
    };
    // Create-only: two writers that drew the same number (processes sharing a store) must not
    // overwrite each other's page; the second gets `AlreadyExists` and draws again.
    let options = object_store::PutOptions {
        mode: object_store::PutMode::Create,
        ..Default::default()
    };
    store.put_opts(&key.path(), bytes.into(), options).await?;
    Ok(())
}

/// Deletes every object of a content (page payloads and extents) and returns how many it deleted.
/// Deleting a content that is already gone deletes nothing and succeeds.
pub async fn delete(store: &dyn ObjectStore, content_id: &str) -> Result<u64, BlobError> {
    validate_content_id(content_id)?;
    delete_prefix(store, &BlobKey::content_prefix(content_id)).await
}

/// The ids of the contents that have objects in the store, sorted, for garbage collection (ids the
/// caller's database no longer knows can be [`delete`]d).
pub async fn list_contents(store: &dyn ObjectStore) -> Result<Vec<String>, BlobError> {
    let listing = match store
        .list_with_delimiter(Some(&BlobKey::contents_root()))
        .await
    {
        Ok(listing) => listing,
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let mut content_ids: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|prefix| prefix.filename().map(str::to_owned))
        .collect();
    content_ids.sort();
    Ok(content_ids)
}

/// When an object of the content was last written; `None` when it has no object a listing shows.
/// Garbage collection leaves an unrecorded content alone while this is recent: a write in flight may
/// still record it.
pub async fn last_written(
    store: &dyn ObjectStore,
    content_id: &str,
) -> Result<Option<DateTime<Utc>>, BlobError> {
    validate_content_id(content_id)?;
    let newest = store
        .list(Some(&BlobKey::content_prefix(content_id)))
        .try_fold(None, |newest: Option<DateTime<Utc>>, meta| async move {
            Ok(newest.max(Some(meta.last_modified)))
        })
        .await;
    match newest {
        Ok(newest) => Ok(newest),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Deletes every object under `prefix` and returns how many it deleted; objects that vanish in the
/// meantime (a concurrent delete) are not an error.
pub(crate) async fn delete_prefix(
    store: &dyn ObjectStore,
    prefix: &Path,
) -> Result<u64, BlobError> {
    // The listing is taken whole before deleting: deleting while a file-system listing walks the
    // same directories is not reliable. It holds one path per object of one content.
    let paths: Vec<Path> = match store
        .list(Some(prefix))
        .map_ok(|meta| meta.location)
        .try_collect()
        .await
    {
        Ok(paths) => paths,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    let mut deletions =
        store.delete_stream(futures_util::stream::iter(paths.into_iter().map(Ok)).boxed());
    let mut deleted = 0;
    while let Some(result) = deletions.next().await {
        match result {
            Ok(_) => deleted += 1,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(deleted)
}

/// Checks that a manifest is coherent before its objects are touched: a valid content id, sorted
/// non-empty non-overlapping extents inside the logical size, and `occupied_bytes` their sum.
pub(crate) fn check_manifest(manifest: &Manifest) -> Result<(), BlobError> {
    validate_content_id(&manifest.content_id)?;
    let mut previous_end = 0;
    let mut occupied: u64 = 0;
    for extent in &manifest.extents {
        let Some(end) = extent.offset.checked_add(extent.length) else {
            return Err(incoherent(manifest, "an extent ends past u64::MAX"));
        };
        if extent.length == 0 {
            return Err(incoherent(manifest, "an extent is empty"));
        }
        if extent.offset < previous_end {
            return Err(incoherent(manifest, "extents overlap or are out of order"));
        }
        if end > manifest.logical_size {
            return Err(incoherent(manifest, "an extent ends past the logical size"));
        }
        previous_end = end;
        occupied = occupied.saturating_add(extent.length);
    }
    if occupied != manifest.occupied_bytes {
        return Err(incoherent(
            manifest,
            "occupied bytes differ from the sum of the extents' lengths",
        ));
    }
    Ok(())
}

fn incoherent(manifest: &Manifest, reason: &str) -> BlobError {
    BlobError::InvalidArgument(format!(
        "manifest of content {} is incoherent: {reason}",
        manifest.content_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_through_json() {
        let manifest = Manifest {
            content_id: "disk1".to_owned(),
            logical_size: 1024,
            extents: vec![Extent {
                offset: 512,
                length: 512,
            }],
            occupied_bytes: 512,
            checksum: "sha256:00".to_owned(),
        };
        let json = serde_json::to_value(&manifest).expect("manifest serializes");
        assert_eq!(json["content_id"], "disk1");
        assert_eq!(json["occupied_bytes"], 512);
        let back: Manifest = serde_json::from_value(json).expect("manifest deserializes");
        assert_eq!(back, manifest);
    }

    #[tokio::test]
    async fn last_written_is_the_newest_object_of_the_content() {
        let store = object_store::memory::InMemory::new();
        assert_eq!(last_written(&store, "nothing").await.unwrap(), None);
        let before = Utc::now();
        write_page(&store, "disk1", 0, bytes::Bytes::from_static(b"first"))
            .await
            .unwrap();
        let first = last_written(&store, "disk1")
            .await
            .unwrap()
            .expect("written");
        assert!(first >= before);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        write_page(&store, "disk1", 1, bytes::Bytes::from_static(b"second"))
            .await
            .unwrap();
        let second = last_written(&store, "disk1")
            .await
            .unwrap()
            .expect("written");
        assert!(second > first, "{second} after {first}");
        // Another content's objects do not count.
        write_page(&store, "disk10", 0, bytes::Bytes::from_static(b"other"))
            .await
            .unwrap();
        assert_eq!(last_written(&store, "disk1").await.unwrap(), Some(second));
        assert!(matches!(
            last_written(&store, "../disk1").await,
            Err(BlobError::InvalidContentId(_))
        ));
    }

    #[test]
    fn incoherent_manifests_are_refused() {
        let mut manifest = empty("disk1", 1024);
        assert!(check_manifest(&manifest).is_ok());
        manifest.extents = vec![
            Extent {
                offset: 0,
                length: 512,
            },
            Extent {
                offset: 256,
                length: 512,
            },
        ];
        manifest.occupied_bytes = 1024;
        assert!(matches!(
            check_manifest(&manifest),
            Err(BlobError::InvalidArgument(_))
        ));
        manifest.extents = vec![Extent {
            offset: 768,
            length: 512,
        }];
        manifest.occupied_bytes = 512;
        assert!(check_manifest(&manifest).is_err(), "past the logical size");
        manifest.extents = vec![Extent {
            offset: 0,
            length: 512,
        }];
        manifest.occupied_bytes = 511;
        assert!(check_manifest(&manifest).is_err(), "wrong occupied bytes");
    }
}
