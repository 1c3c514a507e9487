//! Copying a sealed content to another store (replication to another region) and verifying one in
//! place, both streaming and both re-hashing every byte against the manifest's checksum.
//!
//! # Memory bound
//! Each extent object is streamed from the source: an extent of at most [`COPY_PART_BYTES`] is
//! gathered and written with one `put`; a larger one goes out as a multipart upload in parts of
//! exactly [`COPY_PART_BYTES`] (the last one shorter), each part sent before the next is gathered.
//! A copy never holds more than one part plus one chunk of the source stream (a few KiB from a file
//! or the network), whatever the extent size.
//!
//! # Failure and idempotency
//! The destination manifest is returned only after every extent was written and the checksum of the
//! bytes read matched the source manifest's; on any error (including
//! [`BlobError::ChecksumMismatch`]) no manifest exists, so the caller records nothing, and the
//! destination objects written so far are garbage under the destination content id (remove them
//! with [`crate::delete`], or garbage collection finds them with [`crate::list_contents`]). Running
//! the copy again rewrites every extent (each object write replaces the previous one whole), so a
//! re-run after a crash gives the same result as a first run.

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayloadMut};

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

    /// Streams one extent object from the source to the destination, hashing its bytes.
    async fn copy_extent(
        &mut self,
        source_path: &Path,
        extent: &Extent,
        destination_path: &Path,
    ) -> Result<(), BlobError> {
        let mut stream = open_extent(self.source, source_path, extent).await?;
        let mut read: u64 = 0;
        if extent.length <= COPY_PART_BYTES {
            let mut payload = PutPayloadMut::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                read += chunk.len() as u64;
                check_not_longer(source_path, extent, read)?;
                self.hasher.update(&chunk);
                payload.push(chunk);
            }
            check_complete(source_path, extent, read)?;
            pace(self.pacing, extent.length).await;
            self.destination
                .put(destination_path, payload.freeze())
                .await?;
            self.advance(extent.length);
            return Ok(());
        }

        let mut upload = self.destination.put_multipart(destination_path).await?;
        let streamed: Result<(), BlobError> = async {
            let mut part = PutPayloadMut::new();
            while let Some(chunk) = stream.next().await {
                let mut chunk = chunk?;
                read += chunk.len() as u64;
                check_not_longer(source_path, extent, read)?;
                self.hasher.update(&chunk);
                // Source chunks come in whatever size the store streams (a few KiB from a file,
                // the whole object from memory): cut them (without copying) so every part but the
                // last is exactly COPY_PART_BYTES.
                while !chunk.is_empty() {
                    let room = COPY_PART_BYTES as usize - part.content_length();
                    part.push(chunk.split_to(room.min(chunk.len())));
                    if part.content_length() as u64 == COPY_PART_BYTES {
                        let full = std::mem::take(&mut part).freeze();
                        pace(self.pacing, COPY_PART_BYTES).await;
                        upload.put_part(full).await?;
                        self.advance(COPY_PART_BYTES);
                    }
                }
            }
            check_complete(source_path, extent, read)?;
            if part.content_length() > 0 {
                let last_length = part.content_length() as u64;
                pace(self.pacing, last_length).await;
                upload.put_part(part.freeze()).await?;
                self.advance(last_length);
            }
            Ok(())
        }
        .await;
        match streamed {
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
        let mut stream = open_extent(store, &path, extent).await?;
        let mut read: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            read += chunk.len() as u64;
            check_not_longer(&path, extent, read)?;
            hasher.update(&chunk);
        }
        check_complete(&path, extent, read)?;
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

/// Opens an extent object for streaming after checking its size matches the manifest.
async fn open_extent(
    store: &dyn ObjectStore,
    path: &Path,
    extent: &Extent,
) -> Result<futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>, BlobError> {
    let object = store.get(path).await?;
    if object.meta.size != extent.length {
        return Err(BlobError::LengthMismatch {
            path: path.to_string(),
            expected: extent.length,
            actual: object.meta.size,
        });
    }
    Ok(object.into_stream())
}

fn check_not_longer(path: &Path, extent: &Extent, read: u64) -> Result<(), BlobError> {
    if read > extent.length {
        return Err(BlobError::LengthMismatch {
            path: path.to_string(),
            expected: extent.length,
            actual: read,
        });
    }
    Ok(())
}

fn check_complete(path: &Path, extent: &Extent, read: u64) -> Result<(), BlobError> {
    if read != extent.length {
        return Err(BlobError::LengthMismatch {
            path: path.to_string(),
            expected: extent.length,
            actual: read,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    const MEBIBYTE: u64 = 1024 * 1024;

    /// An extent larger than sealing makes (a manifest from elsewhere) still streams in parts and
    /// reports progress every 8 MiB.
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
