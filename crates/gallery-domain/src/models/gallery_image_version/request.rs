//! The request shapes of an image version: what a client may send (every member optional, enums
//! as free text, unknown and read-only members ignored), and where errors about them point.

use serde::Deserialize;
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{from_value_at, missing_property, out_of_range, without_nulls};
use crate::publishing::{ArtifactKind, PublishingProfileInput};
use crate::tags::Tags;

/// Image versions in the publishing core's terms (error targets, messages).
pub(crate) const KIND: ArtifactKind = ArtifactKind::IMAGE_VERSION;

/// The error target of a property: `galleryImageVersion.properties.{member}`.
pub(crate) fn target(member: &str) -> String {
    KIND.target(member)
}

/// `storageProfile.source` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArtifactSourceInput {
    pub(crate) id: Option<String>,
    pub(crate) virtual_machine_id: Option<String>,
    pub(crate) community_gallery_image_id: Option<String>,
}

/// The source of one disk image as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiskImageSourceInput {
    pub(crate) id: Option<String>,
    pub(crate) uri: Option<String>,
    pub(crate) storage_account_id: Option<String>,
}

/// `storageProfile.osDiskImage` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OsDiskImageInput {
    pub(crate) host_caching: Option<String>,
    pub(crate) source: Option<DiskImageSourceInput>,
}

/// One of `storageProfile.dataDiskImages` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataDiskImageInput {
    pub(crate) lun: Option<i64>,
    pub(crate) host_caching: Option<String>,
    pub(crate) source: Option<DiskImageSourceInput>,
}

/// `storageProfile` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StorageProfileInput {
    pub(crate) source: Option<ArtifactSourceInput>,
    pub(crate) os_disk_image: Option<OsDiskImageInput>,
    pub(crate) data_disk_images: Option<Vec<DataDiskImageInput>>,
}

/// `safetyProfile` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SafetyProfileInput {
    pub(crate) allow_deletion_of_replicated_locations: Option<bool>,
    pub(crate) block_deletion_before_end_of_life: Option<bool>,
}

/// `properties` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GalleryImageVersionPropertiesInput {
    pub(crate) publishing_profile: Option<PublishingProfileInput>,
    pub(crate) storage_profile: Option<StorageProfileInput>,
    pub(crate) safety_profile: Option<SafetyProfileInput>,
    pub(crate) security_profile: Option<Value>,
}

/// The body of an image version PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageVersionRequest {
    #[serde(default)]
    pub(crate) location: Option<String>,
    #[serde(default)]
    pub(crate) tags: Option<Tags>,
    #[serde(default)]
    pub(crate) properties: Option<Value>,
}

/// Parses a request's `properties` (`null` members count as not given).
pub(crate) fn parse_properties(
    properties: Value,
) -> Result<GalleryImageVersionPropertiesInput, ServiceError> {
    match properties {
        Value::Null => Ok(GalleryImageVersionPropertiesInput::default()),
        value => from_value_at(without_nulls(value), "properties"),
    }
}

/// The LUN of `dataDiskImages[index]`: required, 0 or more.
pub(crate) fn parse_lun(value: Option<i64>, index: usize) -> Result<i32, ServiceError> {
    let lun_target = target(&format!("storageProfile.dataDiskImages[{index}].lun"));
    let value = value.ok_or_else(|| missing_property(&lun_target))?;
    i32::try_from(value)
        .ok()
        .filter(|lun| *lun >= 0)
        .ok_or_else(|| out_of_range(value, &lun_target, 0, i64::from(i32::MAX)))
}
