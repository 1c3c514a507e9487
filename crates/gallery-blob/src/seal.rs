//! Sealing: turning a content's Put Page payloads into canonical extents and a [`Manifest`].
//!
//! # Canonical extents
//! The written ranges of all page writes are united, and the union is cut into extents at absolute
//! multiples of [`EXTENT_MAX_BYTES`] (and wherever a hole separates written runs). The layout is
//! therefore a function of *which bytes were written*, not of how (page sizes, order, overlaps), and
//! so is the checksum (see the `checksum` module). Where writes overlap, the later write (higher
//! `write` number) wins.
//!
//! # Memory bound
//! Extents are built one at a time: an extent buffer (at most [`EXTENT_MAX_BYTES`]) filled by ranged
//! reads of only the parts of the page objects that win inside it, one read at a time (each at most
//! one page, [`PAGE_MAX_BYTES`]). Bookkeeping is proportional to the number of writes.
//!
//! # Idempotency (crash and re-run)
//! Sealing runs in two phases: (1) write every extent object (whole-object puts, which are atomic in
//! every backend: a reader sees the old object or the new one, never a torn one), then (2) delete
//! the page objects. A page object is therefore missing only if an earlier run finished phase 1,
//! i.e. every extent object already holds its final bytes. A re-run with the same writes rebuilds
//! each extent from its pages when they are all present (rewriting the same bytes) and otherwise
//! takes the existing extent object as it is, checking its length; the checksum is computed from
//! the bytes either way, so the re-run returns the same manifest. Deleting pages that are already
//! gone is not an error. This relies on the caller passing the same writes again and on a content
//! being sealed once (its page objects are gone afterwards; new bytes make a new content).

use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::ObjectStore;

use crate::checksum::ContentHasher;
use crate::content::{
    EXTENT_MAX_BYTES, Extent, Manifest, PAGE_MAX_BYTES, PageWrite, delete_prefix,
};
use crate::error::BlobError;
use crate::key::{BlobKey, validate_content_id};

/// Turns the content's page writes into canonical extents (writing one object per extent), computes
/// the checksum, deletes the page objects and returns the manifest. `writes` are the Put Page calls
/// the caller recorded (in any order: the `write` number orders them); writes of no bytes are
/// ignored.
pub async fn seal(
    store: &dyn ObjectStore,
    content_id: &str,
    logical_size: u64,
    writes: &[PageWrite],
) -> Result<Manifest, BlobError> {
    validate_content_id(content_id)?;
    let ordered = order_writes(writes, logical_size)?;
    let winners = paint(&ordered);
    let planned = plan_extents(&winners);
    tracing::debug!(
        content_id,
        writes = ordered.len(),
        extents = planned.len(),
        "sealing content"
    );

    let mut hasher = ContentHasher::new();
    let mut extents = Vec::with_capacity(planned.len());
    let mut occupied_bytes: u64 = 0;
    for plan in &planned {
        let extent_key = BlobKey::Extent {
            content_id: content_id.to_owned(),
            offset: plan.extent.offset,
        };
        let bytes = match assemble_from_pages(store, content_id, plan, &ordered).await? {
            Some(bytes) => {
                store.put(&extent_key.path(), bytes.clone().into()).await?;
                bytes
            }
            // A page is gone: an earlier run completed phase 1, the extent object is final.
            None => read_sealed_extent(store, &extent_key, &plan.extent).await?,
        };
        hasher.begin_extent(plan.extent.offset, plan.extent.length);
        hasher.update(&bytes);
        occupied_bytes += plan.extent.length;
        extents.push(plan.extent.clone());
    }

    // Phase 2: every extent object is final; the page payloads (and any orphan payload the caller
    // never recorded) can go.
    delete_prefix(store, &BlobKey::pages_prefix(content_id)).await?;

    Ok(Manifest {
        content_id: content_id.to_owned(),
        logical_size,
        extents,
        occupied_bytes,
        checksum: hasher.finish(),
    })
}

/// The writes with bytes, ordered by write number, after checking that each fits in a page and in
/// the logical size and that no write number repeats (each names one payload object).
fn order_writes(writes: &[PageWrite], logical_size: u64) -> Result<Vec<PageWrite>, BlobError> {
    let mut ordered: Vec<PageWrite> = Vec::with_capacity(writes.len());
    for write in writes {
        if write.length > PAGE_MAX_BYTES {
            return Err(BlobError::InvalidArgument(format!(
                "page write {} holds {} bytes, more than the {PAGE_MAX_BYTES} a page may hold",
                write.write, write.length
            )));
        }
        let end = write.offset.checked_add(write.length);
        if end.is_none_or(|end| end > logical_size) {
            return Err(BlobError::RangeOutOfBounds {
                start: write.offset,
                end: end.unwrap_or(u64::MAX),
                logical_size,
            });
        }
        ordered.push(write.clone());
    }
    ordered.sort_by_key(|write| write.write);
    if let Some(pair) = ordered
        .windows(2)
        .find(|pair| pair[0].write == pair[1].write)
    {
        return Err(BlobError::InvalidArgument(format!(
            "write number {} appears more than once",
            pair[0].write
        )));
    }
    ordered.retain(|write| write.length > 0);
    Ok(ordered)
}

