//! galleryd's own data about resources: stored next to a resource's served document, never served.
//!
//! The ARM front end writes these when it creates a resource and the replication workers read them:
//! which content (bytes in a region's blob store) holds a disk, snapshot or managed image. The
//! contents a published version is made of are the publishing core's
//! ([`crate::publishing::PublishedContents`]). They are versioned implicitly by serde defaults.

use serde::{Deserialize, Serialize};

/// The bytes behind a disk, snapshot, or one disk of a managed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentReference {
    /// `os`, or `lun<n>` for a data disk.
    pub disk: String,
    /// The content id (see the store's contents).
    pub content_id: String,
    /// The region whose blob store holds it.
    pub region: String,
    /// Bytes actually written.
    pub occupied_bytes: u64,
    /// Provisioned size in bytes.
    pub logical_size: u64,
}

/// Internal data of a disk or snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskInternal {
    /// Its content (absent while a copy is still being made).
    #[serde(default)]
    pub content: Option<ContentReference>,
}

/// Internal data of a managed image: the contents of its OS and data disks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInternal {
    #[serde(default)]
    pub disks: Vec<ContentReference>,
}

/// The payload of a content-copy job: what to copy for a disk, snapshot or managed image being
/// created from another one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyContentPayload {
    pub copies: Vec<ContentCopy>,
}

/// One content to copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentCopy {
    pub source_content_id: String,
    pub source_region: String,
    pub destination_content_id: String,
    pub destination_region: String,
}
