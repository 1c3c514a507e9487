//! The sparse-content scenarios on the in-memory and local-directory backends, plus pacing of a
//! copy in virtual time and the memory bound of copy.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use gallery_blob::object_store::path::Path as ObjectPath;
use gallery_blob::object_store::{
    self, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use gallery_blob::{BlobBackend, Pacer, PageWrite, RegionStores};

use common::MEBIBYTE;

/// A directory under the system temp dir, removed when dropped.
pub struct TempDirectory {
    path: PathBuf,
}

impl TempDirectory {
    pub fn new(label: &str) -> TempDirectory {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "gallery-blob-{label}-{}-{unique}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create the test directory");
        TempDirectory { path }
    }

    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs each scenario once per local backend, as `in_memory::<scenario>` and
/// `local_directory::<scenario>`.
macro_rules! on_each_local_backend {
    ($($scenario:ident),* $(,)?) => {
        mod in_memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $scenario() {
                    let stores = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
                    common::$scenario(stores).await;
                }
            )*
        }
        mod local_directory {
            use super::*;
            $(
                #[tokio::test]
                async fn $scenario() {
                    let directory = TempDirectory::new(stringify!($scenario));
                    let stores = RegionStores::new(BlobBackend::LocalDirectory(directory.path()))
                        .expect("local-directory backend");
                    common::$scenario(stores).await;
                    // Regions are directories under the root.
                    assert!(directory.path().join("westus").is_dir());
                }
            )*
        }
    };
}

on_each_local_backend!(
    scattered_writes_match_the_model,
    sixty_four_mebibytes_in_sixteen_pages,
    tampering_is_detected,
    sealing_again_gives_the_same_manifest,
    empty_contents_are_zeros,
    delete_and_list_contents,
    page_writes_never_overwrite,
);

#[tokio::test(start_paused = true)]
async fn a_paced_copy_takes_as_long_as_the_rate_says() {
    let stores = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
    let westus = stores.region("westus").await.expect("westus store");
    let eastus = stores.region("eastus").await.expect("eastus store");
    let mut writes = Vec::new();
    for page in 0..3_u64 {
        gallery_blob::write_page(
            westus.as_ref(),
            "paced",
            page,
            Bytes::from(vec![page as u8 + 1; 4 * MEBIBYTE as usize]),
        )
        .await
        .expect("write page");
        writes.push(PageWrite {
            write: page,
            offset: page * 4 * MEBIBYTE,
            length: 4 * MEBIBYTE,
        });
    }
    let manifest = gallery_blob::seal(westus.as_ref(), "paced", 16 * MEBIBYTE, &writes)
        .await
        .expect("seal");
    let pacer = Arc::new(Pacer::new(2 * MEBIBYTE));
    let started = tokio::time::Instant::now();
    let mut reports = Vec::new();
    gallery_blob::copy(
        westus.as_ref(),
        &manifest,
        eastus.as_ref(),
        "paced-copy",
        Some(&pacer),
        &mut |copied| reports.push((copied, started.elapsed())),
    )
    .await
    .expect("paced copy");
    let elapsed = started.elapsed();
    // 12 MiB at 2 MiB/s.
    assert!(
        elapsed >= Duration::from_millis(5_990) && elapsed <= Duration::from_millis(6_010),
        "took {elapsed:?}"
    );
    // A report after every 1 MiB part, each as the pacer lets it pass (half a second per MiB), and
    // one more at the end of each extent.
    let mut expected = Vec::new();
    for mebibyte in 1..=12_u64 {
        expected.push((mebibyte * MEBIBYTE, Duration::from_millis(500 * mebibyte)));
        if mebibyte % 4 == 0 {
            expected.push((mebibyte * MEBIBYTE, Duration::from_millis(500 * mebibyte)));
        }
    }
    let rounded: Vec<(u64, Duration)> = reports
        .iter()
        .map(|(bytes, at)| {
            (
                *bytes,
                Duration::from_millis((at.as_millis() as u64 + 5) / 10 * 10),
            )
        })
        .collect();
    assert_eq!(rounded, expected, "{reports:?}");
}

