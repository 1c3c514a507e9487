//! What replication copies: the contents (bytes in a region's blob store) a published version is
//! made of, and the deterministic ids of their replicas.
//!
//! A version's internal data (galleryd's own, stored next to its document, never served) names its
//! source contents, one per part: an image version's disks (`os`, `lun<n>`); an application
//! version's package and configuration; a script version's script. The replication workers copy
//! every part into every planned replica ([`super::replication::replication_plan`]), whatever the
//! kind of artifact: a new kind only has to record its parts' contents here.

use serde::{Deserialize, Serialize};

use crate::internal::ContentReference;

/// Internal data of a published version: the source content of each of its parts (the
/// reference's `disk` names the part).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedContents {
    #[serde(default)]
    pub sources: Vec<ContentReference>,
}

impl PublishedContents {
    /// The source content of `part`.
    pub fn source(&self, part: &str) -> Option<&ContentReference> {
        self.sources.iter().find(|source| source.disk == part)
    }
}

/// The content id of one replica of one part of a version (deterministic, so a copy started again
/// after a crash overwrites the same objects instead of leaving orphans).
pub fn replica_content_id(
    version_seq: i64,
    region: &str,
    replica_index: i32,
    part: &str,
) -> String {
    format!("replica-{version_seq}-{region}-{replica_index}-{part}")
}
