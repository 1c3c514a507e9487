//! A region store that fills up: `--region-capacity-mib REGION=MIB` gives a region a capacity, and
//! writes that would take its objects past it fail as a full disk or a storage account at its quota
//! would (`StorageFull`, "no space left").
//!
//! This is how users (and galleryd's own tests) see what happens when storage runs out in the
//! middle of a copy: the replica fails with a clear detail, nothing half-copied is served, the space
//! the failed copy took is given back, and the version can be replicated again once there is room.
//!
//! The wrapper counts the bytes of the objects it knows: those present when the store was opened
//! (listed once) and those written through it since, less those deleted. Writes reserve their bytes
//! before they reach the inner store (every part of a multipart upload too), so two copies at once
//! cannot both squeeze into the last free bytes; a failed or aborted write gives its reservation
//! back. An object rewritten in place counts once, at its new size (a multipart upload reserves
//! every part, as it cannot know what it replaces until it completes).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// Bytes held and reserved in one region's store.
#[derive(Debug, Default)]
struct Usage {
    /// The size of every object, by path.
    objects: HashMap<Path, u64>,
    /// The sum of `objects`.
    stored: u64,
    /// Bytes of writes in flight.
    reserved: u64,
}

/// The ledger of one store: its capacity and what is used.
#[derive(Debug)]
struct Ledger {
    capacity: u64,
    usage: Mutex<Usage>,
}

impl Ledger {
    fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        self.usage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves `bytes` for a write, or fails as a full store.
    fn reserve(&self, bytes: u64) -> object_store::Result<()> {
        let mut usage = self.usage();
        let used = usage.stored + usage.reserved;
        if used.saturating_add(bytes) > self.capacity {
            return Err(object_store::Error::Generic {
                store: "galleryd",
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!(
                        "the region's blob store is full: {bytes} more bytes do not fit ({used} of its {} bytes are used)",
                        self.capacity
                    ),
                )),
            });
        }
        usage.reserved += bytes;
        Ok(())
    }

    /// Gives a reservation back (the write failed or was aborted).
    fn release(&self, bytes: u64) {
        let mut usage = self.usage();
        usage.reserved = usage.reserved.saturating_sub(bytes);
    }

    /// Turns a reservation into the stored object `location` of `bytes`.
    fn commit(&self, location: &Path, reserved: u64, bytes: u64) {
        let mut usage = self.usage();
        usage.reserved = usage.reserved.saturating_sub(reserved);
        Self::record(&mut usage, location, Some(bytes));
    }

    /// Sets (or, with `None`, forgets) the size of `location`.
    fn record(usage: &mut Usage, location: &Path, bytes: Option<u64>) {
        let previous = match bytes {
            Some(bytes) => {
                usage.stored += bytes;
                usage.objects.insert(location.clone(), bytes)
            }
            None => usage.objects.remove(location),
        };
        usage.stored = usage.stored.saturating_sub(previous.unwrap_or(0));
    }

    fn size_of(&self, location: &Path) -> Option<u64> {
        self.usage().objects.get(location).copied()
    }
}

/// An object store with a capacity (see the module documentation).
pub struct CapacityLimitedStore {
    inner: Arc<dyn ObjectStore>,
    ledger: Arc<Ledger>,
}

impl CapacityLimitedStore {
    /// Wraps `inner` with `capacity` bytes, counting the objects it already holds.
    pub async fn new(
        inner: Arc<dyn ObjectStore>,
        capacity: u64,
    ) -> object_store::Result<CapacityLimitedStore> {
        let mut usage = Usage::default();
        let mut listing = inner.list(None);
        while let Some(object) = listing.next().await {
            let object = object?;
            Ledger::record(&mut usage, &object.location, Some(object.size));
        }
        drop(listing);
        Ok(CapacityLimitedStore {
            inner,
            ledger: Arc::new(Ledger {
                capacity,
                usage: Mutex::new(usage),
            }),
        })
    }

    /// Bytes stored (not counting writes in flight).
    pub fn used_bytes(&self) -> u64 {
        self.ledger.usage().stored
    }
}

impl fmt::Debug for CapacityLimitedStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CapacityLimitedStore")
            .field("inner", &self.inner)
            .field("capacity", &self.ledger.capacity)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for CapacityLimitedStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "CapacityLimited({} bytes, {})",
            self.ledger.capacity, self.inner
        )
    }
}

/// A multipart upload whose parts reserve their bytes first.
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    ledger: Arc<Ledger>,
    location: Path,
    reserved: u64,
}

impl fmt::Debug for CountedUpload {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CountedUpload")
            .field("location", &self.location)
            .field("reserved", &self.reserved)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let bytes = data.content_length() as u64;
        match self.ledger.reserve(bytes) {
            Ok(()) => {
                self.reserved += bytes;
                self.inner.put_part(data)
            }
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let reserved = std::mem::take(&mut self.reserved);
        match self.inner.complete().await {
            Ok(result) => {
                self.ledger.commit(&self.location, reserved, reserved);
                Ok(result)
            }
            Err(error) => {
                self.ledger.release(reserved);
                Err(error)
            }
        }
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.ledger.release(std::mem::take(&mut self.reserved));
        self.inner.abort().await
    }
}