/// A maximal range of the logical content whose bytes come from one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Winner {
    end: u64,
    /// Index into the ordered writes.
    write_index: usize,
}

/// Paints the writes in order onto the logical range, later over earlier: the result maps each
/// range start to the write whose bytes are there. Ranges are disjoint; unwritten bytes are absent.
fn paint(ordered: &[PageWrite]) -> BTreeMap<u64, Winner> {
    let mut winners: BTreeMap<u64, Winner> = BTreeMap::new();
    for (write_index, write) in ordered.iter().enumerate() {
        let start = write.offset;
        let end = write.offset + write.length;
        // Ranges are disjoint and sorted, so their ends are sorted too: walking back from the last
        // range starting before `end`, the overlap ends at the first range ending at or before
        // `start`.
        let overlapping: Vec<(u64, Winner)> = winners
            .range(..end)
            .rev()
            .take_while(|(_, winner)| winner.end > start)
            .map(|(range_start, winner)| (*range_start, *winner))
            .collect();
        for (range_start, winner) in overlapping {
            winners.remove(&range_start);
            if range_start < start {
                winners.insert(
                    range_start,
                    Winner {
                        end: start,
                        write_index: winner.write_index,
                    },
                );
            }
            if winner.end > end {
                winners.insert(
                    end,
                    Winner {
                        end: winner.end,
                        write_index: winner.write_index,
                    },
                );
            }
        }
        winners.insert(start, Winner { end, write_index });
    }
    winners
}

/// Where one piece of an extent's bytes comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    write_index: usize,
    /// Offset of the piece inside the extent.
    extent_offset: u64,
    length: u64,
}

/// One extent to build and the pieces of page payloads that make it up.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PlannedExtent {
    extent: Extent,
    segments: Vec<Segment>,
}

/// Cuts the painted ranges into canonical extents: adjacent ranges join, extents never cross a
/// multiple of [`EXTENT_MAX_BYTES`].
fn plan_extents(winners: &BTreeMap<u64, Winner>) -> Vec<PlannedExtent> {
    let mut planned: Vec<PlannedExtent> = Vec::new();
    for (&range_start, winner) in winners {
        let mut position = range_start;
        while position < winner.end {
            let next_boundary = (position / EXTENT_MAX_BYTES)
                .saturating_add(1)
                .saturating_mul(EXTENT_MAX_BYTES);
            let piece_end = winner.end.min(next_boundary);
            let continues_last = !position.is_multiple_of(EXTENT_MAX_BYTES)
                && planned
                    .last()
                    .is_some_and(|last| last.extent.end() == position);
            if !continues_last {
                planned.push(PlannedExtent {
                    extent: Extent {
                        offset: position,
                        length: 0,
                    },
                    segments: Vec::new(),
                });
            }
            if let Some(current) = planned.last_mut() {
                current.segments.push(Segment {
                    write_index: winner.write_index,
                    extent_offset: position - current.extent.offset,
                    length: piece_end - position,
                });
                current.extent.length += piece_end - position;
            }
            position = piece_end;
        }
    }
    planned
}

