//! Shared scenarios and helpers of the integration tests: every scenario runs against each backend
//! (in memory, a local directory, Azurite), so the backends are held to the same behaviour.
//!
//! Scenarios compare what the crate returns with an independent in-memory model of the content
//! (bytes plus a "written" mask) and an independent computation of the canonical checksum.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use gallery_blob::object_store::ObjectStore;
use gallery_blob::object_store::path::Path;
use gallery_blob::{
    BlobError, BlobKey, EXTENT_MAX_BYTES, Manifest, PageWrite, READ_CHUNK_BYTES, RegionStores,
};
use ring::digest::{Context, SHA256};

pub const MEBIBYTE: u64 = 1024 * 1024;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `range`.
    pub fn within(&mut self, range: Range<u64>) -> u64 {
        range.start + self.next() % (range.end - range.start)
    }

    pub fn bytes(&mut self, length: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(length + 8);
        while bytes.len() < length {
            bytes.extend_from_slice(&self.next().to_le_bytes());
        }
        bytes.truncate(length);
        bytes
    }
}

/// The expected content: the logical bytes and which of them were written.
pub struct Model {
    pub bytes: Vec<u8>,
    pub written: Vec<bool>,
}

impl Model {
    pub fn new(logical_size: u64) -> Model {
        Model {
            bytes: vec![0; logical_size as usize],
            written: vec![false; logical_size as usize],
        }
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) {
        let start = offset as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
        self.written[start..start + data.len()].fill(true);
    }

    /// The canonical extents: written runs cut at absolute multiples of EXTENT_MAX_BYTES.
    pub fn expected_extents(&self) -> Vec<(u64, u64)> {
        let mut extents = Vec::new();
        let mut run_start: Option<usize> = None;
        for index in 0..=self.written.len() {
            let written = self.written.get(index).copied().unwrap_or(false);
            let at_boundary = (index as u64).is_multiple_of(EXTENT_MAX_BYTES);
            if let Some(start) = run_start
                && (!written || at_boundary)
            {
                extents.push((start as u64, (index - start) as u64));
                run_start = None;
            }
            if written && run_start.is_none() {
                run_start = Some(index);
            }
        }
        extents
    }

    pub fn expected_checksum(&self) -> String {
        let mut context = Context::new(&SHA256);
        for (offset, length) in self.expected_extents() {
            context.update(&offset.to_be_bytes());
            context.update(&length.to_be_bytes());
            context.update(&self.bytes[offset as usize..(offset + length) as usize]);
        }
        checksum_string(context)
    }
}