#[tokio::test]
async fn oversized_pages_and_bad_ids_are_refused() {
    let stores = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
    let westus = stores.region("westus").await.expect("westus store");
    let oversized = Bytes::from(vec![0; 4 * MEBIBYTE as usize + 1]);
    assert!(matches!(
        gallery_blob::write_page(westus.as_ref(), "disk", 0, oversized).await,
        Err(gallery_blob::BlobError::InvalidArgument(_))
    ));
    for bad in ["a/b", "..", ""] {
        assert!(matches!(
            gallery_blob::write_page(westus.as_ref(), bad, 0, Bytes::from_static(b"x")).await,
            Err(gallery_blob::BlobError::InvalidContentId(_))
        ));
    }
    let manifest = gallery_blob::empty("disk", 10);
    assert!(matches!(
        gallery_blob::copy(
            westus.as_ref(),
            &manifest,
            westus.as_ref(),
            "disk",
            None,
            &mut |_| {}
        )
        .await,
        Err(gallery_blob::BlobError::InvalidArgument(_))
    ));
}

/// Records the largest payload handed to the store at once, to check copy's memory bound.
#[derive(Debug)]
struct RecordingStore {
    inner: gallery_blob::object_store::memory::InMemory,
    largest_payload: Arc<AtomicUsize>,
    parts: Arc<AtomicUsize>,
}

impl std::fmt::Display for RecordingStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "RecordingStore({})", self.inner)
    }
}

#[derive(Debug)]
struct RecordingUpload {
    inner: Box<dyn MultipartUpload>,
    largest_payload: Arc<AtomicUsize>,
    parts: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl MultipartUpload for RecordingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.largest_payload
            .fetch_max(data.content_length(), Ordering::Relaxed);
        self.parts.fetch_add(1, Ordering::Relaxed);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[async_trait::async_trait]
impl ObjectStore for RecordingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        options: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.largest_payload
            .fetch_max(payload.content_length(), Ordering::Relaxed);
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        options: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, options).await?;
        Ok(Box::new(RecordingUpload {
            inner,
            largest_payload: Arc::clone(&self.largest_payload),
            parts: Arc::clone(&self.parts),
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn delete(&self, location: &ObjectPath) -> object_store::Result<()> {
        self.inner.delete(location).await
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
    ) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

/// Copy hands the destination at most COPY_PART_BYTES at a time, whatever the extent size and
/// whatever chunk size the source streams in (a file streams small chunks, memory whole objects).
#[tokio::test]
async fn copy_writes_at_most_one_part_at_a_time() {
    let directory = TempDirectory::new("copy-bounds");
    let local = RegionStores::new(BlobBackend::LocalDirectory(directory.path()))
        .expect("local-directory backend");
    let in_memory = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
    for source in [
        local.region("westus").await.expect("local store"),
        in_memory.region("westus").await.expect("memory store"),
    ] {
        let mut writes = Vec::new();
        for page in 0..3_u64 {
            gallery_blob::write_page(
                source.as_ref(),
                "bounded",
                page,
                Bytes::from(vec![page as u8 + 7; 4 * MEBIBYTE as usize]),
            )
            .await
            .expect("write page");
            writes.push(PageWrite {
                write: page,
                offset: page * 4 * MEBIBYTE,
                length: 4 * MEBIBYTE,
            });
        }
        // And a small extent, written with one put.
        gallery_blob::write_page(source.as_ref(), "bounded", 3, Bytes::from(vec![9; 1000]))
            .await
            .expect("write page");
        writes.push(PageWrite {
            write: 3,
            offset: 14 * MEBIBYTE,
            length: 1000,
        });
        let manifest = gallery_blob::seal(source.as_ref(), "bounded", 16 * MEBIBYTE, &writes)
            .await
            .expect("seal");
        let destination = RecordingStore {
            inner: gallery_blob::object_store::memory::InMemory::new(),
            largest_payload: Arc::new(AtomicUsize::new(0)),
            parts: Arc::new(AtomicUsize::new(0)),
        };
        let copied = gallery_blob::copy(
            source.as_ref(),
            &manifest,
            &destination,
            "bounded-copy",
            None,
            &mut |_| {},
        )
        .await
        .expect("copy");
        gallery_blob::verify(&destination, &copied)
            .await
            .expect("verify the copy");
        assert_eq!(
            destination.largest_payload.load(Ordering::Relaxed) as u64,
            gallery_blob::COPY_PART_BYTES
        );
        // Three 4 MiB extents in 1 MiB parts.
        assert_eq!(destination.parts.load(Ordering::Relaxed), 12);
    }
}
