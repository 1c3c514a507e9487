//! Where every object of a content lives in a region's store: the one place that spells keys.
//!
//! ```text
//! contents/<content_id>/pages/<write:020>      one Put Page payload, until the content is sealed
//! contents/<content_id>/extents/<offset:020>   one canonical extent of a sealed content
//! ```
//!
//! Numbers are zero-padded to 20 digits (the width of `u64::MAX`) so that listing order is numeric
//! order. Everything of a content shares the prefix `contents/<content_id>/`, so deleting a content
//! is one prefix listing, and garbage collection lists the ids under `contents/`.

use object_store::path::Path;

use crate::error::BlobError;

/// The top-level folder of every content in a region's store.
pub(crate) const CONTENTS_FOLDER: &str = "contents";
const PAGES_FOLDER: &str = "pages";
const EXTENTS_FOLDER: &str = "extents";
/// Longest accepted content id (UUIDs are 36 characters).
const CONTENT_ID_MAX_LENGTH: usize = 128;

/// The object key of one stored piece of a content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BlobKey {
    /// The payload of one Put Page call, numbered in the order the writes were made.
    PageWrite { content_id: String, write: u64 },
    /// One extent of a sealed content, named by its logical offset.
    Extent { content_id: String, offset: u64 },
}

impl BlobKey {
    /// The object path of this key in a region's store.
    ///
    /// Content ids are checked by the operations before any key is built ([`validate_content_id`]);
    /// even an unchecked id cannot escape its prefix here, because each segment is encoded by
    /// `object_store` (a `/` inside a segment is percent-encoded, never a delimiter).
    pub fn path(&self) -> Path {
        match self {
            BlobKey::PageWrite { content_id, write } => Path::from_iter([
                CONTENTS_FOLDER,
                content_id.as_str(),
                PAGES_FOLDER,
                format!("{write:020}").as_str(),
            ]),
            BlobKey::Extent { content_id, offset } => Path::from_iter([
                CONTENTS_FOLDER,
                content_id.as_str(),
                EXTENTS_FOLDER,
                format!("{offset:020}").as_str(),
            ]),
        }
    }

    /// The prefix holding every object of one content (`contents/<content_id>`).
    pub fn content_prefix(content_id: &str) -> Path {
        Path::from_iter([CONTENTS_FOLDER, content_id])
    }

    /// The prefix holding the page payloads of one content (`contents/<content_id>/pages`).
    pub(crate) fn pages_prefix(content_id: &str) -> Path {
        Path::from_iter([CONTENTS_FOLDER, content_id, PAGES_FOLDER])
    }

    /// The prefix under which every content of a store lives (`contents`).
    pub fn contents_root() -> Path {
        Path::from(CONTENTS_FOLDER)
    }
}

/// Accepts the ids galleryd generates (UUIDs) and anything else made of ASCII letters, digits,
/// `-`, `_` and `.`, at most 128 characters, not starting with `.` and never containing `..`;
/// refuses everything that could name another content's objects or escape the store's root.
pub fn validate_content_id(content_id: &str) -> Result<(), BlobError> {
    let acceptable_characters = content_id
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
    if content_id.is_empty()
        || content_id.len() > CONTENT_ID_MAX_LENGTH
        || !acceptable_characters
        || content_id.starts_with('.')
        || content_id.contains("..")
    {
        return Err(BlobError::InvalidContentId(content_id.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let page = BlobKey::PageWrite {
            content_id: "6a11e2d0-0000-4000-8000-000000000009".to_owned(),
            write: 7,
        };
        assert_eq!(
            page.path().as_ref(),
            "contents/6a11e2d0-0000-4000-8000-000000000009/pages/00000000000000000007"
        );
        let extent = BlobKey::Extent {
            content_id: "disk1".to_owned(),
            offset: 4_194_304,
        };
        assert_eq!(
            extent.path().as_ref(),
            "contents/disk1/extents/00000000000004194304"
        );
        assert_eq!(BlobKey::content_prefix("disk1").as_ref(), "contents/disk1");
        let largest = BlobKey::Extent {
            content_id: "disk1".to_owned(),
            offset: u64::MAX,
        };
        assert_eq!(
            largest.path().filename(),
            Some(u64::MAX.to_string().as_str())
        );
    }

    #[test]
    fn content_ids_that_could_escape_are_refused() {
        for accepted in ["6a11e2d0-0000-4000-8000-000000000009", "disk_1", "a.b"] {
            assert!(validate_content_id(accepted).is_ok(), "{accepted}");
        }
        let too_long = "a".repeat(129);
        for refused in [
            "",
            "a/b",
            "..",
            "a..b",
            ".hidden",
            "a\\b",
            "a b",
            "é",
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    validate_content_id(refused),
                    Err(BlobError::InvalidContentId(_))
                ),
                "{refused:?} should be refused"
            );
        }
    }

    #[test]
    fn an_unchecked_slash_cannot_escape_the_prefix() {
        let key = BlobKey::Extent {
            content_id: "../other".to_owned(),
            offset: 0,
        };
        assert_eq!(key.path().parts().count(), 4);
    }
}