impl Drop for CountedUpload {
    /// An upload dropped without completing or aborting gives its reservation back.
    fn drop(&mut self) {
        self.ledger.release(self.reserved);
    }
}

#[async_trait]
impl ObjectStore for CapacityLimitedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> object_store::Result<PutResult> {
        let bytes = payload.content_length() as u64;
        // Rewriting an object needs only what it grows by.
        let needed = bytes.saturating_sub(self.ledger.size_of(location).unwrap_or(0));
        self.ledger.reserve(needed)?;
        match self.inner.put_opts(location, payload, options).await {
            Ok(result) => {
                self.ledger.commit(location, needed, bytes);
                Ok(result)
            }
            Err(error) => {
                self.ledger.release(needed);
                Err(error)
            }
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, options).await?;
        Ok(Box::new(CountedUpload {
            inner,
            ledger: Arc::clone(&self.ledger),
            location: location.clone(),
            reserved: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_range(&self, location: &Path, range: Range<u64>) -> object_store::Result<Bytes> {
        self.inner.get_range(location, range).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    async fn head(&self, location: &Path) -> object_store::Result<ObjectMeta> {
        self.inner.head(location).await
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        let deleted = self.inner.delete(location).await;
        if matches!(&deleted, Ok(()) | Err(object_store::Error::NotFound { .. })) {
            Ledger::record(&mut self.ledger.usage(), location, None);
        }
        deleted
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        let bytes = self.ledger.size_of(from).unwrap_or(0);
        self.ledger.reserve(bytes)?;
        match self.inner.copy(from, to).await {
            Ok(()) => {
                self.ledger.commit(to, bytes, bytes);
                Ok(())
            }
            Err(error) => {
                self.ledger.release(bytes);
                Err(error)
            }
        }
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        let bytes = self.ledger.size_of(from).unwrap_or(0);
        self.ledger.reserve(bytes)?;
        match self.inner.copy_if_not_exists(from, to).await {
            Ok(()) => {
                self.ledger.commit(to, bytes, bytes);
                Ok(())
            }
            Err(error) => {
                self.ledger.release(bytes);
                Err(error)
            }
        }
    }

    async fn rename(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.rename(from, to).await?;
        let mut usage = self.ledger.usage();
        let bytes = usage.objects.get(from).copied();
        Ledger::record(&mut usage, from, None);
        if let Some(bytes) = bytes {
            Ledger::record(&mut usage, to, Some(bytes));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn payload(bytes: usize) -> PutPayload {
        PutPayload::from(vec![7u8; bytes])
    }

    #[tokio::test]
    async fn writes_past_the_capacity_fail_and_deletes_free_space() {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        inner.put(&Path::from("old"), payload(100)).await.unwrap();
        let store = CapacityLimitedStore::new(inner, 1000).await.unwrap();
        assert_eq!(store.used_bytes(), 100);
        store.put(&Path::from("a"), payload(600)).await.unwrap();
        let full = store.put(&Path::from("b"), payload(400)).await.unwrap_err();
        assert!(full.to_string().contains("full"), "{full}");
        assert!(
            store.head(&Path::from("b")).await.is_err(),
            "nothing was written"
        );
        // Rewriting in place counts the new size only.
        store.put(&Path::from("a"), payload(500)).await.unwrap();
        assert_eq!(store.used_bytes(), 600);
        store.delete(&Path::from("a")).await.unwrap();
        store.put(&Path::from("b"), payload(400)).await.unwrap();
        assert_eq!(store.used_bytes(), 500);
    }

    #[tokio::test]
    async fn multipart_uploads_reserve_each_part_and_give_back_what_they_abort() {
        let store = CapacityLimitedStore::new(Arc::new(InMemory::new()), 1000)
            .await
            .unwrap();
        let mut upload = store.put_multipart(&Path::from("big")).await.unwrap();
        upload.put_part(payload(600)).await.unwrap();
        let refused = upload.put_part(payload(600)).await.unwrap_err();
        assert!(refused.to_string().contains("full"), "{refused}");
        upload.abort().await.unwrap();
        assert_eq!(store.used_bytes(), 0);
        let mut upload = store.put_multipart(&Path::from("big")).await.unwrap();
        upload.put_part(payload(600)).await.unwrap();
        upload.put_part(payload(400)).await.unwrap();
        upload.complete().await.unwrap();
        assert_eq!(store.used_bytes(), 1000);
        // A dropped upload gives its reservation back too.
        store.delete(&Path::from("big")).await.unwrap();
        let mut dropped = store.put_multipart(&Path::from("dropped")).await.unwrap();
        dropped.put_part(payload(900)).await.unwrap();
        drop(dropped);
        store.put(&Path::from("fits"), payload(1000)).await.unwrap();
    }
}
