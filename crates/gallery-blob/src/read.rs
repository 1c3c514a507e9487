//! Streaming reads of a sealed content: any byte range of the logical content, holes included.
//!
//! Reads never hold more than [`READ_CHUNK_BYTES`] at a time: written bytes come from ranged reads of
//! the extent objects, and holes are served from one static block of zeros (no allocation), so
//! reading a terabyte-sized empty disk costs nothing but time. The stream owns everything it needs
//! (the store and the few extents overlapping the range), so it can outlive the manifest and be
//! handed to an HTTP response body.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use object_store::ObjectStore;

use crate::content::{Extent, Manifest, READ_CHUNK_BYTES, check_manifest};
use crate::error::BlobError;
use crate::key::BlobKey;

/// The zeros every hole chunk is cut from.
static ZEROS: [u8; READ_CHUNK_BYTES as usize] = [0; READ_CHUNK_BYTES as usize];

/// Where a read stands between two chunks.
struct ReadState {
    store: Arc<dyn ObjectStore>,
    content_id: String,
    /// The extents overlapping the requested range, in order.
    extents: Vec<Extent>,
    /// Index of the first extent that may still hold bytes at or after `position`.
    next_extent: usize,
    position: u64,
    end: u64,
    /// An error found before reading, reported as the stream's first item.
    refused: Option<BlobError>,
}

/// Streams exactly `range` of the content's logical bytes, in order, in chunks of at most
/// [`READ_CHUNK_BYTES`]: extent bytes where something was written, zeros elsewhere. A range past the
/// logical size (or reversed) yields a single [`BlobError::RangeOutOfBounds`].
pub fn read_range(
    store: Arc<dyn ObjectStore>,
    manifest: &Manifest,
    range: Range<u64>,
) -> impl Stream<Item = Result<Bytes, BlobError>> + Send + use<> {
    let refused = if range.start > range.end || range.end > manifest.logical_size {
        Some(BlobError::RangeOutOfBounds {
            start: range.start,
            end: range.end,
            logical_size: manifest.logical_size,
        })
    } else {
        check_manifest(manifest).err()
    };
    let extents = match refused {
        Some(_) => Vec::new(),
        None => overlapping_extents(&manifest.extents, &range).to_vec(),
    };
    let state = ReadState {
        store,
        content_id: manifest.content_id.clone(),
        extents,
        next_extent: 0,
        position: range.start,
        end: range.end,
        refused,
    };
    futures_util::stream::try_unfold(state, next_chunk)
}

/// The extents of a (sorted, coherent) manifest that overlap `range`.
fn overlapping_extents<'extents>(
    extents: &'extents [Extent],
    range: &Range<u64>,
) -> &'extents [Extent] {
    if range.is_empty() {
        return &[];
    }
    let first = extents.partition_point(|extent| extent.end() <= range.start);
    let last = extents.partition_point(|extent| extent.offset < range.end);
    extents.get(first..last.max(first)).unwrap_or(&[])
}

async fn next_chunk(mut state: ReadState) -> Result<Option<(Bytes, ReadState)>, BlobError> {
    if let Some(error) = state.refused.take() {
        return Err(error);
    }
    if state.position >= state.end {
        return Ok(None);
    }
    while state
        .extents
        .get(state.next_extent)
        .is_some_and(|extent| extent.end() <= state.position)
    {
        state.next_extent += 1;
    }
    let chunk_limit = state
        .end
        .min(state.position.saturating_add(READ_CHUNK_BYTES));
    let chunk = match state.extents.get(state.next_extent) {
        Some(extent) if extent.offset <= state.position => {
            let chunk_end = chunk_limit.min(extent.end());
            let path = BlobKey::Extent {
                content_id: state.content_id.clone(),
                offset: extent.offset,
            }
            .path();
            let wanted = (state.position - extent.offset)..(chunk_end - extent.offset);
            let bytes = state.store.get_range(&path, wanted.clone()).await?;
            if bytes.len() as u64 != wanted.end - wanted.start {
                return Err(BlobError::LengthMismatch {
                    path: path.to_string(),
                    expected: wanted.end - wanted.start,
                    actual: bytes.len() as u64,
                });
            }
            bytes
        }
        next => {
            let hole_end = next.map_or(chunk_limit, |extent| chunk_limit.min(extent.offset));
            Bytes::from_static(&ZEROS[..(hole_end - state.position) as usize])
        }
    };
    state.position += chunk.len() as u64;
    Ok(Some((chunk, state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_overlapping_extents_are_kept() {
        let extents = vec![
            Extent {
                offset: 0,
                length: 10,
            },
            Extent {
                offset: 20,
                length: 10,
            },
            Extent {
                offset: 40,
                length: 10,
            },
        ];
        assert_eq!(overlapping_extents(&extents, &(10..20)), &[] as &[Extent]);
        assert_eq!(overlapping_extents(&extents, &(9..21)), &extents[0..2]);
        assert_eq!(overlapping_extents(&extents, &(25..26)), &extents[1..2]);
        assert_eq!(overlapping_extents(&extents, &(0..100)), &extents[..]);
        assert_eq!(overlapping_extents(&extents, &(5..5)), &[] as &[Extent]);
    }
}
