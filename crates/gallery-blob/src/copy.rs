//! Copying a sealed content to another store (replication to another region) and verifying one in
//! place, both streaming and both re-hashing every byte against the manifest's checksum.
//!
//! # Memory bound
//! Each extent object is read from the source in ranged parts of [`COPY_PART_BYTES`]: an extent of
//! at most one part is written with one `put`; a larger one goes out as a multipart upload, part by
//! part, the next part being read while the previous one is written. A copy never holds more than
//! two parts, whatever the extent size. (Reading whole objects as streams instead costs a task
//! hand-off per few-KiB chunk on local disk, which made copies several times slower.)
//!
//! # Failure and idempotency
//! The destination manifest is returned only after every extent was written and the checksum of the
//! bytes read matched the source manifest's; on any error (including
//! [`BlobError::ChecksumMismatch`]) no manifest exists, so the caller records nothing, and the
//! destination objects written so far are garbage under the destination content id (remove them
//! with [`crate::delete`], or garbage collection finds them with [`crate::list_contents`]). Running
//! the copy again rewrites every extent (each object write replaces the previous one whole), so a
//! re-run after a crash gives the same result as a first run.
//!
//! # Stopping
//! [`copy_until`] checks a stop signal before every part; once it says stop, the copy aborts its
//! upload (a multipart upload's staging object is removed) and answers [`BlobError::Stopped`]
//! after the writes it began have ended, so nothing lands after it returns. Dropping a copy
//! instead may leave a write on a blocking thread and a staging object behind.

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;

use crate::checksum::ContentHasher;
use crate::content::{Extent, Manifest, check_manifest};
use crate::error::BlobError;
use crate::key::{BlobKey, validate_content_id};
use crate::pacer::Pacer;

/// Size of the parts a large extent is uploaded in, and the largest extent written with one `put`.
pub const COPY_PART_BYTES: u64 = 1024 * 1024;
/// Longest stretch of copied bytes without a progress report: every part, so a client polling a
/// paced copy sees its progress climb even within one extent (reporting is a counter update).
pub const PROGRESS_INTERVAL_BYTES: u64 = COPY_PART_BYTES;

/// Waits for the pacer (if any) before `bytes` are sent. (A free function: holding `&CopyRun`
/// across the wait would make the copy future require a `Sync` progress callback.)
async fn pace(pacing: Option<&Pacer>, bytes: u64) {
    if let Some(pacer) = pacing {
        pacer.pace(bytes).await;
    }
}

/// The state of one copy: where bytes go, the running checksum, pacing and progress reporting.
struct CopyRun<'run> {
    source: &'run dyn ObjectStore,
    destination: &'run dyn ObjectStore,
    pacing: Option<&'run Pacer>,
    hasher: ContentHasher,
    progress: &'run mut (dyn FnMut(u64) + Send),
    stop: &'run (dyn Fn() -> bool + Sync),
    copied: u64,
    reported: u64,
}

impl CopyRun<'_> {
    /// Counts bytes handed to the destination; reports when a whole interval went unreported.
    fn advance(&mut self, bytes: u64) {
        self.copied += bytes;
        if self.copied - self.reported >= PROGRESS_INTERVAL_BYTES {
            self.report();
        }
    }

    /// Reports the bytes copied so far (an extent finished, or the copy did).
    fn report(&mut self) {
        (self.progress)(self.copied);
        self.reported = self.copied;
    }

    /// Copies one extent object from the source to the destination in parts, hashing its bytes.
    /// While a part is written the next one is read, so reading and writing overlap.
    async fn copy_extent(
        &mut self,
        source_path: &Path,
        extent: &Extent,
        destination_path: &Path,
    ) -> Result<(), BlobError> {
        let mut parts = ExtentParts::open(self.source, source_path, extent).await?;
        if extent.length <= COPY_PART_BYTES {
            let payload = parts.next_part().await?.unwrap_or_default();
            self.hasher.update(&payload);
            pace(self.pacing, extent.length).await;
            if (self.stop)() {
                return Err(BlobError::Stopped);
            }
            self.destination
                .put(destination_path, payload.into())
                .await?;
            self.advance(extent.length);
            return Ok(());
        }

        let mut upload = self.destination.put_multipart(destination_path).await?;
        let copied: Result<(), BlobError> = async {
            let mut current = parts.next_part().await?;
            while let Some(part) = current {
                let length = part.len() as u64;
                pace(self.pacing, length).await;
                if (self.stop)() {
                    return Err(BlobError::Stopped);
                }
                // The write and the next read start first (stores do their I/O on blocking
                // threads), then this part is hashed while they run.
                let hasher = &mut self.hasher;
                let (written, next, ()) = tokio::join!(
                    upload.put_part(part.clone().into()),
                    parts.next_part(),
                    async { hasher.update(&part) },
                );
                written?;
                self.advance(length);
                current = next?;
            }
            Ok(())
        }
        .await;
        match copied {
            Ok(()) => {
                upload.complete().await?;
                Ok(())
            }
            Err(error) => {
                if let Err(abort_error) = upload.abort().await {
                    tracing::warn!(
                        path = %destination_path,
                        error = %abort_error,
                        "could not abort a failed upload"
                    );
                }
                Err(error)
            }
        }
    }
}