pub fn checksum_string(context: Context) -> String {
    let digest = context.finish();
    let hex: String = digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Reads `range` through `read_range`, checking chunk sizes, and returns the bytes.
pub async fn read_all(
    store: &Arc<dyn ObjectStore>,
    manifest: &Manifest,
    range: Range<u64>,
) -> Result<Vec<u8>, BlobError> {
    let mut stream = Box::pin(gallery_blob::read_range(Arc::clone(store), manifest, range));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        assert!(!chunk.is_empty(), "read_range yielded an empty chunk");
        assert!(
            chunk.len() as u64 <= READ_CHUNK_BYTES,
            "chunk of {} bytes",
            chunk.len()
        );
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Copies with a progress callback and checks the progress contract: non-decreasing, at most
/// 8 MiB apart, ending at the occupied bytes.
pub async fn copy_checking_progress(
    source: &Arc<dyn ObjectStore>,
    manifest: &Manifest,
    destination: &Arc<dyn ObjectStore>,
    destination_content_id: &str,
) -> Result<Manifest, BlobError> {
    let mut reports: Vec<u64> = Vec::new();
    let result = gallery_blob::copy(
        source.as_ref(),
        manifest,
        destination.as_ref(),
        destination_content_id,
        None,
        &mut |copied| reports.push(copied),
    )
    .await;
    if result.is_ok() {
        assert!(!reports.is_empty(), "progress was never reported");
        let mut previous = 0;
        for &report in &reports {
            assert!(report >= previous, "progress went back: {reports:?}");
            assert!(
                report - previous <= 8 * MEBIBYTE,
                "progress gap: {reports:?}"
            );
            previous = report;
        }
        assert_eq!(reports.last().copied(), Some(manifest.occupied_bytes));
    }
    result
}

/// The objects under a prefix.
pub async fn objects_under(store: &Arc<dyn ObjectStore>, prefix: &Path) -> Vec<Path> {
    let mut listing = store.list(Some(prefix));
    let mut paths = Vec::new();
    while let Some(meta) = listing.next().await {
        paths.push(meta.expect("list objects").location);
    }
    paths.sort();
    paths
}

fn extent_path(content_id: &str, offset: u64) -> Path {
    BlobKey::Extent {
        content_id: content_id.to_owned(),
        offset,
    }
    .path()
}

/// Scattered, overlapping, out-of-order writes over 3 MiB, compared byte for byte with the model:
/// seal, read arbitrary ranges (holes included), copy to another region, read the copy, verify.
pub async fn scattered_writes_match_the_model(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    let eastus = stores.region("eastus").await.expect("eastus store");
    let logical_size = 3 * MEBIBYTE;
    let content_id = "c0ffee00-0000-4000-8000-000000000001";
    let mut model = Model::new(logical_size);
    let mut random = Random::new(7);
    let mut writes: Vec<PageWrite> = Vec::new();
    let mut planned: Vec<(u64, Vec<u8>)> = vec![
        // A run, a write inside it, one straddling its end, one just adjacent, zeros written.
        (100_000, random.bytes(300_000)),
        (150_000, random.bytes(10_000)),
        (390_000, random.bytes(20_000)),
        (410_000, random.bytes(5_000)),
        (2 * MEBIBYTE + 17, vec![0; 4096]),
        // Out of order: the end of the content, then the start.
        (logical_size - 512, random.bytes(512)),
        (0, random.bytes(1)),
    ];
    for _ in 0..30 {
        let length = random.within(1..600_000);
        let offset = random.within(0..logical_size - length);
        planned.push((offset, random.bytes(length as usize)));
    }
    // A later write entirely covering earlier ones.
    planned.push((120_000, random.bytes(100_000)));
    for (index, (offset, data)) in planned.into_iter().enumerate() {
        let write = 10 + index as u64;
        gallery_blob::write_page(
            westus.as_ref(),
            content_id,
            write,
            Bytes::from(data.clone()),
        )
        .await
        .expect("write page");
        model.write(offset, &data);
        writes.push(PageWrite {
            write,
            offset,
            length: data.len() as u64,
        });
    }
    // The caller's records need not be in write order.
    writes.reverse();

    let manifest = gallery_blob::seal(westus.as_ref(), content_id, logical_size, &writes)
        .await
        .expect("seal");
    let extents: Vec<(u64, u64)> = manifest
        .extents
        .iter()
        .map(|extent| (extent.offset, extent.length))
        .collect();
    assert_eq!(extents, model.expected_extents());
    assert!(
        manifest
            .extents
            .iter()
            .all(|extent| extent.length <= EXTENT_MAX_BYTES)
    );
    let written = model.written.iter().filter(|written| **written).count() as u64;
    assert_eq!(manifest.occupied_bytes, written);
    assert_eq!(manifest.checksum, model.expected_checksum());
    assert_eq!(manifest.logical_size, logical_size);
    assert_eq!(manifest.content_id, content_id);
    assert!(
        objects_under(&westus, &BlobKey::content_prefix(content_id))
            .await
            .iter()
            .all(|path| path.as_ref().contains("/extents/")),
        "page objects remain after sealing"
    );

    let mut ranges: Vec<Range<u64>> = vec![
        0..logical_size,
        0..0,
        logical_size - 1..logical_size,
        MEBIBYTE - 10..MEBIBYTE + 10,
        99_990..100_010,
        2 * MEBIBYTE..2 * MEBIBYTE + 17,
    ];
    for _ in 0..40 {
        let start = random.within(0..logical_size);
        let end = random.within(start..logical_size + 1);
        ranges.push(start..end);
    }
    for range in &ranges {
        let bytes = read_all(&westus, &manifest, range.clone())
            .await
            .expect("read range");
        assert!(
            bytes == model.bytes[range.start as usize..range.end as usize],
            "range {range:?} differs from the model"
        );
    }
    assert!(matches!(
        read_all(&westus, &manifest, 0..logical_size + 1).await,
        Err(BlobError::RangeOutOfBounds { .. })
    ));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 10..5;
    assert!(matches!(
        read_all(&westus, &manifest, reversed).await,
        Err(BlobError::RangeOutOfBounds { .. })
    ));

    let copy_id = "c0ffee00-0000-4000-8000-000000000002";
    let copied = copy_checking_progress(&westus, &manifest, &eastus, copy_id)
        .await
        .expect("copy to eastus");
    assert_eq!(copied.content_id, copy_id);
    assert_eq!(copied.extents, manifest.extents);
    assert_eq!(copied.checksum, manifest.checksum);
    gallery_blob::verify(eastus.as_ref(), &copied)
        .await
        .expect("the copy verifies");
    gallery_blob::verify(westus.as_ref(), &manifest)
        .await
        .expect("the source verifies");
    for range in ranges.iter().take(10) {
        let bytes = read_all(&eastus, &copied, range.clone())
            .await
            .expect("read copy");
        assert!(bytes == model.bytes[range.start as usize..range.end as usize]);
    }
}

/// Fills one 4 MiB page of the 64 MiB content with a pattern unique to the page.
fn page_pattern(page: u64) -> Vec<u8> {
    let mut random = Random::new(1000 + page);
    random.bytes(4 * MEBIBYTE as usize)
}

/// A 64 MiB content written as 16 pages of 4 MiB in shuffled order, sealed, copied, verified.
pub async fn sixty_four_mebibytes_in_sixteen_pages(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    let eastus = stores.region("eastus").await.expect("eastus store");
    let content_id = "big-disk";
    let logical_size = 64 * MEBIBYTE;
    let order = [5_u64, 0, 15, 3, 9, 1, 12, 7, 2, 14, 4, 11, 6, 13, 8, 10];
    let mut writes = Vec::new();
    for (write, page) in order.iter().enumerate() {
        gallery_blob::write_page(
            westus.as_ref(),
            content_id,
            write as u64,
            Bytes::from(page_pattern(*page)),
        )
        .await
        .expect("write page");
        writes.push(PageWrite {
            write: write as u64,
            offset: page * 4 * MEBIBYTE,
            length: 4 * MEBIBYTE,
        });
    }
    let manifest = gallery_blob::seal(westus.as_ref(), content_id, logical_size, &writes)
        .await
        .expect("seal");
    assert_eq!(manifest.extents.len(), 16);
    assert_eq!(manifest.occupied_bytes, logical_size);
    let mut context = Context::new(&SHA256);
    for (index, extent) in manifest.extents.iter().enumerate() {
        assert_eq!(extent.offset, index as u64 * 4 * MEBIBYTE);
        assert_eq!(extent.length, 4 * MEBIBYTE);
        context.update(&extent.offset.to_be_bytes());
        context.update(&extent.length.to_be_bytes());
        context.update(&page_pattern(index as u64));
    }
    assert_eq!(manifest.checksum, checksum_string(context));

    let copied = copy_checking_progress(&westus, &manifest, &eastus, "big-disk-copy")
        .await
        .expect("copy");
    gallery_blob::verify(eastus.as_ref(), &copied)
        .await
        .expect("the copy verifies");
    // A range across the boundary of pages 6 and 7, read from the copy.
    let range = 7 * 4 * MEBIBYTE - 1000..7 * 4 * MEBIBYTE + 1000;
    let bytes = read_all(&eastus, &copied, range).await.expect("read copy");
    assert_eq!(
        &bytes[..1000],
        &page_pattern(6)[4 * MEBIBYTE as usize - 1000..]
    );
    assert_eq!(&bytes[1000..], &page_pattern(7)[..1000]);
}

/// Seals a small two-extent content in `westus` and returns its manifest.
async fn small_sealed_content(store: &Arc<dyn ObjectStore>, content_id: &str) -> Manifest {
    let mut random = Random::new(99);
    let first = random.bytes(3000);
    let second = random.bytes(2 * MEBIBYTE as usize);
    gallery_blob::write_page(store.as_ref(), content_id, 1, Bytes::from(first))
        .await
        .expect("write page");
    gallery_blob::write_page(store.as_ref(), content_id, 2, Bytes::from(second))
        .await
        .expect("write page");
    let writes = [
        PageWrite {
            write: 1,
            offset: 512,
            length: 3000,
        },
        PageWrite {
            write: 2,
            offset: 3 * MEBIBYTE,
            length: 2 * MEBIBYTE,
        },
    ];
    gallery_blob::seal(store.as_ref(), content_id, 8 * MEBIBYTE, &writes)
        .await
        .expect("seal")
}

/// Tampering with an extent object is caught by verify and by copy; a truncated one too.
pub async fn tampering_is_detected(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    let eastus = stores.region("eastus").await.expect("eastus store");
    let manifest = small_sealed_content(&westus, "tamper-source").await;
    assert_eq!(manifest.extents.len(), 3, "{manifest:?}");
    let copied = copy_checking_progress(&westus, &manifest, &eastus, "tamper-copy")
        .await
        .expect("copy");
    gallery_blob::verify(eastus.as_ref(), &copied)
        .await
        .expect("verify before tampering");

    // Same length, one byte changed, in the destination's second extent.
    let tampered_path = extent_path("tamper-copy", copied.extents[1].offset);
    let mut bytes = eastus
        .get(&tampered_path)
        .await
        .expect("get extent")
        .bytes()
        .await
        .expect("extent bytes")
        .to_vec();
    bytes[1234] ^= 0x40;
    eastus
        .put(&tampered_path, Bytes::from(bytes).into())
        .await
        .expect("tamper");
    let verified = gallery_blob::verify(eastus.as_ref(), &copied).await;
    match verified {
        Err(BlobError::ChecksumMismatch { expected, actual }) => {
            assert_eq!(expected, copied.checksum);
            assert_ne!(actual, expected);
        }
        other => panic!("verify of a tampered content: {other:?}"),
    }
    let error = copy_checking_progress(&eastus, &copied, &westus, "tamper-copy-of-copy")
        .await
        .expect_err("copying a tampered content fails");
    assert!(
        matches!(error, BlobError::ChecksumMismatch { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());

    // A truncated extent object is a length mismatch, before any byte is copied.
    let truncated_path = extent_path("tamper-copy", copied.extents[2].offset);
    eastus
        .put(&truncated_path, Bytes::from_static(b"short").into())
        .await
        .expect("truncate");
    assert!(matches!(
        gallery_blob::verify(eastus.as_ref(), &copied).await,
        Err(BlobError::LengthMismatch { .. })
    ));
    // The untouched source still copies.
    copy_checking_progress(&westus, &manifest, &eastus, "tamper-copy")
        .await
        .expect("re-copy over the tampered destination");
    gallery_blob::verify(eastus.as_ref(), &copied)
        .await
        .expect("the re-copy repaired the destination");
}

/// Sealing again after a crash gives the same manifest: with every page present, with some pages
/// already deleted, and over a stale extent object.
pub async fn sealing_again_gives_the_same_manifest(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    let content_id = "reseal";
    let mut random = Random::new(5);
    let pages: Vec<(u64, Vec<u8>)> = vec![
        (0, random.bytes(MEBIBYTE as usize)),
        (3 * MEBIBYTE, random.bytes(2 * MEBIBYTE as usize)),
        (6 * MEBIBYTE, random.bytes(4096)),
    ];
    let writes: Vec<PageWrite> = pages
        .iter()
        .enumerate()
        .map(|(write, (offset, data))| PageWrite {
            write: write as u64,
            offset: *offset,
            length: data.len() as u64,
        })
        .collect();
    let write_pages = |which: Vec<usize>| {
        let westus = Arc::clone(&westus);
        let pages = pages.clone();
        async move {
            for index in which {
                gallery_blob::write_page(
                    westus.as_ref(),
                    content_id,
                    index as u64,
                    Bytes::from(pages[index].1.clone()),
                )
                .await
                .expect("write page");
            }
        }
    };
    // A crash in phase 1 left a stale extent object; every page is still there.
    write_pages(vec![0, 1, 2]).await;
    westus
        .put(
            &extent_path(content_id, 3 * MEBIBYTE),
            Bytes::from_static(b"stale").into(),
        )
        .await
        .expect("stale extent");
    let first = gallery_blob::seal(westus.as_ref(), content_id, 8 * MEBIBYTE, &writes)
        .await
        .expect("first seal");
    gallery_blob::verify(westus.as_ref(), &first)
        .await
        .expect("the stale extent was rewritten");

    // A crash in phase 2 deleted only some pages: page 1 is back, pages 0 and 2 are gone.
    write_pages(vec![1]).await;
    let second = gallery_blob::seal(westus.as_ref(), content_id, 8 * MEBIBYTE, &writes)
        .await
        .expect("second seal");
    assert_eq!(second, first);
    // Every page gone: the extents are taken as they are.
    let third = gallery_blob::seal(westus.as_ref(), content_id, 8 * MEBIBYTE, &writes)
        .await
        .expect("third seal");
    assert_eq!(third, first);
    assert!(
        objects_under(&westus, &BlobKey::content_prefix(content_id))
            .await
            .iter()
            .all(|path| path.as_ref().contains("/extents/"))
    );

    // A page that was never written and no extent either: nothing to seal from.
    let missing = gallery_blob::seal(
        westus.as_ref(),
        "never-written",
        MEBIBYTE,
        &[PageWrite {
            write: 0,
            offset: 0,
            length: 10,
        }],
    )
    .await;
    assert!(
        matches!(missing, Err(BlobError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Empty contents read as zeros, copy with a final progress report, and verify.
pub async fn empty_contents_are_zeros(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    let eastus = stores.region("eastus").await.expect("eastus store");
    let manifest = gallery_blob::seal(westus.as_ref(), "blank", 5 * MEBIBYTE + 3, &[])
        .await
        .expect("seal nothing");
    assert_eq!(manifest, gallery_blob::empty("blank", 5 * MEBIBYTE + 3));
    assert_eq!(
        manifest.checksum,
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let bytes = read_all(&westus, &manifest, 0..manifest.logical_size)
        .await
        .expect("read zeros");
    assert_eq!(bytes.len() as u64, 5 * MEBIBYTE + 3);
    assert!(bytes.iter().all(|byte| *byte == 0));
    let copied = copy_checking_progress(&westus, &manifest, &eastus, "blank-copy")
        .await
        .expect("copy nothing");
    gallery_blob::verify(eastus.as_ref(), &copied)
        .await
        .expect("verify nothing");
}

/// Contents are listed for garbage collection and deleted whole, twice without harm.
pub async fn delete_and_list_contents(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    assert_eq!(
        gallery_blob::list_contents(westus.as_ref())
            .await
            .expect("list an empty store"),
        Vec::<String>::new()
    );
    let sealed = small_sealed_content(&westus, "listed-sealed").await;
    gallery_blob::write_page(
        westus.as_ref(),
        "listed-unsealed",
        0,
        Bytes::from_static(b"page"),
    )
    .await
    .expect("write page");
    gallery_blob::write_page(
        westus.as_ref(),
        "listed-unsealed",
        1,
        Bytes::from_static(b"page"),
    )
    .await
    .expect("write page");
    assert_eq!(
        gallery_blob::list_contents(westus.as_ref())
            .await
            .expect("list"),
        vec!["listed-sealed".to_owned(), "listed-unsealed".to_owned()]
    );
    // Garbage collection ages contents by their newest object.
    let written = gallery_blob::last_written(westus.as_ref(), "listed-unsealed")
        .await
        .expect("last written")
        .expect("the content has objects");
    let age = chrono::Utc::now().signed_duration_since(written);
    assert!(age < chrono::Duration::minutes(5), "written {age} ago");
    assert_eq!(
        gallery_blob::delete(westus.as_ref(), "listed-sealed")
            .await
            .expect("delete sealed"),
        sealed.extents.len() as u64
    );
    assert_eq!(
        gallery_blob::delete(westus.as_ref(), "listed-sealed")
            .await
            .expect("delete again"),
        0
    );
    assert_eq!(
        gallery_blob::delete(westus.as_ref(), "listed-unsealed")
            .await
            .expect("delete unsealed"),
        2
    );
    assert_eq!(
        gallery_blob::list_contents(westus.as_ref())
            .await
            .expect("list after delete"),
        Vec::<String>::new()
    );
    assert_eq!(
        gallery_blob::last_written(westus.as_ref(), "listed-unsealed")
            .await
            .expect("last written after delete"),
        None
    );
    assert!(matches!(
        read_all(&westus, &sealed, 512..600).await,
        Err(BlobError::NotFound { .. })
    ));
    assert!(matches!(
        gallery_blob::delete(westus.as_ref(), "../escape").await,
        Err(BlobError::InvalidContentId(_))
    ));
}

/// Page writes are create-only: a second write under a number another writer took is refused and
/// the first write's bytes stay (writers sharing a store never overwrite each other's pages).
pub async fn page_writes_never_overwrite(stores: RegionStores) {
    let westus = stores.region("westus").await.expect("westus store");
    gallery_blob::write_page(westus.as_ref(), "shared", 7, Bytes::from_static(b"first"))
        .await
        .expect("the first write");
    let second =
        gallery_blob::write_page(westus.as_ref(), "shared", 7, Bytes::from_static(b"second")).await;
    assert!(
        matches!(second, Err(BlobError::AlreadyExists { .. })),
        "{second:?}"
    );
    let key = BlobKey::PageWrite {
        content_id: "shared".to_owned(),
        write: 7,
    };
    let kept = westus
        .get(&key.path())
        .await
        .expect("the page")
        .bytes()
        .await
        .expect("its bytes");
    assert_eq!(&kept[..], b"first");
}
