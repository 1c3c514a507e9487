//! The stored shapes of an image version's own members (its storage and safety profiles), as
//! stored and served. The publishing profile is the publishing core's
//! ([`crate::publishing::PublishingProfile`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::models::common::{ProvisioningState, TrackedResource};
use crate::publishing::PublishingProfile;

crate::string_enum! {
    /// HostCaching.
    pub enum HostCaching { None = "None", ReadOnly = "ReadOnly", ReadWrite = "ReadWrite" }
}

crate::string_enum! {
    /// PolicyViolationCategory.
    pub enum PolicyViolationCategory {
        Other = "Other",
        ImageFlaggedUnsafe = "ImageFlaggedUnsafe",
        CopyrightValidation = "CopyrightValidation",
        IpTheft = "IpTheft",
    }
}

/// `storageProfile.source`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_machine_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_image_id: Option<String>,
}

/// The source of one disk image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskImageSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_id: Option<String>,
}

/// `storageProfile.osDiskImage`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDiskImage {
    /// Read-only: the size of the source disk (unknown for VHD sources).
    #[serde(rename = "sizeInGB", default, skip_serializing_if = "Option::is_none")]
    pub size_in_gb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_caching: Option<HostCaching>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskImageSource>,
}

/// One of `storageProfile.dataDiskImages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDiskImage {
    pub lun: i32,
    #[serde(rename = "sizeInGB", default, skip_serializing_if = "Option::is_none")]
    pub size_in_gb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_caching: Option<HostCaching>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskImageSource>,
}

/// `storageProfile`, as stored and served. Never changes after creation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ArtifactSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_disk_image: Option<OsDiskImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_disk_images: Option<Vec<DataDiskImage>>,
}

/// One reported policy violation (read-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyViolation {
    pub category: PolicyViolationCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// `safetyProfile`, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafetyProfile {
    pub allow_deletion_of_replicated_locations: bool,
    /// Read-only: galleryd never reports violations.
    pub reported_for_policy_violation: bool,
    /// Read-only: always empty.
    pub policy_violations: Vec<PolicyViolation>,
    pub block_deletion_before_end_of_life: bool,
}

/// `properties` of an image version, as stored and served (`replicationStatus` is added per request,
/// see [`with_replication_status`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageVersionProperties {
    pub publishing_profile: PublishingProfile,
    pub storage_profile: StorageProfile,
    pub safety_profile: SafetyProfile,
    /// ImageVersionSecurityProfile, stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_profile: Option<Value>,
    pub provisioning_state: ProvisioningState,
}

/// An image version as stored and served.
pub type GalleryImageVersion = TrackedResource<GalleryImageVersionProperties>;