/// Copies every extent of `manifest` from `source` to `destination` under `destination_content_id`
/// and returns the destination's manifest (same extents and checksum, the new content id).
///
/// `pacing`, when given, limits the throughput (shared by every copy using the same pacer).
/// `progress` receives the number of bytes written to the destination so far: after every extent
/// (at most [`crate::EXTENT_MAX_BYTES`] apart for sealed contents), every [`PROGRESS_INTERVAL_BYTES`]
/// inside larger extents, and at the end, ending at `occupied_bytes`; values never decrease.
pub async fn copy(
    source: &dyn ObjectStore,
    manifest: &Manifest,
    destination: &dyn ObjectStore,
    destination_content_id: &str,
    pacing: Option<&Pacer>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Manifest, BlobError> {
    copy_until(
        source,
        manifest,
        destination,
        destination_content_id,
        pacing,
        progress,
        &|| false,
    )
    .await
}

/// [`copy`], stopping with [`BlobError::Stopped`] once `stop` answers `true` (checked before every
/// part; see the module documentation).
pub async fn copy_until(
    source: &dyn ObjectStore,
    manifest: &Manifest,
    destination: &dyn ObjectStore,
    destination_content_id: &str,
    pacing: Option<&Pacer>,
    progress: &mut (dyn FnMut(u64) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Manifest, BlobError> {
    check_manifest(manifest)?;
    validate_content_id(destination_content_id)?;
    let same_store = std::ptr::addr_eq(
        source as *const dyn ObjectStore,
        destination as *const dyn ObjectStore,
    );
    if same_store && destination_content_id == manifest.content_id {
        return Err(BlobError::InvalidArgument(format!(
            "cannot copy content {} onto itself",
            manifest.content_id
        )));
    }
    tracing::debug!(
        source_content_id = manifest.content_id,
        destination_content_id,
        bytes = manifest.occupied_bytes,
        "copying content"
    );
    let mut run = CopyRun {
        source,
        destination,
        pacing,
        hasher: ContentHasher::new(),
        progress,
        stop,
        copied: 0,
        reported: 0,
    };
    for extent in &manifest.extents {
        let source_path = extent_path(&manifest.content_id, extent);
        let destination_path = extent_path(destination_content_id, extent);
        run.hasher.begin_extent(extent.offset, extent.length);
        run.copy_extent(&source_path, extent, &destination_path)
            .await?;
        run.report();
    }
    if manifest.extents.is_empty() {
        run.report();
    }
    let actual = run.hasher.finish();
    if actual != manifest.checksum {
        return Err(BlobError::ChecksumMismatch {
            expected: manifest.checksum.clone(),
            actual,
        });
    }
    Ok(Manifest {
        content_id: destination_content_id.to_owned(),
        ..manifest.clone()
    })
}

/// Re-reads every extent of the content and checks lengths and checksum against the manifest.
pub async fn verify(store: &dyn ObjectStore, manifest: &Manifest) -> Result<(), BlobError> {
    check_manifest(manifest)?;
    let mut hasher = ContentHasher::new();
    for extent in &manifest.extents {
        let path = extent_path(&manifest.content_id, extent);
        hasher.begin_extent(extent.offset, extent.length);
        let mut parts = ExtentParts::open(store, &path, extent).await?;
        while let Some(part) = parts.next_part().await? {
            hasher.update(&part);
        }
    }
    let actual = hasher.finish();
    if actual != manifest.checksum {
        return Err(BlobError::ChecksumMismatch {
            expected: manifest.checksum.clone(),
            actual,
        });
    }
    Ok(())
}

fn extent_path(content_id: &str, extent: &Extent) -> Path {
    BlobKey::Extent {
        content_id: content_id.to_owned(),
        offset: extent.offset,
    }
    .path()
}

/// An extent object read in ranged parts of [`COPY_PART_BYTES`] (one read a part: stores stream
/// whole objects in small chunks, a few KiB each from a file, which costs a task hand-off per
/// chunk), after checking its size matches the manifest.
struct ExtentParts<'store> {
    store: &'store dyn ObjectStore,
    path: &'store Path,
    length: u64,
    next: u64,
}

impl<'store> ExtentParts<'store> {
    async fn open(
        store: &'store dyn ObjectStore,
        path: &'store Path,
        extent: &Extent,
    ) -> Result<ExtentParts<'store>, BlobError> {
        let meta = store.head(path).await?;
        if meta.size != extent.length {
            return Err(BlobError::LengthMismatch {
                path: path.to_string(),
                expected: extent.length,
                actual: meta.size,
            });
        }
        Ok(ExtentParts {
            store,
            path,
            length: extent.length,
            next: 0,
        })
    }

    /// The next part, or `None` after the last.
    async fn next_part(&mut self) -> Result<Option<Bytes>, BlobError> {
        if self.next >= self.length {
            return Ok(None);
        }
        let end = self.length.min(self.next + COPY_PART_BYTES);
        let part = self.store.get_range(self.path, self.next..end).await?;
        if part.len() as u64 != end - self.next {
            return Err(BlobError::LengthMismatch {
                path: self.path.to_string(),
                expected: self.length,
                actual: self.next + part.len() as u64,
            });
        }
        self.next = end;
        Ok(Some(part))
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    const MEBIBYTE: u64 = 1024 * 1024;

    /// An extent larger than sealing makes (a manifest from elsewhere) still streams in parts and
    /// reports progress after every part.
    #[tokio::test]
    async fn a_large_extent_reports_progress_inside_the_extent() {
        let source = InMemory::new();
        let destination = InMemory::new();
        let length = 20 * MEBIBYTE;
        let bytes: Vec<u8> = (0..length).map(|index| (index % 251) as u8).collect();
        let mut hasher = ContentHasher::new();
        hasher.begin_extent(0, length);
        hasher.update(&bytes);
        let manifest = Manifest {
            content_id: "large".to_owned(),
            logical_size: length,
            extents: vec![Extent { offset: 0, length }],
            occupied_bytes: length,
            checksum: hasher.finish(),
        };
        source
            .put(
                &extent_path("large", &manifest.extents[0]),
                Bytes::from(bytes).into(),
            )
            .await
            .expect("put the extent");
        let mut reports = Vec::new();
        let copied = copy(
            &source,
            &manifest,
            &destination,
            "large-copy",
            None,
            &mut |copied| reports.push(copied),
        )
        .await
        .expect("copy");
        // Every part, then the end of the extent (the same count again).
        let mut expected: Vec<u64> = (1..=20).map(|part| part * MEBIBYTE).collect();
        expected.push(20 * MEBIBYTE);
        assert_eq!(reports, expected);
        verify(&destination, &copied).await.expect("verify");
    }

    #[test]
    fn operations_can_run_on_spawned_tasks() {
        fn assert_send<T: Send>(_: &T) {}
        let store = InMemory::new();
        let manifest = crate::empty("content", 0);
        let mut progress = |_| {};
        assert_send(&copy(
            &store,
            &manifest,
            &store,
            "other",
            None,
            &mut progress,
        ));
        assert_send(&verify(&store, &manifest));
        assert_send(&crate::seal(&store, "content", 0, &[]));
        assert_send(&crate::delete(&store, "content"));
        assert_send(&crate::list_contents(&store));
        assert_send(&crate::write_page(&store, "content", 0, Bytes::new()));
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::RegionStores>();
        assert_send_sync::<Pacer>();
        assert_send_sync::<BlobError>();
    }
}