/// Builds an extent's bytes from the page payloads, or `None` when one of them is gone (an earlier
/// run already wrote the extent and started deleting pages).
async fn assemble_from_pages(
    store: &dyn ObjectStore,
    content_id: &str,
    plan: &PlannedExtent,
    ordered: &[PageWrite],
) -> Result<Option<Bytes>, BlobError> {
    let length = usize::try_from(plan.extent.length)
        .map_err(|_| BlobError::InvalidArgument("extent larger than memory".to_owned()))?;
    let mut buffer = vec![0_u8; length];
    for segment in &plan.segments {
        let Some(write) = ordered.get(segment.write_index) else {
            return Err(BlobError::InvalidArgument(
                "internal: segment names no write".to_owned(),
            ));
        };
        let logical_start = plan.extent.offset + segment.extent_offset;
        let page_start = logical_start - write.offset;
        let page_key = BlobKey::PageWrite {
            content_id: content_id.to_owned(),
            write: write.write,
        };
        let page_path = page_key.path();
        let bytes = match store
            .get_range(&page_path, page_start..page_start + segment.length)
            .await
        {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        if bytes.len() as u64 != segment.length {
            return Err(BlobError::LengthMismatch {
                path: page_path.to_string(),
                expected: segment.length,
                actual: bytes.len() as u64,
            });
        }
        let from = segment.extent_offset as usize;
        buffer[from..from + bytes.len()].copy_from_slice(&bytes);
    }
    Ok(Some(Bytes::from(buffer)))
}

/// Reads an extent object written by an earlier run, checking it holds the planned length.
async fn read_sealed_extent(
    store: &dyn ObjectStore,
    extent_key: &BlobKey,
    extent: &Extent,
) -> Result<Bytes, BlobError> {
    let path = extent_key.path();
    let bytes = store.get(&path).await?.bytes().await?;
    if bytes.len() as u64 != extent.length {
        return Err(BlobError::LengthMismatch {
            path: path.to_string(),
            expected: extent.length,
            actual: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(write: u64, offset: u64, length: u64) -> PageWrite {
        PageWrite {
            write,
            offset,
            length,
        }
    }

    #[test]
    fn later_writes_win_where_they_overlap() {
        let ordered = vec![write(1, 0, 100), write(2, 50, 100), write(3, 10, 20)];
        let winners: Vec<(u64, u64, usize)> = paint(&ordered)
            .into_iter()
            .map(|(start, winner)| (start, winner.end, winner.write_index))
            .collect();
        assert_eq!(
            winners,
            vec![(0, 10, 0), (10, 30, 2), (30, 50, 0), (50, 150, 1)]
        );
    }

    #[test]
    fn a_write_inside_another_splits_it() {
        let ordered = vec![write(1, 0, 300), write(2, 100, 100)];
        let winners: Vec<(u64, u64, usize)> = paint(&ordered)
            .into_iter()
            .map(|(start, winner)| (start, winner.end, winner.write_index))
            .collect();
        assert_eq!(winners, vec![(0, 100, 0), (100, 200, 1), (200, 300, 0)]);
    }

    #[test]
    fn extents_join_adjacent_runs_and_cut_at_aligned_boundaries() {
        let mebibyte = 1024 * 1024;
        // Two adjacent 3 MiB writes starting at 1 MiB: the run 1..7 MiB is cut at 4 MiB.
        let ordered = vec![
            write(1, mebibyte, 3 * mebibyte),
            write(2, 4 * mebibyte, 3 * mebibyte),
        ];
        let planned = plan_extents(&paint(&ordered));
        let extents: Vec<Extent> = planned.iter().map(|plan| plan.extent.clone()).collect();
        assert_eq!(
            extents,
            vec![
                Extent {
                    offset: mebibyte,
                    length: 3 * mebibyte
                },
                Extent {
                    offset: 4 * mebibyte,
                    length: 3 * mebibyte
                },
            ]
        );
        // A 4 MiB write straddling a boundary becomes two extents, both reading the same page.
        let ordered = vec![
            write(1, 2 * mebibyte, 4 * mebibyte),
            write(2, 9 * mebibyte, 10),
        ];
        let planned = plan_extents(&paint(&ordered));
        let extents: Vec<(u64, u64)> = planned
            .iter()
            .map(|plan| (plan.extent.offset, plan.extent.length))
            .collect();
        assert_eq!(
            extents,
            vec![
                (2 * mebibyte, 2 * mebibyte),
                (4 * mebibyte, 2 * mebibyte),
                (9 * mebibyte, 10)
            ]
        );
        assert_eq!(planned[1].segments.len(), 1);
        assert_eq!(planned[1].segments[0].write_index, 0);
    }

    #[test]
    fn writes_are_checked() {
        assert!(matches!(
            order_writes(&[write(1, 1000, 100)], 1024),
            Err(BlobError::RangeOutOfBounds { .. })
        ));
        assert!(matches!(
            order_writes(&[write(1, 0, 10), write(1, 10, 10)], 1024),
            Err(BlobError::InvalidArgument(_))
        ));
        assert!(matches!(
            order_writes(&[write(1, 0, PAGE_MAX_BYTES + 1)], u64::MAX),
            Err(BlobError::InvalidArgument(_))
        ));
        assert!(matches!(
            order_writes(&[write(1, u64::MAX, 2)], u64::MAX),
            Err(BlobError::RangeOutOfBounds { .. })
        ));
        let ordered = order_writes(&[write(5, 0, 10), write(2, 0, 0), write(3, 5, 10)], 1024)
            .expect("valid writes");
        assert_eq!(ordered, vec![write(3, 5, 10), write(5, 0, 10)]);
    }
}
