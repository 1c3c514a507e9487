//! The canonical checksum of a content, computed incrementally while bytes stream past.
//!
//! A content's checksum is `sha256:<hex>` of, for each extent in offset order: the extent's offset
//! (u64 big-endian), its length (u64 big-endian), then its bytes. Extents are canonical (maximal
//! written runs cut at absolute [`crate::EXTENT_MAX_BYTES`] boundaries, see [`crate::seal`]), so two
//! contents with identical bytes at identical offsets have the same checksum whatever page writes
//! produced them and whichever store or content id holds them; a written range of zeros and a hole
//! differ (the hole is not part of the content). Hashing offsets and lengths, not only bytes, makes
//! the same bytes at another offset a different content.

use ring::digest::{Context, SHA256};

/// Prefix of every checksum string, naming the algorithm.
const ALGORITHM_PREFIX: &str = "sha256:";

/// An in-progress checksum: feed extents in order with [`ContentHasher::begin_extent`] followed by
/// their bytes with [`ContentHasher::update`].
pub(crate) struct ContentHasher {
    context: Context,
}

impl ContentHasher {
    pub(crate) fn new() -> ContentHasher {
        ContentHasher {
            context: Context::new(&SHA256),
        }
    }

    /// Starts the next extent: its offset and length enter the hash before its bytes.
    pub(crate) fn begin_extent(&mut self, offset: u64, length: u64) {
        self.context.update(&offset.to_be_bytes());
        self.context.update(&length.to_be_bytes());
    }

    /// Adds bytes of the current extent.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// The checksum string, `sha256:<lowercase hex>`.
    pub(crate) fn finish(self) -> String {
        format!("{ALGORITHM_PREFIX}{}", hex(self.context.finish().as_ref()))
    }
}

/// Lowercase hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_content_hashes_the_empty_sequence() {
        assert_eq!(
            ContentHasher::new().finish(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn offsets_and_lengths_are_part_of_the_hash() {
        let mut at_zero = ContentHasher::new();
        at_zero.begin_extent(0, 3);
        at_zero.update(b"abc");
        let mut at_512 = ContentHasher::new();
        at_512.begin_extent(512, 3);
        at_512.update(b"abc");
        assert_ne!(at_zero.finish(), at_512.finish());

        // Chunking the bytes differently does not change the hash.
        let mut whole = ContentHasher::new();
        whole.begin_extent(512, 6);
        whole.update(b"abcdef");
        let mut pieces = ContentHasher::new();
        pieces.begin_extent(512, 6);
        pieces.update(b"ab");
        pieces.update(b"cdef");
        assert_eq!(whole.finish(), pieces.finish());
    }
}
