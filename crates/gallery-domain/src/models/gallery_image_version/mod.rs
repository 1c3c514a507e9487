//! Image versions (`Microsoft.Compute/galleries/images/versions`): the disks of one image release and
//! where they are replicated.
//!
//! # What the caller does around these decisions
//! The source of a new version (a managed image, snapshot, disk or another gallery image version)
//! lives in the database, which this crate never reads. So a create goes:
//! [`source_reference`] (what to resolve, validated) → the caller resolves it into a
//! [`ResolvedSource`] (region and disks) → [`put`] decides. Updates cannot change the source, so a
//! PATCH ([`patch`]) or a PUT on an existing version needs no resolution (pass `None`).
//! Afterwards [`replication_changes`] and [`replication_plan`] tell the caller which replicas to
//! create or drop, [`with_replication_status`] adds `replicationStatus` to a GET with
//! `$expand=ReplicationStatus`, [`check_delete_allowed`] guards DELETE and [`latest_candidate`] feeds
//! [`crate::latest::resolve`].
//!
//! # Rules (every error names the property path as `target`)
//! - The name is `Major.Minor.Patch` ([`crate::version_name`]); `storageProfile` is required on
//!   create, with exactly one kind of source: `storageProfile.source` (image, gallery image version
//!   or community image) or per-disk sources (snapshots, disks or VHD URIs; the OS disk's is then
//!   required). Virtual machine sources are refused (galleryd cannot capture VMs yet).
//! - Target regions default to the version's location with `replicaCount` replicas; each must be a
//!   known region the subscription may use, listed once, and the version's location must be one of
//!   them. The source must live in the version's location. Replica counts are 1 to
//!   [`VersionRules::max_replicas_per_region`]; `Standard_ZRS` needs a region with availability
//!   zones; the disks together may not exceed [`VersionRules::max_total_size_gb`] (Full replication
//!   only: a Shallow version copies nothing, as Azure allows much larger Shallow sources).
//! - `replicationMode: Shallow` allows only the source region as target region.
//! - `endOfLifeDate` must be in the future when set or changed.
//! - After creation the target regions (added, removed, replica counts, `excludeFromLatest`),
//!   `replicaCount`, `excludeFromLatest`, `endOfLifeDate`, the safety flags and tags may change;
//!   anything else is 409 `PropertyChangeNotAllowed`. Removing a target region needs
//!   `safetyProfile.allowDeletionOfReplicatedLocations` (in the request or already stored).
//!
//! # Choices where Azure's sources are silent
//! - Storage account types: a target region's own type wins, then the version's `storageAccountType`;
//!   without either, `storageAccountStrategy: PreferStandard_ZRS` (the spec's default from
//!   api-version 2025-03-03) gives `Standard_ZRS` in regions with availability zones and
//!   [`VersionRules::default_storage_account_type`] elsewhere; older api-versions and
//!   `DefaultStandard_LRS` give the default type everywhere. The version's own `storageAccountType`
//!   is stored as given or as the default type (as the spec's examples serve it), and left out when a
//!   strategy was given (the two are exclusive). A region added by an update without its own type
//!   takes the version's stored type (or its stored strategy).
//! - `regionalReplicaCount` and `storageAccountType` are stored on every target region (the examples
//!   serve them always), so a later change of `replicaCount` only affects regions a request lists
//!   without their own count. `targetRegions[].excludeFromLatest` is stored only when given: unset,
//!   the global flag applies in that region.
//! - On a PUT to an existing version, absent immutable members, absent `targetRegions`,
//!   `replicaCount` and `targetExtendedLocations`, and absent safety flags keep their stored values
//!   (defaulting them would drop replicas or deletion safeguards); `excludeFromLatest` and
//!   `endOfLifeDate` are replaced like any ARM PUT (absent = not set). A target region kept by an
//!   update keeps its stored `encryption` and `excludeFromLatest` when the request leaves them out
//!   (as the Update example shows).
//! - A source outside the version's location answers Azure's message with 400 `InvalidParameter`
//!   (the real service's code is unverified).
//! - Removing a target region without `allowDeletionOfReplicatedLocations` is 409
//!   `OperationNotAllowed`: the property may change, the safety setting forbids this change.
//! - Host caching the source does not report defaults to `ReadOnly` for the OS disk and `None` for
//!   data disks (what the examples show).
//! - `blockDeletionBeforeEndOfLife` without an end-of-life date blocks deletion until the flag is
//!   cleared.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::ids;
use crate::latest::{CandidateRegion, LatestCandidate};
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, from_value_at, future_date,
    location_for_put, missing_property, name_and_system_data, patched_properties, tags_for_patch,
    validate_tags, without_nulls,
};
use crate::regions::{self, Region, same_region};
use crate::tags::Tags;
use crate::version_name::VersionName;

crate::string_enum! {
    /// StorageAccountType.
    pub enum StorageAccountType {
        StandardLrs = "Standard_LRS",
        StandardZrs = "Standard_ZRS",
        PremiumLrs = "Premium_LRS",
        PremiumV2Lrs = "PremiumV2_LRS",
    }
}

crate::string_enum! {
    /// StorageAccountStrategy.
    pub enum StorageAccountStrategy {
        PreferStandardZrs = "PreferStandard_ZRS",
        DefaultStandardLrs = "DefaultStandard_LRS",
    }
}

crate::string_enum! {
    /// ReplicationMode: `Shallow` versions are served from the source and copy nothing.
    pub enum ReplicationMode { Full = "Full", Shallow = "Shallow" }
}

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

crate::string_enum! {
    /// AggregatedReplicationState.
    pub enum AggregatedReplicationState {
        Unknown = "Unknown",
        InProgress = "InProgress",
        Completed = "Completed",
        Failed = "Failed",
    }
}

crate::string_enum! {
    /// ReplicationState of one region.
    pub enum ReplicationState {
        Unknown = "Unknown",
        Replicating = "Replicating",
        Completed = "Completed",
        Failed = "Failed",
    }
}

// ----- stored shapes -----

/// One target region, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRegion {
    /// The region's display name (`West US`).
    pub name: String,
    pub regional_replica_count: u32,
    pub storage_account_type: StorageAccountType,
    /// EncryptionImages, stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    /// Set only when the client set it; otherwise the global flag applies in this region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_from_latest: Option<bool>,
    /// `additionalReplicaSets`, stored as given (galleryd plans no replicas for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_replica_sets: Option<Value>,
}

impl TargetRegion {
    /// The catalog entry of this region (`None` only for a document galleryd did not write).
    pub fn region(&self) -> Option<&'static Region> {
        regions::find(&self.name)
    }

    /// The region's short name (`westus`), the key replicas are planned and compared by.
    pub fn short_name(&self) -> String {
        match self.region() {
            Some(region) => region.name.to_string(),
            None => regions::location_key(&self.name),
        }
    }
}

/// `publishingProfile`, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishingProfile {
    pub target_regions: Vec<TargetRegion>,
    pub replica_count: u32,
    pub exclude_from_latest: bool,
    /// Read-only: when the version was created.
    pub published_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    /// Absent only when `storageAccountStrategy` was given instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_type: Option<StorageAccountType>,
    pub replication_mode: ReplicationMode,
    /// Stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_extended_locations: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_strategy: Option<StorageAccountStrategy>,
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

// ----- replication status -----

/// RegionalReplicationStatus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionalReplicationStatus {
    /// The region's display name (`West US`).
    pub region: String,
    pub state: ReplicationState,
    #[serde(default)]
    pub details: String,
    /// 0 to 100.
    #[serde(default)]
    pub progress: u32,
}

/// ReplicationStatus: served only with `$expand=ReplicationStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationStatus {
    pub aggregated_state: AggregatedReplicationState,
    pub summary: Vec<RegionalReplicationStatus>,
}

impl ReplicationStatus {
    /// A status whose aggregated state is computed from `summary` with [`aggregate`].
    pub fn from_summary(summary: Vec<RegionalReplicationStatus>) -> Self {
        ReplicationStatus {
            aggregated_state: aggregate(&summary),
            summary,
        }
    }
}

/// The aggregated state of regional states: `Failed` if any region failed, `Completed` if every
/// region completed, `Unknown` if nothing is known (no regions, or every region `Unknown`), else
/// `InProgress`.
pub fn aggregate(summary: &[RegionalReplicationStatus]) -> AggregatedReplicationState {
    let states = || summary.iter().map(|regional| regional.state);
    if states().any(|state| state == ReplicationState::Failed) {
        AggregatedReplicationState::Failed
    } else if summary.is_empty() || states().all(|state| state == ReplicationState::Unknown) {
        AggregatedReplicationState::Unknown
    } else if states().all(|state| state == ReplicationState::Completed) {
        AggregatedReplicationState::Completed
    } else {
        AggregatedReplicationState::InProgress
    }
}

/// A version's document with `properties.validationsProfile`, for `$expand=ValidationProfile`:
/// galleryd runs no image validations, so `executedValidations` is empty; the platform attributes
/// name the image definition's publisher, offer and SKU (`identifier`) and the version, and the
/// etag is the publishing time, as the spec describes them.
pub fn with_validations_profile(mut document: Value, identifier: &Value) -> Value {
    let attribute = |name: &str, value: &Value| serde_json::json!({"name": name, "value": value});
    let version_name = document["name"].clone();
    let published = document
        .pointer("/properties/publishingProfile/publishedDate")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "validationsProfile".to_string(),
            serde_json::json!({
                "validationEtag": published,
                "executedValidations": [],
                "platformAttributes": [
                    attribute("source_image_publisher", &identifier["publisher"]),
                    attribute("source_image_offer", &identifier["offer"]),
                    attribute("source_image_sku", &identifier["sku"]),
                    attribute("source_image_version", &version_name),
                ],
            }),
        );
    }
    document
}

/// A served version document with `properties.replicationStatus` added (for
/// `$expand=ReplicationStatus`).
pub fn with_replication_status(mut document: Value, status: &ReplicationStatus) -> Value {
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "replicationStatus".to_string(),
            serde_json::to_value(status).unwrap_or(Value::Null),
        );
    }
    document
}

// ----- what the caller supplies -----

/// Service limits and defaults for image versions (configurable for tests and load work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRules {
    /// Highest `replicaCount` / `regionalReplicaCount` (default 10).
    pub max_replicas_per_region: u32,
    /// Highest total size of a version's disks, in GB (default 1024).
    pub max_total_size_gb: u64,
    /// The storage account type of replicas nothing else decides (default `Standard_LRS`).
    pub default_storage_account_type: StorageAccountType,
}

impl Default for VersionRules {
    fn default() -> Self {
        VersionRules {
            max_replicas_per_region: 10,
            max_total_size_gb: 1024,
            default_storage_account_type: StorageAccountType::StandardLrs,
        }
    }
}

/// One disk of a resolved source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDisk {
    /// `None` for the OS disk, the data disk's LUN otherwise.
    pub lun: Option<i32>,
    pub size_in_gb: i32,
    /// Bytes actually used (for the caller's replication; not a rule here).
    pub occupied_bytes: u64,
    /// The source's host caching, if it has one (`ReadOnly`, …; any casing).
    pub host_caching: Option<String>,
}

/// What the caller found behind a [`SourceReference`]: where the source lives and its disks. For
/// `storageProfile.source` these are the source's own disks; for per-disk sources, one disk per
/// source, with the LUN the request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSource {
    /// The source's region, in any spelling.
    pub region: String,
    pub disks: Vec<SourceDisk>,
}

/// What kind of resource a source id names (from the id's resource type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `Microsoft.Compute/images`.
    ManagedImage,
    /// `Microsoft.Compute/snapshots`.
    Snapshot,
    /// `Microsoft.Compute/disks`.
    Disk,
    /// `Microsoft.Compute/galleries/images/versions`.
    GalleryImageVersion,
    /// `Microsoft.Compute/virtualMachines` (refused: galleryd cannot capture VMs yet).
    VirtualMachine,
}

impl SourceKind {
    /// The kind of a well-formed `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Compute/…`
    /// id, ignoring case; `None` for anything else.
    pub fn of_id(id: &str) -> Option<SourceKind> {
        let segments: Vec<String> = id
            .trim_end_matches('/')
            .strip_prefix('/')?
            .split('/')
            .map(str::to_ascii_lowercase)
            .collect();
        if segments.iter().any(String::is_empty) {
            return None;
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            "microsoft.compute",
            rest @ ..,
        ] = segments.as_slice()
        else {
            return None;
        };
        match rest {
            ["images", _] => Some(SourceKind::ManagedImage),
            ["snapshots", _] => Some(SourceKind::Snapshot),
            ["disks", _] => Some(SourceKind::Disk),
            ["virtualmachines", _] => Some(SourceKind::VirtualMachine),
            ["galleries", _, "images", _, "versions", _] => Some(SourceKind::GalleryImageVersion),
            _ => None,
        }
    }
}

/// Where one source points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    /// An ARM resource of this subscription's world.
    Resource { id: String, kind: SourceKind },
    /// `storageProfile.source.communityGalleryImageId`.
    CommunityGalleryImage { id: String },
    /// A VHD blob (`source.uri`, optionally with `storageAccountId`).
    Blob {
        uri: String,
        storage_account_id: Option<String>,
    },
}

impl SourceLocation {
    /// The id or URI, as the client sent it.
    pub fn reference(&self) -> &str {
        match self {
            SourceLocation::Resource { id, .. } | SourceLocation::CommunityGalleryImage { id } => {
                id
            }
            SourceLocation::Blob { uri, .. } => uri,
        }
    }
}

/// One source the request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceItem {
    /// For a disk source, the disk's LUN (`None` for the OS disk); `None` for `storageProfile.source`.
    pub lun: Option<i32>,
    /// The property path, e.g. `galleryImageVersion.properties.storageProfile.osDiskImage.source.id`
    /// (the `target` of errors about this source).
    pub target: String,
    pub location: SourceLocation,
}

/// The sources a create request names: either `storageProfile.source` or per-disk sources (the OS
/// disk's first, then data disks in request order), never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReference {
    pub artifact: Option<SourceItem>,
    pub disks: Vec<SourceItem>,
}

impl SourceReference {
    /// Every source, artifact first.
    pub fn items(&self) -> impl Iterator<Item = &SourceItem> {
        self.artifact.iter().chain(self.disks.iter())
    }

    /// The source errors about "the source" name: the artifact source, else the OS disk's.
    pub fn primary(&self) -> Option<&SourceItem> {
        self.items().next()
    }
}

// ----- request shapes -----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetRegionInput {
    name: Option<String>,
    regional_replica_count: Option<i64>,
    storage_account_type: Option<String>,
    encryption: Option<Value>,
    exclude_from_latest: Option<bool>,
    additional_replica_sets: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishingProfileInput {
    target_regions: Option<Vec<TargetRegionInput>>,
    replica_count: Option<i64>,
    exclude_from_latest: Option<bool>,
    end_of_life_date: Option<String>,
    storage_account_type: Option<String>,
    replication_mode: Option<String>,
    target_extended_locations: Option<Value>,
    storage_account_strategy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactSourceInput {
    id: Option<String>,
    virtual_machine_id: Option<String>,
    community_gallery_image_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiskImageSourceInput {
    id: Option<String>,
    uri: Option<String>,
    storage_account_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsDiskImageInput {
    host_caching: Option<String>,
    source: Option<DiskImageSourceInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataDiskImageInput {
    lun: Option<i64>,
    host_caching: Option<String>,
    source: Option<DiskImageSourceInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfileInput {
    source: Option<ArtifactSourceInput>,
    os_disk_image: Option<OsDiskImageInput>,
    data_disk_images: Option<Vec<DataDiskImageInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SafetyProfileInput {
    allow_deletion_of_replicated_locations: Option<bool>,
    block_deletion_before_end_of_life: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryImageVersionPropertiesInput {
    publishing_profile: Option<PublishingProfileInput>,
    storage_profile: Option<StorageProfileInput>,
    safety_profile: Option<SafetyProfileInput>,
    security_profile: Option<Value>,
}

/// The body of an image version PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageVersionRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

const TARGET: &str = "galleryImageVersion.properties";

fn target(member: &str) -> String {
    format!("{TARGET}.{member}")
}

/// The request-body path of a target (`properties.storageProfile.source.id`).
fn request_path(target: &str) -> &str {
    target
        .strip_prefix("galleryImageVersion.")
        .unwrap_or(target)
}

/// A string member that was really given (not empty or blank).
fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn same_text(left: Option<&str>, right: Option<&str>) -> bool {
    match (left, right) {
        (Some(left), Some(right)) => left.eq_ignore_ascii_case(right),
        (None, None) => true,
        _ => false,
    }
}

fn parse_properties(properties: Value) -> Result<GalleryImageVersionPropertiesInput, ServiceError> {
    match properties {
        Value::Null => Ok(GalleryImageVersionPropertiesInput::default()),
        value => from_value_at(without_nulls(value), "properties"),
    }
}

// ----- sources -----

fn one_source_only() -> ServiceError {
    ServiceError::invalid_parameter(
        target("storageProfile.source"),
        "The gallery artifact version source can only be specified either directly under storageProfile or \
         within individual OS or data disks. One and only one source type (user image, snapshot, disk, virtual \
         machine) can be provided.",
    )
}

fn virtual_machine_not_supported(target: String) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        "Virtual machine sources are not supported by galleryd yet. Capture the virtual machine's disks as \
         snapshots or a managed image and use those as the source.",
    )
}

fn check_fully_qualified(id: &str, target: &str) -> Result<(), ServiceError> {
    let lower = id.to_ascii_lowercase();
    if lower.starts_with("/subscriptions/") || lower.starts_with("/providers/") {
        Ok(())
    } else {
        Err(ServiceError::linked_invalid_property_id(
            id,
            request_path(target),
        ))
    }
}

fn out_of_range(value: i64, target: &str, min: i64, max: i64) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        format!(
            "The value {value} of parameter '{target}' is out of range. The value must be between {min} and \
             {max}, inclusive."
        ),
    )
}

fn parse_lun(value: Option<i64>, index: usize) -> Result<i32, ServiceError> {
    let lun_target = target(&format!("storageProfile.dataDiskImages[{index}].lun"));
    let value = value.ok_or_else(|| missing_property(&lun_target))?;
    i32::try_from(value)
        .ok()
        .filter(|lun| *lun >= 0)
        .ok_or_else(|| out_of_range(value, &lun_target, 0, i64::from(i32::MAX)))
}

fn parse_artifact_source(source: &ArtifactSourceInput) -> Result<Option<SourceItem>, ServiceError> {
    let id = given(&source.id);
    let virtual_machine = given(&source.virtual_machine_id);
    let community = given(&source.community_gallery_image_id);
    if [id, virtual_machine, community]
        .iter()
        .filter(|member| member.is_some())
        .count()
        > 1
    {
        return Err(one_source_only());
    }
    if virtual_machine.is_some() {
        return Err(virtual_machine_not_supported(target(
            "storageProfile.source.virtualMachineId",
        )));
    }
    if let Some(id) = id {
        let id_target = target("storageProfile.source.id");
        check_fully_qualified(id, &id_target)?;
        let kind = match SourceKind::of_id(id) {
            Some(SourceKind::VirtualMachine) => {
                return Err(virtual_machine_not_supported(id_target));
            }
            Some(kind @ (SourceKind::ManagedImage | SourceKind::GalleryImageVersion)) => kind,
            _ => {
                return Err(ServiceError::invalid_parameter(
                    id_target,
                    format!(
                        "The source id: {id} must either be a managed image, virtual machine or another \
                         gallery image version."
                    ),
                ));
            }
        };
        return Ok(Some(SourceItem {
            lun: None,
            target: id_target,
            location: SourceLocation::Resource {
                id: id.to_string(),
                kind,
            },
        }));
    }
    Ok(community.map(|id| SourceItem {
        lun: None,
        target: target("storageProfile.source.communityGalleryImageId"),
        location: SourceLocation::CommunityGalleryImage { id: id.to_string() },
    }))
}

/// Parses the source of one disk; `member` is e.g. `storageProfile.osDiskImage.source`.
fn parse_disk_source(
    source: &DiskImageSourceInput,
    member: &str,
    lun: Option<i32>,
) -> Result<Option<SourceItem>, ServiceError> {
    let id = given(&source.id);
    let uri = given(&source.uri);
    let storage_account_id = given(&source.storage_account_id);
    match (id, uri) {
        (Some(_), Some(_)) => Err(ServiceError::invalid_parameter(
            target(member),
            "A disk image source is either a managed disk or snapshot ('id') or a VHD ('uri'), not both.",
        )),
        (Some(id), None) => {
            let id_target = target(&format!("{member}.id"));
            check_fully_qualified(id, &id_target)?;
            match SourceKind::of_id(id) {
                Some(kind @ (SourceKind::Snapshot | SourceKind::Disk)) => Ok(Some(SourceItem {
                    lun,
                    target: id_target,
                    location: SourceLocation::Resource {
                        id: id.to_string(),
                        kind,
                    },
                })),
                _ => Err(ServiceError::invalid_parameter(
                    id_target,
                    format!("The source id: {id} must be a managed disk or snapshot."),
                )),
            }
        }
        (None, Some(uri)) => {
            if let Some(account) = storage_account_id {
                check_fully_qualified(account, &target(&format!("{member}.storageAccountId")))?;
            }
            Ok(Some(SourceItem {
                lun,
                target: target(&format!("{member}.uri")),
                location: SourceLocation::Blob {
                    uri: uri.to_string(),
                    storage_account_id: storage_account_id.map(str::to_string),
                },
            }))
        }
        (None, None) if storage_account_id.is_some() => {
            Err(missing_property(&target(&format!("{member}.uri"))))
        }
        (None, None) => Ok(None),
    }
}

fn parse_sources(storage: &StorageProfileInput) -> Result<SourceReference, ServiceError> {
    let artifact = match &storage.source {
        Some(source) => parse_artifact_source(source)?,
        None => None,
    };
    let mut disks = Vec::new();
    if let Some(source) = storage
        .os_disk_image
        .as_ref()
        .and_then(|disk| disk.source.as_ref())
        && let Some(item) = parse_disk_source(source, "storageProfile.osDiskImage.source", None)?
    {
        disks.push(item);
    }
    let has_os_disk_source = !disks.is_empty();
    let mut luns = HashSet::new();
    let mut data_disks_without_source = Vec::new();
    for (index, disk) in storage.data_disk_images.iter().flatten().enumerate() {
        let lun = parse_lun(disk.lun, index)?;
        if !luns.insert(lun) {
            return Err(ServiceError::invalid_parameter(
                target("storageProfile.dataDiskImages"),
                "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique \
                 for each data disk.",
            ));
        }
        let member = format!("storageProfile.dataDiskImages[{index}].source");
        match disk.source.as_ref() {
            Some(source) => match parse_disk_source(source, &member, Some(lun))? {
                Some(item) => disks.push(item),
                None => data_disks_without_source.push(member),
            },
            None => data_disks_without_source.push(member),
        }
    }
    match (&artifact, disks.is_empty()) {
        (Some(_), false) | (None, true) => return Err(one_source_only()),
        (None, false) if !has_os_disk_source => {
            return Err(missing_property(&target(
                "storageProfile.osDiskImage.source",
            )));
        }
        (None, false) => {
            if let Some(member) = data_disks_without_source.first() {
                return Err(missing_property(&target(member)));
            }
        }
        (Some(_), true) => {}
    }
    let mut ids = HashSet::new();
    let mut uris = HashSet::new();
    for item in &disks {
        match &item.location {
            SourceLocation::Resource { id, .. } if !ids.insert(id.to_ascii_lowercase()) => {
                return Err(ServiceError::invalid_parameter(
                    target("storageProfile"),
                    "Duplicated source ids are found in the input disks. Source id should be unique for each \
                     disk.",
                ));
            }
            SourceLocation::Blob { uri, .. } if !uris.insert(uri.to_ascii_lowercase()) => {
                return Err(ServiceError::invalid_parameter(
                    target("storageProfile"),
                    format!("OSDiskImage and DataDiskImage cannot point to same blob {uri}"),
                ));
            }
            _ => {}
        }
    }
    Ok(SourceReference { artifact, disks })
}

/// What a create request's sources are, validated: the caller resolves them (into a
/// [`ResolvedSource`]) before calling [`put`]. Errors: a missing `storageProfile` or no source at all
/// (400 `InvalidParameter`), an id that is not a full ARM id (400 `LinkedInvalidPropertyId`), an id
/// of the wrong kind or a virtual machine (400 `InvalidParameter`), duplicated LUNs or source ids
/// (400 `InvalidParameter`).
pub fn source_reference(
    request: &GalleryImageVersionRequest,
) -> Result<SourceReference, ServiceError> {
    let input = parse_properties(request.properties.clone().unwrap_or(Value::Null))?;
    let storage = input
        .storage_profile
        .ok_or_else(|| missing_property(&target("storageProfile")))?;
    parse_sources(&storage)
}

// ----- storage profile -----

fn parse_host_caching(
    value: &Option<String>,
    member: &str,
) -> Result<Option<HostCaching>, ServiceError> {
    given(value)
        .map(|value| HostCaching::parse(value, &target(member)))
        .transpose()
}

fn disk_image_source(input: Option<&DiskImageSourceInput>) -> Option<DiskImageSource> {
    let input = input?;
    let source = DiskImageSource {
        id: given(&input.id).map(str::to_string),
        uri: given(&input.uri).map(str::to_string),
        storage_account_id: given(&input.storage_account_id).map(str::to_string),
    };
    (source != DiskImageSource::default()).then_some(source)
}

/// The storage profile of a new version: the request's sources and host caching, the resolved
/// source's disks and sizes.
fn new_storage_profile(
    input: &StorageProfileInput,
    resolved: Option<&ResolvedSource>,
) -> Result<StorageProfile, ServiceError> {
    let source = input.source.as_ref().and_then(|source| {
        let source = ArtifactSource {
            id: given(&source.id).map(str::to_string),
            virtual_machine_id: given(&source.virtual_machine_id).map(str::to_string),
            community_gallery_image_id: given(&source.community_gallery_image_id)
                .map(str::to_string),
        };
        (source != ArtifactSource::default()).then_some(source)
    });
    let os_input = input.os_disk_image.as_ref();
    let os_caching = match os_input {
        Some(disk) => {
            parse_host_caching(&disk.host_caching, "storageProfile.osDiskImage.hostCaching")?
        }
        None => None,
    };
    let os_source = disk_image_source(os_input.and_then(|disk| disk.source.as_ref()));
    let mut data_inputs = Vec::new();
    for (index, disk) in input.data_disk_images.iter().flatten().enumerate() {
        let lun = parse_lun(disk.lun, index)?;
        let caching = parse_host_caching(
            &disk.host_caching,
            &format!("storageProfile.dataDiskImages[{index}].hostCaching"),
        )?;
        data_inputs.push((index, lun, caching, disk_image_source(disk.source.as_ref())));
    }
    let Some(resolved) = resolved else {
        // Nothing resolved (VHD sources): the disks are what the request says, sizes unknown.
        let os_disk_image = os_input.map(|_| OsDiskImage {
            size_in_gb: None,
            host_caching: os_caching,
            source: os_source,
        });
        let data_disk_images: Vec<DataDiskImage> = data_inputs
            .into_iter()
            .map(|(_, lun, host_caching, source)| DataDiskImage {
                lun,
                size_in_gb: None,
                host_caching,
                source,
            })
            .collect();
        return Ok(StorageProfile {
            source,
            os_disk_image,
            data_disk_images: (!data_disk_images.is_empty()).then_some(data_disk_images),
        });
    };
    let source_caching = |disk: &SourceDisk| {
        disk.host_caching
            .as_deref()
            .and_then(HostCaching::from_wire)
    };
    let resolved_os = resolved.disks.iter().find(|disk| disk.lun.is_none());
    let os_disk_image = Some(OsDiskImage {
        size_in_gb: resolved_os.map(|disk| disk.size_in_gb),
        host_caching: os_caching
            .or_else(|| resolved_os.and_then(source_caching))
            .or(Some(HostCaching::ReadOnly)),
        source: os_source,
    });
    let mut resolved_data: Vec<&SourceDisk> = resolved
        .disks
        .iter()
        .filter(|disk| disk.lun.is_some())
        .collect();
    resolved_data.sort_by_key(|disk| disk.lun);
    let source_luns: Vec<i32> = resolved_data.iter().filter_map(|disk| disk.lun).collect();
    if let Some((index, lun, ..)) = data_inputs
        .iter()
        .find(|(_, lun, ..)| !source_luns.contains(lun))
    {
        let luns: Vec<String> = source_luns.iter().map(ToString::to_string).collect();
        return Err(ServiceError::invalid_parameter(
            target(&format!("storageProfile.dataDiskImages[{index}].lun")),
            format!(
                "An invalid lun [{lun}] was specified in dataDiskImages. The lun must be one of the following \
                 values ['{}'].",
                luns.join(",")
            ),
        ));
    }
    let data_disk_images: Vec<DataDiskImage> = resolved_data
        .into_iter()
        .map(|disk| {
            let lun = disk.lun.unwrap_or_default();
            let requested = data_inputs
                .iter()
                .find(|(_, input_lun, ..)| *input_lun == lun);
            DataDiskImage {
                lun,
                size_in_gb: Some(disk.size_in_gb),
                host_caching: requested
                    .and_then(|(_, _, caching, _)| *caching)
                    .or_else(|| source_caching(disk))
                    .or(Some(HostCaching::None)),
                source: requested.and_then(|(.., source)| source.clone()),
            }
        })
        .collect();
    Ok(StorageProfile {
        source,
        os_disk_image,
        data_disk_images: (!data_disk_images.is_empty()).then_some(data_disk_images),
    })
}

/// An update may repeat the storage profile but not change it.
fn check_storage_unchanged(
    input: &StorageProfileInput,
    stored: &StorageProfile,
) -> Result<(), ServiceError> {
    let changed = |requested: &Option<String>, current: Option<&String>| {
        given(requested)
            .is_some_and(|requested| !same_text(Some(requested), current.map(String::as_str)))
    };
    let stored_source = stored.source.clone().unwrap_or_default();
    if let Some(source) = &input.source {
        for (requested, current, member) in [
            (&source.id, stored_source.id.as_ref(), "id"),
            (
                &source.virtual_machine_id,
                stored_source.virtual_machine_id.as_ref(),
                "virtualMachineId",
            ),
            (
                &source.community_gallery_image_id,
                stored_source.community_gallery_image_id.as_ref(),
                "communityGalleryImageId",
            ),
        ] {
            if changed(requested, current) {
                return Err(ServiceError::property_change_not_allowed(target(&format!(
                    "storageProfile.source.{member}"
                ))));
            }
        }
    }
    let check_disk = |requested_source: Option<&DiskImageSourceInput>,
                      requested_caching: &Option<String>,
                      current_source: Option<&DiskImageSource>,
                      current_caching: Option<HostCaching>,
                      member: &str|
     -> Result<(), ServiceError> {
        let current_source = current_source.cloned().unwrap_or_default();
        if let Some(source) = requested_source {
            for (requested, current, name) in [
                (&source.id, current_source.id.as_ref(), "id"),
                (&source.uri, current_source.uri.as_ref(), "uri"),
                (
                    &source.storage_account_id,
                    current_source.storage_account_id.as_ref(),
                    "storageAccountId",
                ),
            ] {
                if changed(requested, current) {
                    return Err(ServiceError::property_change_not_allowed(target(&format!(
                        "{member}.source.{name}"
                    ))));
                }
            }
        }
        let caching_target = target(&format!("{member}.hostCaching"));
        let requested_caching =
            parse_host_caching(requested_caching, &format!("{member}.hostCaching"))?;
        if requested_caching.is_some() && requested_caching != current_caching {
            return Err(ServiceError::property_change_not_allowed(caching_target));
        }
        Ok(())
    };
    if let Some(os) = &input.os_disk_image {
        let current = stored.os_disk_image.clone().unwrap_or_default();
        check_disk(
            os.source.as_ref(),
            &os.host_caching,
            current.source.as_ref(),
            current.host_caching,
            "storageProfile.osDiskImage",
        )?;
    }
    for (index, disk) in input.data_disk_images.iter().flatten().enumerate() {
        let lun = parse_lun(disk.lun, index)?;
        let member = format!("storageProfile.dataDiskImages[{index}]");
        let Some(current) = stored
            .data_disk_images
            .iter()
            .flatten()
            .find(|current| current.lun == lun)
        else {
            return Err(
                ServiceError::property_change_not_allowed(target(&format!("{member}.lun")))
                    .with_detail_message(
                        "Adding new Data Disks or changing the LUN of a Data Disk in an existing Image is not \
                         allowed.",
                    ),
            );
        };
        check_disk(
            disk.source.as_ref(),
            &disk.host_caching,
            current.source.as_ref(),
            current.host_caching,
            &member,
        )?;
    }
    Ok(())
}

// ----- publishing profile -----

/// How a target region without its own `storageAccountType` gets one.
#[derive(Debug, Clone, Copy)]
enum RegionalDefault {
    /// The version's `storageAccountType`.
    Version(StorageAccountType),
    /// `Standard_ZRS` where the region has availability zones, else `fallback`.
    PreferZoneRedundant { fallback: StorageAccountType },
    /// Always this type.
    Fixed(StorageAccountType),
}

impl RegionalDefault {
    fn for_region(self, region: &Region) -> StorageAccountType {
        match self {
            RegionalDefault::Version(kind) | RegionalDefault::Fixed(kind) => kind,
            RegionalDefault::PreferZoneRedundant { .. } if region.availability_zones => {
                StorageAccountType::StandardZrs
            }
            RegionalDefault::PreferZoneRedundant { fallback } => fallback,
        }
    }

    fn from_strategy(
        strategy: Option<StorageAccountStrategy>,
        prefer_zone_redundant_by_default: bool,
        rules: &VersionRules,
    ) -> Self {
        match strategy {
            Some(StorageAccountStrategy::PreferStandardZrs) => {
                RegionalDefault::PreferZoneRedundant {
                    fallback: StorageAccountType::StandardLrs,
                }
            }
            Some(StorageAccountStrategy::DefaultStandardLrs) => {
                RegionalDefault::Fixed(StorageAccountType::StandardLrs)
            }
            None if prefer_zone_redundant_by_default => RegionalDefault::PreferZoneRedundant {
                fallback: rules.default_storage_account_type,
            },
            None => RegionalDefault::Fixed(rules.default_storage_account_type),
        }
    }
}

fn check_zone_redundancy(
    kind: StorageAccountType,
    region: &Region,
    target: &str,
) -> Result<(), ServiceError> {
    if kind == StorageAccountType::StandardZrs && !region.availability_zones {
        return Err(ServiceError::invalid_parameter(
            target,
            "ZRS storage account type is not supported in this region.",
        ));
    }
    Ok(())
}

fn parse_replica_count(
    value: i64,
    target: &str,
    rules: &VersionRules,
) -> Result<u32, ServiceError> {
    let max = rules.max_replicas_per_region;
    u32::try_from(value)
        .ok()
        .filter(|count| (1..=max).contains(count))
        .ok_or_else(|| out_of_range(value, target, 1, i64::from(max)))
}

fn decide_publishing(
    existing: Option<&PublishingProfile>,
    input: PublishingProfileInput,
    location: &'static Region,
    context: &WriteContext<'_>,
    rules: &VersionRules,
) -> Result<PublishingProfile, ServiceError> {
    let mode_target = target("publishingProfile.replicationMode");
    let requested_mode = given(&input.replication_mode)
        .map(|value| ReplicationMode::parse(value, &mode_target))
        .transpose()?;
    let strategy_target = target("publishingProfile.storageAccountStrategy");
    let requested_strategy = given(&input.storage_account_strategy)
        .map(|value| StorageAccountStrategy::parse(value, &strategy_target))
        .transpose()?;
    let type_target = target("publishingProfile.storageAccountType");
    let requested_type = given(&input.storage_account_type)
        .map(|value| StorageAccountType::parse(value, &type_target))
        .transpose()?;
    let (replication_mode, storage_account_strategy, storage_account_type, regional_default) =
        match existing {
            Some(stored) => {
                let mode = match requested_mode {
                    Some(mode) if mode != stored.replication_mode => {
                        return Err(ServiceError::property_change_not_allowed(mode_target));
                    }
                    _ => stored.replication_mode,
                };
                if requested_strategy.is_some()
                    && requested_strategy != stored.storage_account_strategy
                {
                    return Err(ServiceError::property_change_not_allowed(strategy_target));
                }
                if requested_type.is_some() && requested_type != stored.storage_account_type {
                    return Err(ServiceError::property_change_not_allowed(type_target));
                }
                let regional_default = match stored.storage_account_type {
                    Some(kind) => RegionalDefault::Version(kind),
                    None => RegionalDefault::from_strategy(
                        stored.storage_account_strategy,
                        false,
                        rules,
                    ),
                };
                (
                    mode,
                    stored.storage_account_strategy,
                    stored.storage_account_type,
                    regional_default,
                )
            }
            None => {
                if requested_type.is_some() && requested_strategy.is_some() {
                    return Err(ServiceError::invalid_parameter(
                        strategy_target,
                        "storageAccountStrategy cannot be specified along with storageAccountType.",
                    ));
                }
                let regional_default = match requested_type {
                    Some(kind) => RegionalDefault::Version(kind),
                    None => RegionalDefault::from_strategy(
                        requested_strategy,
                        context.api_version.at_least("2025-03-03"),
                        rules,
                    ),
                };
                let storage_account_type = match requested_strategy {
                    Some(_) => None,
                    None => Some(requested_type.unwrap_or(rules.default_storage_account_type)),
                };
                (
                    requested_mode.unwrap_or(ReplicationMode::Full),
                    requested_strategy,
                    storage_account_type,
                    regional_default,
                )
            }
        };
    let replica_count = match input.replica_count {
        Some(value) => {
            parse_replica_count(value, &target("publishingProfile.replicaCount"), rules)?
        }
        None => existing.map(|stored| stored.replica_count).unwrap_or(1),
    };
    let target_regions = match (input.target_regions, existing) {
        (None, Some(stored)) => stored.target_regions.clone(),
        (requested, _) => {
            let requested = requested.unwrap_or_else(|| {
                vec![TargetRegionInput {
                    name: Some(location.display_name.to_string()),
                    ..TargetRegionInput::default()
                }]
            });
            decide_target_regions(
                requested,
                existing.map(|stored| stored.target_regions.as_slice()),
                replica_count,
                regional_default,
                context,
                rules,
            )?
        }
    };
    if !target_regions
        .iter()
        .any(|region| same_region(&region.name, location.name))
    {
        let names: Vec<&str> = target_regions
            .iter()
            .map(|region| region.name.as_str())
            .collect();
        return Err(ServiceError::invalid_parameter(
            target("publishingProfile.targetRegions"),
            format!(
                "Gallery image version publishing profile regions '{}' must contain the location of image \
                 version '{}'.",
                names.join(", "),
                location.display_name
            ),
        ));
    }
    if replication_mode == ReplicationMode::Shallow && target_regions.len() > 1 {
        return Err(ServiceError::invalid_parameter(
            target("publishingProfile.targetRegions"),
            format!(
                "Shallow replication mode allows only the source region '{}' as a target region.",
                location.display_name
            ),
        ));
    }
    let end_of_life_target = target("publishingProfile.endOfLifeDate");
    let end_of_life_date = match given(&input.end_of_life_date) {
        None => None,
        Some(value) => {
            let canonical = crate::time::format_date_time(crate::time::parse_date_time(
                value,
                &end_of_life_target,
            )?);
            let unchanged = existing
                .and_then(|stored| stored.end_of_life_date.as_ref())
                .is_some_and(|stored| *stored == canonical);
            if unchanged {
                Some(canonical)
            } else {
                Some(future_date(value, &end_of_life_target, context.now)?)
            }
        }
    };
    Ok(PublishingProfile {
        target_regions,
        replica_count,
        exclude_from_latest: input.exclude_from_latest.unwrap_or(false),
        published_date: existing
            .map(|stored| stored.published_date.clone())
            .unwrap_or_else(|| crate::time::format(context.now)),
        end_of_life_date,
        storage_account_type,
        replication_mode,
        target_extended_locations: input
            .target_extended_locations
            .or_else(|| existing.and_then(|stored| stored.target_extended_locations.clone())),
        storage_account_strategy,
    })
}

fn decide_target_regions(
    requested: Vec<TargetRegionInput>,
    stored: Option<&[TargetRegion]>,
    replica_count: u32,
    regional_default: RegionalDefault,
    context: &WriteContext<'_>,
    rules: &VersionRules,
) -> Result<Vec<TargetRegion>, ServiceError> {
    let mut seen = HashSet::new();
    let mut decided = Vec::with_capacity(requested.len());
    for (index, entry) in requested.into_iter().enumerate() {
        let member =
            |name: &str| target(&format!("publishingProfile.targetRegions[{index}].{name}"));
        let name_target = member("name");
        let name = given(&entry.name).ok_or_else(|| missing_property(&name_target))?;
        let region = regions::find(name).ok_or_else(|| {
            ServiceError::invalid_parameter(
                &name_target,
                format!("The target region '{name}' is not a known Azure region."),
            )
        })?;
        if !seen.insert(region.name) {
            return Err(ServiceError::invalid_parameter(
                target("publishingProfile.targetRegions"),
                "Duplicate regions are not allowed in target publishing regions.",
            ));
        }
        let current = stored
            .into_iter()
            .flatten()
            .find(|current| same_region(&current.name, region.name));
        if current.is_none() && !context.subscription.may_use_region(region) {
            return Err(ServiceError::invalid_parameter(
                &name_target,
                format!(
                    "The target region '{}' is a restricted region that subscription '{}' is not allowed to \
                     use. Request access to the region first.",
                    region.display_name, context.subscription.subscription_id
                ),
            ));
        }
        let regional_replica_count = match entry.regional_replica_count {
            Some(value) => parse_replica_count(value, &member("regionalReplicaCount"), rules)?,
            None => replica_count,
        };
        let type_target = member("storageAccountType");
        let requested_type = given(&entry.storage_account_type)
            .map(|value| StorageAccountType::parse(value, &type_target))
            .transpose()?;
        let storage_account_type = match (current, requested_type) {
            (Some(current), Some(kind)) if kind != current.storage_account_type => {
                return Err(ServiceError::property_change_not_allowed(type_target));
            }
            (Some(current), _) => current.storage_account_type,
            (None, Some(kind)) => {
                check_zone_redundancy(kind, region, &type_target)?;
                kind
            }
            (None, None) => {
                let kind = regional_default.for_region(region);
                check_zone_redundancy(
                    kind,
                    region,
                    &target("publishingProfile.storageAccountType"),
                )?;
                kind
            }
        };
        let encryption = match current {
            Some(current) => {
                if entry
                    .encryption
                    .as_ref()
                    .is_some_and(|encryption| Some(encryption) != current.encryption.as_ref())
                {
                    return Err(ServiceError::property_change_not_allowed(member(
                        "encryption",
                    )));
                }
                current.encryption.clone()
            }
            None => entry.encryption,
        };
        decided.push(TargetRegion {
            name: region.display_name.to_string(),
            regional_replica_count,
            storage_account_type,
            encryption,
            exclude_from_latest: entry
                .exclude_from_latest
                .or_else(|| current.and_then(|current| current.exclude_from_latest)),
            additional_replica_sets: entry.additional_replica_sets,
        });
    }
    Ok(decided)
}

// ----- decisions -----

/// The checks that need the resolved source: it lives in the version's location, and its disks fit.
fn check_resolved_source(
    sources: &SourceReference,
    resolved: &ResolvedSource,
    location: &Region,
    mode: ReplicationMode,
    rules: &VersionRules,
) -> Result<(), ServiceError> {
    if !same_region(&resolved.region, location.name) {
        let (source_target, reference) = match sources.primary() {
            Some(item) => (item.target.clone(), item.location.reference().to_string()),
            None => (target("storageProfile.source"), String::new()),
        };
        return Err(ServiceError::invalid_parameter(
            source_target,
            format!(
                "Source {reference} is not found. Please check source exists, and is in the same region as \
                 gallery image version being created."
            ),
        ));
    }
    let total_size_gb: u64 = resolved
        .disks
        .iter()
        .map(|disk| u64::try_from(disk.size_in_gb).unwrap_or(0))
        .sum();
    if mode == ReplicationMode::Full && total_size_gb > rules.max_total_size_gb {
        return Err(ServiceError::invalid_parameter(
            target("storageProfile"),
            format!(
                "The GalleryImageVersion source resource size {total_size_gb} GB exceeds the max size {} GB \
                 supported.",
                rules.max_total_size_gb
            ),
        ));
    }
    Ok(())
}

fn removed_region_refused(removed: &[String]) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::OperationNotAllowed,
        format!(
            "Either allowDeletionOfReplicatedLocations is not set as true or the replicated locations are not \
             allowed to be deleted. Set 'safetyProfile.allowDeletionOfReplicatedLocations' to true to remove \
             the target region(s) '{}'.",
            removed.join(", ")
        ),
    )
    .with_target(target("publishingProfile.targetRegions"))
}

/// Everything `put` and `patch` need besides the request.
struct Inputs<'a, 'b> {
    existing: Option<&'a GalleryImageVersion>,
    location: String,
    tags: Option<Tags>,
    context: &'a WriteContext<'b>,
    resolved_source: Option<&'a ResolvedSource>,
    rules: &'a VersionRules,
}

fn decide(inputs: Inputs<'_, '_>, properties: Value) -> Result<GalleryImageVersion, ServiceError> {
    let Inputs {
        existing,
        location,
        tags,
        context,
        resolved_source,
        rules,
    } = inputs;
    if let Some(version) = existing
        && version.properties.provisioning_state == ProvisioningState::Deleting
    {
        return Err(ServiceError::new(
            409,
            ErrorCode::OperationNotAllowed,
            format!(
                "Operation 'Update Gallery Image Version' is not allowed on {} since it is marked for deletion.",
                version.name
            ),
        ));
    }
    let input = parse_properties(properties)?;
    let location_region = regions::find(&location)
        .ok_or_else(|| ServiceError::location_required().with_target("location"))?;
    let stored = existing.map(|version| &version.properties);
    let (storage_profile, sources) = match stored {
        None => {
            let storage = input
                .storage_profile
                .as_ref()
                .ok_or_else(|| missing_property(&target("storageProfile")))?;
            let sources = parse_sources(storage)?;
            (
                new_storage_profile(storage, resolved_source)?,
                Some(sources),
            )
        }
        Some(stored) => {
            if let Some(storage) = &input.storage_profile {
                check_storage_unchanged(storage, &stored.storage_profile)?;
            }
            (stored.storage_profile.clone(), None)
        }
    };
    let publishing_profile = decide_publishing(
        stored.map(|stored| &stored.publishing_profile),
        input.publishing_profile.unwrap_or_default(),
        location_region,
        context,
        rules,
    )?;
    if let (Some(sources), Some(resolved)) = (&sources, resolved_source) {
        check_resolved_source(
            sources,
            resolved,
            location_region,
            publishing_profile.replication_mode,
            rules,
        )?;
    }
    let safety_input = input.safety_profile.unwrap_or_default();
    let stored_safety = stored.map(|stored| &stored.safety_profile);
    let stored_allows_deletion =
        stored_safety.is_some_and(|safety| safety.allow_deletion_of_replicated_locations);
    if let Some(stored) = stored {
        let removed: Vec<String> = stored
            .publishing_profile
            .target_regions
            .iter()
            .filter(|old| {
                !publishing_profile
                    .target_regions
                    .iter()
                    .any(|new| same_region(&new.name, &old.name))
            })
            .map(|old| old.name.clone())
            .collect();
        let allowed = safety_input.allow_deletion_of_replicated_locations == Some(true)
            || stored_allows_deletion;
        if !removed.is_empty() && !allowed {
            return Err(removed_region_refused(&removed));
        }
    }
    let safety_profile = SafetyProfile {
        allow_deletion_of_replicated_locations: safety_input
            .allow_deletion_of_replicated_locations
            .unwrap_or(stored_allows_deletion),
        reported_for_policy_violation: stored_safety
            .is_some_and(|safety| safety.reported_for_policy_violation),
        policy_violations: stored_safety
            .map(|safety| safety.policy_violations.clone())
            .unwrap_or_default(),
        block_deletion_before_end_of_life: safety_input
            .block_deletion_before_end_of_life
            .unwrap_or_else(|| {
                stored_safety.is_some_and(|safety| safety.block_deletion_before_end_of_life)
            }),
    };
    let security_profile = match stored {
        None => input.security_profile,
        Some(stored) => {
            if input
                .security_profile
                .as_ref()
                .is_some_and(|requested| Some(requested) != stored.security_profile.as_ref())
            {
                return Err(ServiceError::property_change_not_allowed(target(
                    "securityProfile",
                )));
            }
            stored.security_profile.clone()
        }
    };
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(GalleryImageVersion {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_IMAGE_VERSION_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties: GalleryImageVersionProperties {
            publishing_profile,
            storage_profile,
            safety_profile,
            security_profile,
            provisioning_state: ProvisioningState::Succeeded,
        },
        system_data,
    })
}

/// Decides an image version PUT (create or replace). On create, `resolved_source` is what the caller
/// found behind [`source_reference`] (`None` when nothing could be resolved, e.g. VHD sources: then
/// disk sizes are unknown and the source region is not checked); on update it is ignored.
pub fn put(
    existing: Option<&GalleryImageVersion>,
    request: GalleryImageVersionRequest,
    context: &WriteContext<'_>,
    resolved_source: Option<&ResolvedSource>,
    rules: &VersionRules,
) -> Result<GalleryImageVersion, ServiceError> {
    if existing.is_none() {
        VersionName::parse(context.name)?;
    }
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        ids::GALLERY_IMAGE_VERSION_TYPE,
        context,
    )?;
    decide(
        Inputs {
            existing,
            location,
            tags,
            context,
            resolved_source: resolved_source.filter(|_| existing.is_none()),
            rules,
        },
        request.properties.unwrap_or(Value::Null),
    )
}

/// Decides an image version PATCH: tags replace the set when given, properties merge (RFC 7396)
/// over the stored ones, then the update rules of [`put`] apply.
pub fn patch(
    existing: &GalleryImageVersion,
    request: PatchRequest,
    context: &WriteContext<'_>,
    rules: &VersionRules,
) -> Result<GalleryImageVersion, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["provisioningState", "replicationStatus"],
        request.properties.as_ref(),
    );
    decide(
        Inputs {
            existing: Some(existing),
            location: existing.location.clone(),
            tags,
            context,
            resolved_source: None,
            rules,
        },
        properties,
    )
}

// ----- after the decision -----

/// DELETE guard: with `safetyProfile.blockDeletionBeforeEndOfLife`, a version cannot be deleted
/// before its end-of-life date has passed (nor at all without one): 409
/// `DeleteGalleryImageVersionBlockedBeforeEndOfLife`.
pub fn check_delete_allowed(
    version: &GalleryImageVersion,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !version
        .properties
        .safety_profile
        .block_deletion_before_end_of_life
    {
        return Ok(());
    }
    let end_of_life = version
        .properties
        .publishing_profile
        .end_of_life_date
        .as_deref();
    let passed = end_of_life
        .and_then(|value| crate::time::parse_date_time(value, "endOfLifeDate").ok())
        .is_some_and(|instant| instant <= now);
    if passed {
        return Ok(());
    }
    let message = match end_of_life {
        Some(date) => format!(
            "The gallery image version '{}' cannot be deleted before its end of life date '{date}' because \
             safetyProfile.blockDeletionBeforeEndOfLife is set. Wait until the end of life date has passed, \
             or update the version to set safetyProfile.blockDeletionBeforeEndOfLife to false.",
            version.name
        ),
        None => format!(
            "The gallery image version '{}' cannot be deleted because safetyProfile.blockDeletionBeforeEndOfLife \
             is set and it has no end of life date. Update the version to set \
             safetyProfile.blockDeletionBeforeEndOfLife to false first.",
            version.name
        ),
    };
    Err(ServiceError::new(
        409,
        ErrorCode::DeleteGalleryImageVersionBlockedBeforeEndOfLife,
        message,
    ))
}

/// A target region whose replica count an update changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaCountChange {
    /// Short name (`westus`).
    pub region: String,
    pub previous: u32,
    pub current: u32,
}

/// What an update changed in where the version is replicated; regions by short name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicationChanges {
    pub added_regions: Vec<String>,
    pub removed_regions: Vec<String>,
    pub replica_count_changes: Vec<ReplicaCountChange>,
}

impl ReplicationChanges {
    /// Whether the update changed nothing about replication.
    pub fn is_empty(&self) -> bool {
        self.added_regions.is_empty()
            && self.removed_regions.is_empty()
            && self.replica_count_changes.is_empty()
    }
}

/// The difference in target regions between two decisions about the same version.
pub fn replication_changes(
    old: &GalleryImageVersion,
    new: &GalleryImageVersion,
) -> ReplicationChanges {
    let old_regions = &old.properties.publishing_profile.target_regions;
    let new_regions = &new.properties.publishing_profile.target_regions;
    let find = |regions: &[TargetRegion], short_name: &str| {
        regions
            .iter()
            .find(|region| region.short_name() == short_name)
            .map(|region| region.regional_replica_count)
    };
    let mut changes = ReplicationChanges::default();
    for region in new_regions {
        let short_name = region.short_name();
        match find(old_regions, &short_name) {
            None => changes.added_regions.push(short_name),
            Some(previous) if previous != region.regional_replica_count => {
                changes.replica_count_changes.push(ReplicaCountChange {
                    region: short_name,
                    previous,
                    current: region.regional_replica_count,
                });
            }
            Some(_) => {}
        }
    }
    for region in old_regions {
        let short_name = region.short_name();
        if find(new_regions, &short_name).is_none() {
            changes.removed_regions.push(short_name);
        }
    }
    changes
}

/// One replica a version must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReplica {
    /// Short name (`westus`).
    pub region: String,
    /// 0-based, below the region's `regionalReplicaCount`.
    pub replica_index: u32,
    pub storage_account_type: StorageAccountType,
}

/// Every (region, index) replica the version must have, in target-region order. A Shallow version
/// plans none: it is served from its source, nothing is copied. `additionalReplicaSets` plan none
/// either (stored only).
pub fn replication_plan(version: &GalleryImageVersion) -> Vec<PlannedReplica> {
    let profile = &version.properties.publishing_profile;
    if profile.replication_mode == ReplicationMode::Shallow {
        return Vec::new();
    }
    profile
        .target_regions
        .iter()
        .flat_map(|region| {
            let short_name = region.short_name();
            (0..region.regional_replica_count).map(move |replica_index| PlannedReplica {
                region: short_name.clone(),
                replica_index,
                storage_account_type: region.storage_account_type,
            })
        })
        .collect()
}

/// Whether a version in `state` can be deployed (and so counts for "latest").
pub fn is_usable(state: ProvisioningState) -> bool {
    matches!(
        state,
        ProvisioningState::Succeeded | ProvisioningState::Updating | ProvisioningState::Migrating
    )
}

/// The version as [`crate::latest::resolve`] sees it; `None` if its name is not a version number
/// (never true of a version galleryd created).
pub fn latest_candidate(version: &GalleryImageVersion) -> Option<LatestCandidate> {
    let profile = &version.properties.publishing_profile;
    Some(LatestCandidate {
        name: version.name.clone(),
        version: VersionName::parse(&version.name).ok()?,
        exclude_from_latest: profile.exclude_from_latest,
        target_regions: profile
            .target_regions
            .iter()
            .map(|region| CandidateRegion {
                name: region.name.clone(),
                exclude_from_latest: region.exclude_from_latest,
            })
            .collect(),
        usable: is_usable(version.properties.provisioning_state),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::{Caller, Subscription};

    const IMAGE_ID: &str = "/subscriptions/6a11e2d0-0000-4000-8000-000000000002/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGalleryName/images/myGalleryImageName";
    const MANAGED_IMAGE: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/images/{imageName}";
    const OS_SNAPSHOT: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/snapshots/osSnapshot";
    const DATA_DISK: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/dataDisk";
    const OTHER_DISK: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/otherDisk";
    const OTHER_IMAGE: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/images/other";
    const VHD: &str = "https://account.blob.core.windows.net/vhds/os.vhd";

    /// Everything a decision needs, with builders for what a test varies.
    struct Scenario {
        subscription: Subscription,
        api_version: String,
        name: String,
        now: DateTime<Utc>,
        rules: VersionRules,
    }

    impl Scenario {
        fn new() -> Self {
            Scenario {
                subscription: Subscription::development(),
                api_version: "2025-03-03".to_string(),
                name: "1.0.0".to_string(),
                now: instant("2026-01-01T00:00:00Z"),
                rules: VersionRules::default(),
            }
        }

        fn api(mut self, version: &str) -> Self {
            self.api_version = version.to_string();
            self
        }

        fn named(mut self, name: &str) -> Self {
            self.name = name.to_string();
            self
        }

        fn at(mut self, when: &str) -> Self {
            self.now = instant(when);
            self
        }

        fn rules(mut self, rules: VersionRules) -> Self {
            self.rules = rules;
            self
        }

        fn subscription(mut self, subscription: Subscription) -> Self {
            self.subscription = subscription;
            self
        }

        fn with<T>(&self, decision: impl FnOnce(&WriteContext<'_>) -> T) -> T {
            let caller = Caller::development();
            let api_version = AcceptedApiVersion {
                requested: self.api_version.clone(),
                warning: None,
            };
            let id = format!("{IMAGE_ID}/versions/{}", self.name);
            let mut new_guid = || "00000000-0000-0000-0000-000000000000".to_string();
            let context = WriteContext {
                subscription: &self.subscription,
                resource_group: "myResourceGroup",
                id: &id,
                name: &self.name,
                caller: &caller,
                now: self.now,
                api_version: &api_version,
                new_guid: &mut new_guid,
            };
            decision(&context)
        }

        fn create(
            &self,
            body: Value,
            source: Option<&ResolvedSource>,
        ) -> Result<GalleryImageVersion, ServiceError> {
            self.with(|context| put(None, request(body), context, source, &self.rules))
        }

        fn replace(
            &self,
            existing: &GalleryImageVersion,
            body: Value,
        ) -> Result<GalleryImageVersion, ServiceError> {
            self.with(|context| put(Some(existing), request(body), context, None, &self.rules))
        }

        fn update(
            &self,
            existing: &GalleryImageVersion,
            body: Value,
        ) -> Result<GalleryImageVersion, ServiceError> {
            let body: PatchRequest = serde_json::from_value(body).unwrap();
            self.with(|context| patch(existing, body, context, &self.rules))
        }
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn request(body: Value) -> GalleryImageVersionRequest {
        serde_json::from_value(body).unwrap()
    }

    /// A managed image (or any whole-artifact source) with an OS disk and a data disk at LUN 1.
    fn image_in(region: &str) -> ResolvedSource {
        ResolvedSource {
            region: region.to_string(),
            disks: vec![
                SourceDisk {
                    lun: None,
                    size_in_gb: 10,
                    occupied_bytes: 1 << 30,
                    host_caching: Some("ReadOnly".to_string()),
                },
                SourceDisk {
                    lun: Some(1),
                    size_in_gb: 10,
                    occupied_bytes: 1 << 29,
                    host_caching: Some("none".to_string()),
                },
            ],
        }
    }

    fn with_properties(properties: Value) -> Value {
        json!({"location": "West US", "properties": properties})
    }

    fn image_version_body(target_regions: Value) -> Value {
        with_properties(json!({
            "publishingProfile": {"targetRegions": target_regions},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }))
    }

    /// 1.0.0 in West US (1 replica) and East US (2 replicas, Standard_ZRS), from a managed image.
    fn created() -> GalleryImageVersion {
        Scenario::new()
            .create(
                image_version_body(json!([
                    {"name": "West US", "regionalReplicaCount": 1},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS"},
                ])),
                Some(&image_in("westus")),
            )
            .unwrap()
    }

    /// A version whose disks come from a snapshot (OS) and a managed disk (LUN 0).
    fn created_from_disks() -> GalleryImageVersion {
        Scenario::new()
            .create(
                with_properties(json!({
                    "storageProfile": {
                        "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                        "dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}],
                    },
                })),
                Some(&ResolvedSource {
                    region: "West US".to_string(),
                    disks: vec![
                        SourceDisk {
                            lun: None,
                            size_in_gb: 30,
                            occupied_bytes: 0,
                            host_caching: None,
                        },
                        SourceDisk {
                            lun: Some(0),
                            size_in_gb: 4,
                            occupied_bytes: 0,
                            host_caching: None,
                        },
                    ],
                }),
            )
            .unwrap()
    }

    #[track_caller]
    fn assert_error<T: std::fmt::Debug>(
        result: Result<T, ServiceError>,
        status: u16,
        code: &str,
        target: &str,
    ) -> ServiceError {
        let error = result.unwrap_err();
        assert_eq!(
            (error.status, error.code.as_str(), error.target.as_deref()),
            (status, code, Some(target)),
            "{error:?}"
        );
        error
    }

    /// Members whose values in the spec's examples are the service's own (dates, state, violations):
    /// only their presence is compared.
    const EXAMPLE_OWN_VALUES: &[&str] = &[
        "publishedDate",
        "reportedForPolicyViolation",
        "policyViolations",
        "provisioningState",
    ];

    /// Every member path of `example` exists in `ours`, with the same value unless listed in
    /// [`EXAMPLE_OWN_VALUES`].
    #[track_caller]
    fn assert_produces(ours: &Value, example: &Value, path: &str) {
        match (ours, example) {
            (Value::Object(ours), Value::Object(example)) => {
                for (key, expected) in example {
                    let member_path = format!("{path}.{key}");
                    let actual = ours
                        .get(key)
                        .unwrap_or_else(|| panic!("{member_path} is missing"));
                    if !EXAMPLE_OWN_VALUES.contains(&key.as_str()) {
                        assert_produces(actual, expected, &member_path);
                    }
                }
            }
            (Value::Array(ours), Value::Array(example)) => {
                assert_eq!(ours.len(), example.len(), "{path} length");
                for (index, (actual, expected)) in ours.iter().zip(example).enumerate() {
                    assert_produces(actual, expected, &format!("{path}[{index}]"));
                }
            }
            _ => assert_eq!(ours, example, "{path}"),
        }
    }

    fn served_properties(version: &GalleryImageVersion) -> Value {
        serde_json::to_value(version).unwrap()["properties"].clone()
    }

    fn encryption(set: &str, luns: &[i64]) -> Value {
        let id = |name: &str| {
            format!(
                "/subscriptions/{{subscriptionId}}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/{name}"
            )
        };
        json!({
            "osDiskImage": {"diskEncryptionSetId": id(set)},
            "dataDiskImages": luns.iter().map(|lun| json!({"lun": lun, "diskEncryptionSetId": id(set)})).collect::<Vec<_>>(),
        })
    }

    // ----- the spec's examples -----

    #[test]
    fn create_example_is_produced() {
        let west = encryption("myWestUSDiskEncryptionSet", &[0, 1]);
        let east = encryption("myEastUSDiskEncryptionSet", &[0, 1]);
        let version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {"targetRegions": [
                        {"name": "West US", "regionalReplicaCount": 1, "encryption": west, "excludeFromLatest": false},
                        {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS",
                         "encryption": east, "excludeFromLatest": false},
                    ]},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                    "safetyProfile": {"allowDeletionOfReplicatedLocations": false, "blockDeletionBeforeEndOfLife": false},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        let example = json!({
            "publishingProfile": {
                "targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                     "encryption": west, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS",
                     "encryption": east, "excludeFromLatest": false},
                ],
                "replicaCount": 1,
                "publishedDate": "2018-01-01T00:00:00Z",
                "storageAccountType": "Standard_LRS",
            },
            "storageProfile": {
                "source": {"id": MANAGED_IMAGE},
                "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
            },
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": false,
                "reportedForPolicyViolation": true,
                "policyViolations": [{"category": "ImageFlaggedUnsafe", "details": "This is the policy violation details."}],
                "blockDeletionBeforeEndOfLife": false,
            },
            "provisioningState": "Creating",
        });
        assert_produces(&served_properties(&version), &example, "properties");
        assert_eq!(version.name, "1.0.0");
        assert_eq!(version.location, "westus");
        assert_eq!(version.resource_type, ids::GALLERY_IMAGE_VERSION_TYPE);
        assert_eq!(version.id, format!("{IMAGE_ID}/versions/1.0.0"));
    }

    #[test]
    fn get_example_is_produced() {
        let west = encryption("myDiskEncryptionSet", &[1]);
        let mut west_with_two_luns = west.clone();
        west_with_two_luns["dataDiskImages"] = json!([
            {"lun": 0, "diskEncryptionSetId": "/subscriptions/{subscriptionId}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/myOtherDiskEncryptionSet"},
            {"lun": 1, "diskEncryptionSetId": "/subscriptions/{subscriptionId}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/myDiskEncryptionSet"},
        ]);
        let version = Scenario::new()
            .create(
                image_version_body(json!([
                    {"name": "West US", "regionalReplicaCount": 1, "encryption": west_with_two_luns, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS", "excludeFromLatest": false},
                ])),
                Some(&image_in("westus")),
            )
            .unwrap();
        let example = json!({
            "publishingProfile": {
                "targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                     "encryption": west_with_two_luns, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS", "excludeFromLatest": false},
                ],
                "replicaCount": 1,
                "publishedDate": "2018-01-01T00:00:00Z",
                "storageAccountType": "Standard_LRS",
            },
            "storageProfile": {
                "source": {"id": MANAGED_IMAGE},
                "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
            },
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": false,
                "reportedForPolicyViolation": true,
                "policyViolations": [{"category": "ImageFlaggedUnsafe", "details": "This is the policy violation details."}],
                "blockDeletionBeforeEndOfLife": false,
            },
            "provisioningState": "Succeeded",
        });
        assert_produces(&served_properties(&version), &example, "properties");
        assert_eq!(
            version.properties.provisioning_state,
            ProvisioningState::Succeeded
        );
    }

    #[test]
    fn update_example_is_produced_keeping_encryption_and_latest_flags() {
        let west = encryption("myDiskEncryptionSet", &[1]);
        let existing = Scenario::new()
            .create(
                image_version_body(json!([
                    {"name": "West US", "regionalReplicaCount": 1, "encryption": west, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 1, "storageAccountType": "Standard_ZRS", "excludeFromLatest": false},
                ])),
                Some(&image_in("westus")),
            )
            .unwrap();
        let update = json!({"properties": {
            "publishingProfile": {"targetRegions": [
                {"name": "West US", "regionalReplicaCount": 1},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS"},
            ]},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }});
        let example = json!({
            "publishingProfile": {
                "targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                     "encryption": west, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS", "excludeFromLatest": false},
                ],
                "replicaCount": 1,
                "publishedDate": "2018-01-01T00:00:00Z",
                "storageAccountType": "Standard_LRS",
            },
            "storageProfile": {
                "source": {"id": MANAGED_IMAGE},
                "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
            },
            "provisioningState": "Updating",
        });
        let later = Scenario::new().at("2026-02-01T00:00:00Z");
        let patched = later.update(&existing, update.clone()).unwrap();
        assert_produces(&served_properties(&patched), &example, "properties");
        // The same body as a PUT (the example's operation is a PATCH; a PUT must agree).
        let replaced = later.replace(&existing, update.clone()).unwrap();
        assert_produces(&served_properties(&replaced), &example, "properties");
        // GalleryImageVersion_Update_WithoutSourceId: an empty storage profile means "unchanged".
        let mut without_source = update;
        without_source["properties"]["storageProfile"] = json!({});
        let patched = later.update(&existing, without_source.clone()).unwrap();
        assert_produces(&served_properties(&patched), &example, "properties");
        let replaced = later.replace(&existing, without_source).unwrap();
        assert_eq!(
            replaced.properties.storage_profile,
            existing.properties.storage_profile
        );
        assert_eq!(
            replaced.properties.publishing_profile.published_date,
            existing.properties.publishing_profile.published_date
        );
        assert_eq!(
            replaced.system_data.created_at,
            existing.system_data.created_at
        );
        assert_ne!(
            replaced.system_data.last_modified_at,
            existing.system_data.last_modified_at
        );
    }

    #[test]
    fn storage_account_strategy_example_is_produced() {
        let version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {
                        "targetRegions": [
                            {"name": "West US"},
                            {"name": "East US"},
                            {"name": "East US 2", "storageAccountType": "Premium_LRS"},
                        ],
                        "storageAccountStrategy": "PreferStandard_ZRS",
                    },
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        let example = json!({
            "publishingProfile": {
                "targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS"},
                    {"name": "East US", "regionalReplicaCount": 1, "storageAccountType": "Standard_ZRS"},
                    {"name": "East US 2", "regionalReplicaCount": 1, "storageAccountType": "Premium_LRS"},
                ],
                "replicaCount": 1,
                "publishedDate": "2018-01-01T00:00:00Z",
                "storageAccountStrategy": "PreferStandard_ZRS",
                "excludeFromLatest": false,
            },
            "safetyProfile": {"reportedForPolicyViolation": false, "allowDeletionOfReplicatedLocations": false},
            "provisioningState": "Updating",
        });
        let served = served_properties(&version);
        assert_produces(&served, &example, "properties");
        assert!(
            served["publishingProfile"]
                .get("storageAccountType")
                .is_none()
        );
    }

    #[test]
    fn shallow_example_is_produced_and_allows_only_the_source_region() {
        let body = |regions: Value| {
            with_properties(json!({
                "publishingProfile": {"targetRegions": regions, "replicationMode": "Shallow"},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            }))
        };
        let version = Scenario::new()
            .create(
                body(json!([{"name": "West US", "regionalReplicaCount": 1, "excludeFromLatest": false}])),
                Some(&image_in("westus")),
            )
            .unwrap();
        let example = json!({"publishingProfile": {
            "targetRegions": [{"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS", "excludeFromLatest": false}],
            "replicaCount": 1,
            "storageAccountType": "Standard_LRS",
            "replicationMode": "Shallow",
        }});
        assert_produces(&served_properties(&version), &example, "properties");
        assert!(replication_plan(&version).is_empty());

        let error = assert_error(
            Scenario::new().create(
                body(json!([{"name": "West US"}, {"name": "East US"}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
        assert!(error.message.contains("Shallow"), "{}", error.message);
        // Adding a region later is refused the same way.
        assert_error(
            Scenario::new().update(
                &version,
                json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "West US"}, {"name": "East US"}]}}}),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
    }

    // ----- create rules -----

    #[test]
    fn the_name_must_be_a_version_number() {
        let error = assert_error(
            Scenario::new().named("1.0").create(
                image_version_body(json!([{"name": "West US"}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersionName",
        );
        assert!(
            error
                .message
                .starts_with("The image version name is invalid.")
        );
        assert!(
            Scenario::new()
                .named("2018.12.1")
                .create(
                    image_version_body(json!([{"name": "West US"}])),
                    Some(&image_in("westus"))
                )
                .is_ok()
        );
    }

    #[test]
    fn a_storage_profile_is_required_on_create() {
        for body in [
            with_properties(json!({"publishingProfile": {"targetRegions": [{"name": "West US"}]}})),
            json!({"location": "West US"}),
        ] {
            let error = assert_error(
                Scenario::new().create(body, Some(&image_in("westus"))),
                400,
                "InvalidParameter",
                "galleryImageVersion.properties.storageProfile",
            );
            assert_eq!(
                error.message,
                "Required parameter 'galleryImageVersion.properties.storageProfile' is missing (null)."
            );
        }
    }

    #[test]
    fn a_location_is_required_on_create() {
        let body = json!({"properties": {"storageProfile": {"source": {"id": MANAGED_IMAGE}}}});
        assert_error(
            Scenario::new().create(body, Some(&image_in("westus"))),
            400,
            "LocationRequired",
            "location",
        );
    }

    #[test]
    fn target_regions_default_to_the_location_with_the_replica_count() {
        let version = Scenario::new()
            .create(
                with_properties(json!({"storageProfile": {"source": {"id": MANAGED_IMAGE}}})),
                Some(&image_in("westus")),
            )
            .unwrap();
        let profile = &version.properties.publishing_profile;
        assert_eq!(profile.replica_count, 1);
        assert_eq!(
            profile.target_regions,
            vec![TargetRegion {
                name: "West US".to_string(),
                regional_replica_count: 1,
                storage_account_type: StorageAccountType::StandardLrs,
                encryption: None,
                exclude_from_latest: None,
                additional_replica_sets: None,
            }]
        );

        let version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {"replicaCount": 3},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        assert_eq!(
            version.properties.publishing_profile.target_regions[0].regional_replica_count,
            3
        );
        // replicaCount applies to listed regions without their own count.
        let version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {"replicaCount": 4, "targetRegions": [
                        {"name": "westus"}, {"name": "East US", "regionalReplicaCount": 2}]},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        let counts: Vec<(&str, u32)> = version
            .properties
            .publishing_profile
            .target_regions
            .iter()
            .map(|region| (region.name.as_str(), region.regional_replica_count))
            .collect();
        assert_eq!(counts, [("West US", 4), ("East US", 2)]);
    }

    #[test]
    fn target_regions_must_be_known_regions() {
        let error = assert_error(
            Scenario::new().create(
                image_version_body(json!([{"name": "West US"}, {"name": "Atlantis"}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
        );
        assert!(error.message.contains("'Atlantis'"), "{}", error.message);
        assert_error(
            Scenario::new().create(
                image_version_body(json!([{"name": "West US"}, {"regionalReplicaCount": 1}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
        );
    }

    #[test]
    fn restricted_target_regions_need_the_subscription_allow_listed() {
        let body =
            || image_version_body(json!([{"name": "West US"}, {"name": "Australia Central"}]));
        let error = assert_error(
            Scenario::new().create(body(), Some(&image_in("westus"))),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
        );
        assert!(
            error.message.contains("Australia Central"),
            "{}",
            error.message
        );
        let mut allowed = Subscription::development();
        allowed.allowed_restricted_regions = vec!["australiacentral".to_string()];
        let version = Scenario::new()
            .subscription(allowed)
            .create(body(), Some(&image_in("westus")))
            .unwrap();
        assert_eq!(
            version.properties.publishing_profile.target_regions[1].name,
            "Australia Central"
        );
    }

    #[test]
    fn duplicate_target_regions_are_refused() {
        let error = assert_error(
            Scenario::new().create(
                image_version_body(
                    json!([{"name": "West US"}, {"name": "east us"}, {"name": "westus"}]),
                ),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
        assert_eq!(
            error.message,
            "Duplicate regions are not allowed in target publishing regions."
        );
    }

    #[test]
    fn the_location_must_be_a_target_region() {
        let error = assert_error(
            Scenario::new().create(
                image_version_body(json!([{"name": "eastus"}, {"name": "North Europe"}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
        assert_eq!(
            error.message,
            "Gallery image version publishing profile regions 'East US, North Europe' must contain the location \
             of image version 'West US'."
        );
    }

    #[test]
    fn the_source_must_be_in_the_version_location() {
        let error = assert_error(
            Scenario::new().create(
                image_version_body(json!([{"name": "West US"}])),
                Some(&image_in("East US")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source.id",
        );
        assert_eq!(
            error.message,
            format!(
                "Source {MANAGED_IMAGE} is not found. Please check source exists, and is in the same region as \
                 gallery image version being created."
            )
        );
        // Per-disk sources name the OS disk's source.
        let error = assert_error(
            Scenario::new().create(
                with_properties(
                    json!({"storageProfile": {"osDiskImage": {"source": {"id": OS_SNAPSHOT}}}}),
                ),
                Some(&ResolvedSource {
                    region: "northeurope".to_string(),
                    disks: vec![],
                }),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
        );
        assert!(error.message.contains(OS_SNAPSHOT));
    }

    #[test]
    fn replica_counts_are_bounded() {
        let create = |scenario: &Scenario, publishing: Value| {
            scenario.create(
                with_properties(json!({
                    "publishingProfile": publishing,
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            )
        };
        let scenario = Scenario::new();
        for count in [0, 11, -1, 4_294_967_297_i64] {
            let error = assert_error(
                create(
                    &scenario,
                    json!({"targetRegions": [{"name": "West US", "regionalReplicaCount": count}]}),
                ),
                400,
                "InvalidParameter",
                "galleryImageVersion.properties.publishingProfile.targetRegions[0].regionalReplicaCount",
            );
            assert_eq!(
                error.message,
                format!(
                    "The value {count} of parameter \
                     'galleryImageVersion.properties.publishingProfile.targetRegions[0].regionalReplicaCount' is \
                     out of range. The value must be between 1 and 10, inclusive."
                )
            );
        }
        let error = assert_error(
            create(&scenario, json!({"replicaCount": 11})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.replicaCount",
        );
        assert!(error.message.ends_with("between 1 and 10, inclusive."));
        assert!(create(&scenario, json!({"replicaCount": 10})).is_ok());
        let generous = Scenario::new().rules(VersionRules {
            max_replicas_per_region: 20,
            ..VersionRules::default()
        });
        assert!(
            create(
                &generous,
                json!({"targetRegions": [{"name": "West US", "regionalReplicaCount": 11}]})
            )
            .is_ok()
        );
    }

    #[test]
    fn zone_redundant_storage_needs_availability_zones() {
        let error = assert_error(
            Scenario::new().create(
                image_version_body(
                    json!([{"name": "West US", "storageAccountType": "Standard_ZRS"}]),
                ),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions[0].storageAccountType",
        );
        assert_eq!(
            error.message,
            "ZRS storage account type is not supported in this region."
        );
        // A global Standard_ZRS applies to regions without their own type.
        let global_zrs = |location: &str, regions: Value| {
            json!({"location": location, "properties": {
                "publishingProfile": {"targetRegions": regions, "storageAccountType": "Standard_ZRS"},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            }})
        };
        assert_error(
            Scenario::new().create(
                global_zrs("West US", json!([{"name": "West US"}])),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.storageAccountType",
        );
        let version = Scenario::new()
            .create(
                global_zrs(
                    "West US",
                    json!([{"name": "West US", "storageAccountType": "Standard_LRS"}, {"name": "East US"}]),
                ),
                Some(&image_in("westus")),
            )
            .unwrap();
        let types: Vec<StorageAccountType> = version
            .properties
            .publishing_profile
            .target_regions
            .iter()
            .map(|region| region.storage_account_type)
            .collect();
        assert_eq!(
            types,
            [
                StorageAccountType::StandardLrs,
                StorageAccountType::StandardZrs
            ]
        );
        assert!(
            Scenario::new()
                .create(
                    global_zrs("East US", json!([{"name": "East US"}])),
                    Some(&image_in("eastus"))
                )
                .is_ok()
        );
    }

    #[test]
    fn premium_storage_types_are_accepted() {
        let version = Scenario::new()
            .create(
                image_version_body(json!([
                    {"name": "West US", "storageAccountType": "premium_lrs"},
                    {"name": "East US", "storageAccountType": "PremiumV2_LRS"},
                ])),
                Some(&image_in("westus")),
            )
            .unwrap();
        let plan: Vec<StorageAccountType> = replication_plan(&version)
            .into_iter()
            .map(|replica| replica.storage_account_type)
            .collect();
        assert_eq!(
            plan,
            [
                StorageAccountType::PremiumLrs,
                StorageAccountType::PremiumV2Lrs
            ]
        );
    }

    #[test]
    fn bad_enum_values_name_their_property() {
        for (properties, target) in [
            (
                json!({"publishingProfile": {"storageAccountType": "Cheap_LRS"}}),
                "galleryImageVersion.properties.publishingProfile.storageAccountType",
            ),
            (
                json!({"publishingProfile": {"replicationMode": "Deep"}}),
                "galleryImageVersion.properties.publishingProfile.replicationMode",
            ),
            (
                json!({"publishingProfile": {"storageAccountStrategy": "Whatever"}}),
                "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
            ),
            (
                json!({"publishingProfile": {"targetRegions": [{"name": "West US", "storageAccountType": "x"}]}}),
                "galleryImageVersion.properties.publishingProfile.targetRegions[0].storageAccountType",
            ),
            (
                json!({"storageProfile": {"osDiskImage": {"hostCaching": "Sometimes"}}}),
                "galleryImageVersion.properties.storageProfile.osDiskImage.hostCaching",
            ),
        ] {
            let mut properties = properties;
            properties["storageProfile"]["source"] = json!({"id": MANAGED_IMAGE});
            let error = assert_error(
                Scenario::new().create(with_properties(properties), Some(&image_in("westus"))),
                400,
                "InvalidParameter",
                target,
            );
            assert!(
                error.message.contains("Allowed values"),
                "{}",
                error.message
            );
        }
        // A value of the wrong JSON type is a body error naming its path.
        assert_error(
            Scenario::new().create(
                with_properties(json!({"publishingProfile": {"replicaCount": "two"}})),
                None,
            ),
            400,
            "InvalidRequestContent",
            "properties.publishingProfile.replicaCount",
        );
    }

    #[test]
    fn the_disks_together_may_not_exceed_the_size_limit() {
        let big = ResolvedSource {
            region: "westus".to_string(),
            disks: vec![
                SourceDisk {
                    lun: None,
                    size_in_gb: 1000,
                    occupied_bytes: 0,
                    host_caching: None,
                },
                SourceDisk {
                    lun: Some(0),
                    size_in_gb: 100,
                    occupied_bytes: 0,
                    host_caching: None,
                },
            ],
        };
        let error = assert_error(
            Scenario::new().create(image_version_body(json!([{"name": "West US"}])), Some(&big)),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile",
        );
        assert_eq!(
            error.message,
            "The GalleryImageVersion source resource size 1100 GB exceeds the max size 1024 GB supported."
        );
        let roomy = Scenario::new().rules(VersionRules {
            max_total_size_gb: 2048,
            ..VersionRules::default()
        });
        assert!(
            roomy
                .create(image_version_body(json!([{"name": "West US"}])), Some(&big))
                .is_ok()
        );
        // Shallow versions copy nothing: no size limit.
        let shallow = with_properties(json!({
            "publishingProfile": {"replicationMode": "Shallow"},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }));
        assert!(Scenario::new().create(shallow, Some(&big)).is_ok());
    }

    #[test]
    fn storage_account_type_defaults_follow_the_api_version() {
        let regions = || image_version_body(json!([{"name": "West US"}, {"name": "East US"}]));
        let types = |version: GalleryImageVersion| -> Vec<StorageAccountType> {
            version
                .properties
                .publishing_profile
                .target_regions
                .iter()
                .map(|region| region.storage_account_type)
                .collect()
        };
        // 2025-03-03: PreferStandard_ZRS is the default strategy.
        let version = Scenario::new()
            .create(regions(), Some(&image_in("westus")))
            .unwrap();
        assert_eq!(
            version.properties.publishing_profile.storage_account_type,
            Some(StorageAccountType::StandardLrs)
        );
        assert_eq!(
            version
                .properties
                .publishing_profile
                .storage_account_strategy,
            None
        );
        assert_eq!(
            types(version),
            [
                StorageAccountType::StandardLrs,
                StorageAccountType::StandardZrs
            ]
        );
        // Older api-versions: Standard_LRS everywhere.
        let version = Scenario::new()
            .api("2024-03-03")
            .create(regions(), Some(&image_in("westus")))
            .unwrap();
        assert_eq!(
            types(version),
            [
                StorageAccountType::StandardLrs,
                StorageAccountType::StandardLrs
            ]
        );
        // An explicit type, or the DefaultStandard_LRS strategy, wins over the default strategy.
        for publishing in [
            json!({"storageAccountType": "Standard_LRS"}),
            json!({"storageAccountStrategy": "DefaultStandard_LRS"}),
        ] {
            let mut publishing = publishing;
            publishing["targetRegions"] = json!([{"name": "West US"}, {"name": "East US"}]);
            let version = Scenario::new()
                .create(
                    with_properties(json!({"publishingProfile": publishing, "storageProfile": {"source": {"id": MANAGED_IMAGE}}})),
                    Some(&image_in("westus")),
                )
                .unwrap();
            assert_eq!(
                types(version),
                [
                    StorageAccountType::StandardLrs,
                    StorageAccountType::StandardLrs
                ]
            );
        }
        // The configured default type applies where no zone-redundant preference does.
        let version = Scenario::new()
            .api("2024-03-03")
            .rules(VersionRules {
                default_storage_account_type: StorageAccountType::PremiumLrs,
                ..VersionRules::default()
            })
            .create(regions(), Some(&image_in("westus")))
            .unwrap();
        assert_eq!(
            types(version),
            [
                StorageAccountType::PremiumLrs,
                StorageAccountType::PremiumLrs
            ]
        );
    }

    #[test]
    fn storage_account_strategy_and_type_are_exclusive() {
        assert_error(
            Scenario::new().create(
                with_properties(json!({
                    "publishingProfile": {"storageAccountType": "Standard_LRS", "storageAccountStrategy": "PreferStandard_ZRS"},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
        );
    }

    #[test]
    fn defaults_of_a_new_version() {
        let version = created();
        let properties = &version.properties;
        assert_eq!(properties.publishing_profile.replica_count, 1);
        assert!(!properties.publishing_profile.exclude_from_latest);
        assert_eq!(
            properties.publishing_profile.published_date,
            "2026-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            properties.publishing_profile.replication_mode,
            ReplicationMode::Full
        );
        assert_eq!(properties.safety_profile, SafetyProfile::default());
        assert_eq!(properties.provisioning_state, ProvisioningState::Succeeded);
        assert_eq!(
            version.system_data.created_at,
            "2026-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn end_of_life_dates_must_be_in_the_future() {
        let body = |date: &str| {
            with_properties(json!({
                "publishingProfile": {"endOfLifeDate": date},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            }))
        };
        let error = assert_error(
            Scenario::new().create(body("2025-12-31"), Some(&image_in("westus"))),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
        );
        assert_eq!(error.message, "EndOfLifeDate must be set to a future date.");
        assert_error(
            Scenario::new().create(body("someday"), Some(&image_in("westus"))),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
        );
        let version = Scenario::new()
            .create(body("2026-06-30"), Some(&image_in("westus")))
            .unwrap();
        assert_eq!(
            version
                .properties
                .publishing_profile
                .end_of_life_date
                .as_deref(),
            Some("2026-06-30T00:00:00+00:00")
        );
        // Once the date has passed, an update may repeat it, but not move it into the past.
        let later = Scenario::new().at("2026-08-01T00:00:00Z");
        assert!(
            later
                .update(
                    &version,
                    json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}})
                )
                .is_ok()
        );
        assert_error(
            later.update(
                &version,
                json!({"properties": {"publishingProfile": {"endOfLifeDate": "2026-07-01T00:00:00Z"}}}),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
        );
        let moved = later
            .update(
                &version,
                json!({"properties": {"publishingProfile": {"endOfLifeDate": "2027-01-01T00:00:00Z"}}}),
            )
            .unwrap();
        assert_eq!(
            moved
                .properties
                .publishing_profile
                .end_of_life_date
                .as_deref(),
            Some("2027-01-01T00:00:00+00:00")
        );
    }

    #[test]
    fn deletion_can_be_blocked_until_the_end_of_life() {
        let version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {"endOfLifeDate": "2026-06-30T00:00:00Z"},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                    "safetyProfile": {"blockDeletionBeforeEndOfLife": true},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        let error = check_delete_allowed(&version, instant("2026-03-01T00:00:00Z")).unwrap_err();
        assert_eq!(
            (error.status, error.code.as_str()),
            (409, "DeleteGalleryImageVersionBlockedBeforeEndOfLife")
        );
        assert!(error.message.contains("2026-06-30"), "{}", error.message);
        assert!(check_delete_allowed(&version, instant("2026-06-30T00:00:00Z")).is_ok());
        assert!(check_delete_allowed(&version, instant("2027-01-01T00:00:00Z")).is_ok());
        // Without the flag nothing blocks; with it but without a date, deletion waits for the flag.
        assert!(check_delete_allowed(&created(), instant("2026-03-01T00:00:00Z")).is_ok());
        let mut undated = version.clone();
        undated.properties.publishing_profile.end_of_life_date = None;
        let error = check_delete_allowed(&undated, instant("2030-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(
            error.code,
            ErrorCode::DeleteGalleryImageVersionBlockedBeforeEndOfLife
        );
        // Clearing the flag (an allowed update) unblocks.
        let unblocked = Scenario::new()
            .update(
                &version,
                json!({"properties": {"safetyProfile": {"blockDeletionBeforeEndOfLife": false}}}),
            )
            .unwrap();
        assert!(check_delete_allowed(&unblocked, instant("2026-03-01T00:00:00Z")).is_ok());
    }

    // ----- update rules -----

    #[test]
    fn immutable_properties_cannot_change() {
        let existing = created();
        let scenario = Scenario::new();
        for (properties, target) in [
            (
                json!({"storageProfile": {"source": {"id": OTHER_IMAGE}}}),
                "galleryImageVersion.properties.storageProfile.source.id",
            ),
            (
                json!({"storageProfile": {"source": {"communityGalleryImageId": "/communityGalleries/c/images/i"}}}),
                "galleryImageVersion.properties.storageProfile.source.communityGalleryImageId",
            ),
            (
                json!({"storageProfile": {"osDiskImage": {"hostCaching": "ReadWrite"}}}),
                "galleryImageVersion.properties.storageProfile.osDiskImage.hostCaching",
            ),
            (
                json!({"publishingProfile": {"storageAccountType": "Premium_LRS"}}),
                "galleryImageVersion.properties.publishingProfile.storageAccountType",
            ),
            (
                json!({"publishingProfile": {"storageAccountStrategy": "PreferStandard_ZRS"}}),
                "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
            ),
            (
                json!({"publishingProfile": {"replicationMode": "Shallow"}}),
                "galleryImageVersion.properties.publishingProfile.replicationMode",
            ),
            (
                json!({"publishingProfile": {"targetRegions": [
                    {"name": "West US"}, {"name": "East US", "storageAccountType": "Standard_LRS"}]}}),
                "galleryImageVersion.properties.publishingProfile.targetRegions[1].storageAccountType",
            ),
            (
                json!({"publishingProfile": {"targetRegions": [
                    {"name": "West US", "encryption": encryption("another", &[])}, {"name": "East US"}]}}),
                "galleryImageVersion.properties.publishingProfile.targetRegions[0].encryption",
            ),
            (
                json!({"securityProfile": {"uefiSettings": {"signatureTemplateNames": ["MicrosoftWindowsTemplate"]}}}),
                "galleryImageVersion.properties.securityProfile",
            ),
        ] {
            let error = assert_error(
                scenario.update(&existing, json!({"properties": properties.clone()})),
                409,
                "PropertyChangeNotAllowed",
                target,
            );
            assert_eq!(
                error.message,
                format!("Changing property '{target}' is not allowed.")
            );
            // A PUT says the same.
            assert_error(
                scenario.replace(&existing, with_properties(properties)),
                409,
                "PropertyChangeNotAllowed",
                target,
            );
        }
        // Repeating values (ids in any casing) is not a change.
        assert!(
            scenario
                .update(
                    &existing,
                    json!({"properties": {
                        "storageProfile": {"source": {"id": MANAGED_IMAGE.to_uppercase()}, "osDiskImage": {"hostCaching": "readonly"}},
                        "publishingProfile": {"storageAccountType": "Standard_LRS", "replicationMode": "Full"},
                    }})
                )
                .is_ok()
        );
    }

    #[test]
    fn disk_sources_cannot_change() {
        let existing = created_from_disks();
        let scenario = Scenario::new();
        assert_error(
            scenario.update(
                &existing,
                json!({"properties": {"storageProfile": {"osDiskImage": {"source": {"id": OTHER_DISK}}}}}),
            ),
            409,
            "PropertyChangeNotAllowed",
            "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
        );
        assert_error(
            scenario.update(
                &existing,
                json!({"properties": {"storageProfile": {"dataDiskImages": [{"lun": 0, "source": {"id": OTHER_DISK}}]}}}),
            ),
            409,
            "PropertyChangeNotAllowed",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[0].source.id",
        );
        let error = assert_error(
            scenario.update(
                &existing,
                json!({"properties": {"storageProfile": {"dataDiskImages": [
                    {"lun": 0, "source": {"id": DATA_DISK}}, {"lun": 5, "source": {"id": OTHER_DISK}}]}}}),
            ),
            409,
            "PropertyChangeNotAllowed",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[1].lun",
        );
        assert!(error.message.contains("Adding new Data Disks"));
        assert!(
            scenario
                .update(
                    &existing,
                    json!({"properties": {"storageProfile": {"dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}]}}})
                )
                .is_ok()
        );
    }

    #[test]
    fn target_regions_replica_counts_and_flags_may_change() {
        let existing = created();
        let updated = Scenario::new()
            .update(
                &existing,
                json!({"properties": {
                    "publishingProfile": {
                        "replicaCount": 2,
                        "excludeFromLatest": true,
                        "targetRegions": [
                            {"name": "West US", "regionalReplicaCount": 3, "excludeFromLatest": false},
                            {"name": "East US"},
                            {"name": "North Europe", "storageAccountType": "Standard_ZRS"},
                            {"name": "West Europe"},
                        ],
                    },
                    "safetyProfile": {"blockDeletionBeforeEndOfLife": true},
                }}),
            )
            .unwrap();
        let profile = &updated.properties.publishing_profile;
        assert_eq!(profile.replica_count, 2);
        assert!(profile.exclude_from_latest);
        let regions: Vec<(&str, u32, StorageAccountType, Option<bool>)> = profile
            .target_regions
            .iter()
            .map(|region| {
                (
                    region.name.as_str(),
                    region.regional_replica_count,
                    region.storage_account_type,
                    region.exclude_from_latest,
                )
            })
            .collect();
        assert_eq!(
            regions,
            [
                ("West US", 3, StorageAccountType::StandardLrs, Some(false)),
                ("East US", 2, StorageAccountType::StandardZrs, None),
                ("North Europe", 2, StorageAccountType::StandardZrs, None),
                // Added by an update: takes the version's stored type.
                ("West Europe", 2, StorageAccountType::StandardLrs, None),
            ]
        );
        assert!(
            updated
                .properties
                .safety_profile
                .block_deletion_before_end_of_life
        );
    }

    #[test]
    fn removing_a_target_region_needs_allow_deletion_of_replicated_locations() {
        let existing = created();
        let west_only = json!({"targetRegions": [{"name": "West US"}]});
        let error = assert_error(
            Scenario::new().update(
                &existing,
                json!({"properties": {"publishingProfile": west_only}}),
            ),
            409,
            "OperationNotAllowed",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
        assert!(
            error
                .message
                .starts_with("Either allowDeletionOfReplicatedLocations is not set as true"),
            "{}",
            error.message
        );
        assert!(error.message.contains("'East US'"));
        // Allowed by the request…
        let updated = Scenario::new()
            .update(
                &existing,
                json!({"properties": {
                    "publishingProfile": west_only,
                    "safetyProfile": {"allowDeletionOfReplicatedLocations": true},
                }}),
            )
            .unwrap();
        assert_eq!(
            replication_changes(&existing, &updated).removed_regions,
            ["eastus"]
        );
        // …or by the stored version.
        let allowing = Scenario::new()
            .update(
                &existing,
                json!({"properties": {"safetyProfile": {"allowDeletionOfReplicatedLocations": true}}}),
            )
            .unwrap();
        let body = with_properties(json!({"publishingProfile": west_only, "storageProfile": {}}));
        let updated = Scenario::new().replace(&allowing, body).unwrap();
        assert_eq!(
            updated.properties.publishing_profile.target_regions.len(),
            1
        );
        assert!(
            updated
                .properties
                .safety_profile
                .allow_deletion_of_replicated_locations
        );
        // The source region itself can never go.
        assert_error(
            Scenario::new().update(
                &allowing,
                json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "East US"}]}}}),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        );
    }

    #[test]
    fn a_put_keeps_what_it_does_not_mention() {
        let existing = created();
        let replaced = Scenario::new()
            .replace(
                &existing,
                json!({"location": "westus", "properties": {"storageProfile": {}}}),
            )
            .unwrap();
        assert_eq!(
            replaced.properties.publishing_profile.target_regions,
            existing.properties.publishing_profile.target_regions
        );
        assert_eq!(
            replaced.properties.storage_profile,
            existing.properties.storage_profile
        );
        // No body properties at all is also "unchanged" on an existing version.
        assert!(Scenario::new().replace(&existing, json!({})).is_ok());
        // The location cannot move.
        assert_error(
            Scenario::new().replace(&existing, json!({"location": "East US", "properties": {}})),
            409,
            "InvalidResourceLocation",
            "location",
        );
    }

    #[test]
    fn a_version_being_deleted_cannot_be_updated() {
        let mut existing = created();
        existing.properties.provisioning_state = ProvisioningState::Deleting;
        let error = Scenario::new()
            .update(&existing, json!({"properties": {}}))
            .unwrap_err();
        assert_eq!(
            (error.status, error.code.as_str()),
            (409, "OperationNotAllowed")
        );
        assert!(error.message.contains("marked for deletion"));
    }

    #[test]
    fn patch_merges_properties_and_replaces_tags() {
        let existing = Scenario::new()
            .create(
                json!({
                    "location": "West US",
                    "tags": {"team": "images"},
                    "properties": {
                        "publishingProfile": {"endOfLifeDate": "2027-01-01T00:00:00Z", "targetRegions": [{"name": "West US"}, {"name": "East US"}]},
                        "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                    },
                }),
                Some(&image_in("westus")),
            )
            .unwrap();
        let later = Scenario::new().at("2026-03-01T00:00:00Z");
        let patched = later
            .update(
                &existing,
                json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}}),
            )
            .unwrap();
        assert!(patched.properties.publishing_profile.exclude_from_latest);
        assert_eq!(patched.tags, existing.tags);
        let mut expected = existing.properties.clone();
        expected.publishing_profile.exclude_from_latest = true;
        assert_eq!(patched.properties, expected);
        assert_eq!(
            patched.system_data.last_modified_at,
            "2026-03-01T00:00:00.000000Z"
        );
        // Tags replace the set; null clears a writable member.
        let patched = later
            .update(
                &patched,
                json!({"tags": {"stage": "prod"}, "properties": {"publishingProfile": {"endOfLifeDate": null}}}),
            )
            .unwrap();
        assert_eq!(
            patched.tags,
            Some(Tags::from([("stage".to_string(), "prod".to_string())]))
        );
        assert_eq!(patched.properties.publishing_profile.end_of_life_date, None);
        assert!(patched.properties.publishing_profile.exclude_from_latest);
        // Read-only members in a PATCH body are ignored.
        let patched = later
            .update(
                &existing,
                json!({"properties": {
                    "provisioningState": "Failed",
                    "publishingProfile": {"publishedDate": "2000-01-01T00:00:00Z"},
                    "safetyProfile": {"reportedForPolicyViolation": true},
                }}),
            )
            .unwrap();
        assert_eq!(patched.properties, existing.properties);
    }

    // ----- sources -----

    fn source_of(storage_profile: Value) -> Result<SourceReference, ServiceError> {
        source_reference(&request(with_properties(
            json!({"storageProfile": storage_profile}),
        )))
    }

    #[test]
    fn source_reference_names_what_to_resolve() {
        let reference = source_of(json!({"source": {"id": MANAGED_IMAGE}})).unwrap();
        assert_eq!(
            reference.artifact,
            Some(SourceItem {
                lun: None,
                target: "galleryImageVersion.properties.storageProfile.source.id".to_string(),
                location: SourceLocation::Resource {
                    id: MANAGED_IMAGE.to_string(),
                    kind: SourceKind::ManagedImage,
                },
            })
        );
        assert!(reference.disks.is_empty());

        let version_id = format!("{IMAGE_ID}/versions/0.9.0");
        let reference = source_of(json!({"source": {"id": version_id}})).unwrap();
        assert_eq!(
            reference.primary().unwrap().location,
            SourceLocation::Resource {
                id: version_id.clone(),
                kind: SourceKind::GalleryImageVersion,
            }
        );

        let reference = source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}, "hostCaching": "ReadOnly"},
            "dataDiskImages": [{"lun": 1, "source": {"id": DATA_DISK}}],
        }))
        .unwrap();
        assert_eq!(reference.artifact, None);
        let disks: Vec<(Option<i32>, SourceKind)> = reference
            .disks
            .iter()
            .map(|item| match &item.location {
                SourceLocation::Resource { kind, .. } => (item.lun, *kind),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            disks,
            [(None, SourceKind::Snapshot), (Some(1), SourceKind::Disk)]
        );

        let reference = source_of(json!({"osDiskImage": {"source": {
            "uri": VHD, "storageAccountId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"}}}))
        .unwrap();
        assert!(matches!(
            &reference.disks[0].location,
            SourceLocation::Blob { uri, storage_account_id: Some(_) } if uri == VHD
        ));
        assert_eq!(
            reference.disks[0].target,
            "galleryImageVersion.properties.storageProfile.osDiskImage.source.uri"
        );

        let reference = source_of(
            json!({"source": {"communityGalleryImageId": "/communityGalleries/pub-1/images/img"}}),
        )
        .unwrap();
        assert!(matches!(
            reference.primary().unwrap().location,
            SourceLocation::CommunityGalleryImage { .. }
        ));
    }

    #[test]
    fn source_ids_must_be_fully_qualified() {
        let error = assert_error(
            source_of(json!({"source": {"id": "myImage"}})),
            400,
            "LinkedInvalidPropertyId",
            "properties.storageProfile.source.id",
        );
        assert_eq!(
            error.message,
            "Property id 'myImage' at path 'properties.storageProfile.source.id' is invalid. Expect fully \
             qualified resource Id that start with '/subscriptions/{subscriptionId}' or \
             '/providers/{resourceProviderNamespace}/'."
        );
        assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                "dataDiskImages": [{"lun": 0, "source": {"id": "resourceGroups/rg/disks/d"}}],
            })),
            400,
            "LinkedInvalidPropertyId",
            "properties.storageProfile.dataDiskImages[0].source.id",
        );
        // put applies the same rule.
        assert_error(
            Scenario::new().create(
                with_properties(
                    json!({"storageProfile": {"osDiskImage": {"source": {"id": "snap"}}}}),
                ),
                None,
            ),
            400,
            "LinkedInvalidPropertyId",
            "properties.storageProfile.osDiskImage.source.id",
        );
    }

    #[test]
    fn virtual_machine_sources_are_not_supported_yet() {
        let machine =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm";
        let error = assert_error(
            source_of(json!({"source": {"virtualMachineId": machine}})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source.virtualMachineId",
        );
        assert!(error.message.contains("not supported by galleryd"));
        assert_error(
            source_of(json!({"source": {"id": machine}})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source.id",
        );
    }

    #[test]
    fn exactly_one_kind_of_source_is_required() {
        for storage_profile in [
            json!({}),
            json!({"source": {}}),
            json!({"source": {"id": ""}}),
            json!({"source": {"id": MANAGED_IMAGE}, "osDiskImage": {"source": {"id": OS_SNAPSHOT}}}),
            json!({"source": {"id": MANAGED_IMAGE, "communityGalleryImageId": "/communityGalleries/c/images/i"}}),
        ] {
            let error = assert_error(
                source_of(storage_profile.clone()),
                400,
                "InvalidParameter",
                "galleryImageVersion.properties.storageProfile.source",
            );
            assert!(
                error
                    .message
                    .starts_with("The gallery artifact version source can only be specified")
            );
            assert_error(
                Scenario::new().create(
                    with_properties(json!({"storageProfile": storage_profile})),
                    None,
                ),
                400,
                "InvalidParameter",
                "galleryImageVersion.properties.storageProfile.source",
            );
        }
        assert_error(
            source_of(json!({"dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}]})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.osDiskImage.source",
        );
        assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                "dataDiskImages": [{"lun": 0}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[0].source",
        );
        assert_error(
            source_of(json!({"osDiskImage": {"source": {"id": OS_SNAPSHOT, "uri": VHD}}})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.osDiskImage.source",
        );
        assert_error(
            source_reference(&request(json!({"location": "West US"}))),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile",
        );
    }

    #[test]
    fn source_ids_must_name_the_right_kind_of_resource() {
        let error = assert_error(
            source_of(json!({"source": {"id": OS_SNAPSHOT}})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source.id",
        );
        assert_eq!(
            error.message,
            format!(
                "The source id: {OS_SNAPSHOT} must either be a managed image, virtual machine or another gallery \
                 image version."
            )
        );
        let error = assert_error(
            source_of(json!({"osDiskImage": {"source": {"id": MANAGED_IMAGE}}})),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
        );
        assert_eq!(
            error.message,
            format!("The source id: {MANAGED_IMAGE} must be a managed disk or snapshot.")
        );
        assert_eq!(
            SourceKind::of_id(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
            ),
            None
        );
        assert_eq!(
            SourceKind::of_id(
                "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/microsoft.compute/Snapshots/x/"
            ),
            Some(SourceKind::Snapshot)
        );
        assert_eq!(
            SourceKind::of_id(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
            ),
            None
        );
    }

    #[test]
    fn luns_and_source_ids_must_be_unique() {
        let error = assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                "dataDiskImages": [{"lun": 1, "source": {"id": DATA_DISK}}, {"lun": 1, "source": {"id": OTHER_DISK}}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.dataDiskImages",
        );
        assert_eq!(
            error.message,
            "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for \
             each data disk."
        );
        let error = assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": DATA_DISK}},
                "dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK.to_uppercase()}}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile",
        );
        assert_eq!(
            error.message,
            "Duplicated source ids are found in the input disks. Source id should be unique for each disk."
        );
        assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"uri": VHD}},
                "dataDiskImages": [{"lun": 0, "source": {"uri": VHD}}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile",
        );
        assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                "dataDiskImages": [{"source": {"id": DATA_DISK}}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
        );
        assert_error(
            source_of(json!({
                "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                "dataDiskImages": [{"lun": -1, "source": {"id": DATA_DISK}}],
            })),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
        );
    }

    #[test]
    fn disks_come_from_the_source_with_the_request_host_caching() {
        let version = created_from_disks();
        let storage = &version.properties.storage_profile;
        assert_eq!(storage.source, None);
        assert_eq!(
            storage.os_disk_image,
            Some(OsDiskImage {
                size_in_gb: Some(30),
                host_caching: Some(HostCaching::ReadOnly),
                source: Some(DiskImageSource {
                    id: Some(OS_SNAPSHOT.to_string()),
                    ..DiskImageSource::default()
                }),
            })
        );
        assert_eq!(
            storage.data_disk_images,
            Some(vec![DataDiskImage {
                lun: 0,
                size_in_gb: Some(4),
                host_caching: Some(HostCaching::None),
                source: Some(DiskImageSource {
                    id: Some(DATA_DISK.to_string()),
                    ..DiskImageSource::default()
                }),
            }])
        );
        // The request's host caching wins over the source's.
        let version = Scenario::new()
            .create(
                with_properties(json!({"storageProfile": {
                    "source": {"id": MANAGED_IMAGE},
                    "osDiskImage": {"hostCaching": "ReadWrite"},
                    "dataDiskImages": [{"lun": 1, "hostCaching": "ReadOnly"}],
                }})),
                Some(&image_in("westus")),
            )
            .unwrap();
        let storage = &version.properties.storage_profile;
        assert_eq!(
            storage.os_disk_image.as_ref().unwrap().host_caching,
            Some(HostCaching::ReadWrite)
        );
        assert_eq!(
            storage.data_disk_images.as_ref().unwrap()[0].host_caching,
            Some(HostCaching::ReadOnly)
        );
        // A LUN the source does not have is refused.
        let error = assert_error(
            Scenario::new().create(
                with_properties(json!({"storageProfile": {
                    "source": {"id": MANAGED_IMAGE},
                    "dataDiskImages": [{"lun": 3, "hostCaching": "ReadOnly"}],
                }})),
                Some(&image_in("westus")),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
        );
        assert!(error.message.contains("['1']"), "{}", error.message);
    }

    #[test]
    fn unresolved_vhd_sources_keep_the_request_disks() {
        let account =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";
        let version = Scenario::new()
            .create(
                with_properties(json!({"storageProfile": {
                    "osDiskImage": {"source": {"uri": VHD, "storageAccountId": account}, "hostCaching": "ReadOnly"},
                    "dataDiskImages": [{"lun": 1, "hostCaching": "None",
                        "source": {"uri": "https://account.blob.core.windows.net/vhds/data.vhd", "storageAccountId": account}}],
                }})),
                None,
            )
            .unwrap();
        let served = served_properties(&version);
        assert_produces(
            &served["storageProfile"],
            &json!({
                "osDiskImage": {"source": {"storageAccountId": account, "uri": VHD}, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"source": {"storageAccountId": account, "uri": "https://account.blob.core.windows.net/vhds/data.vhd"},
                    "lun": 1, "hostCaching": "None"}],
            }),
            "storageProfile",
        );
        assert!(
            served["storageProfile"]["osDiskImage"]
                .get("sizeInGB")
                .is_none()
        );
    }

    // ----- after the decision -----

    #[test]
    fn the_stored_shape_round_trips() {
        let mut version = Scenario::new()
            .create(
                with_properties(json!({
                    "publishingProfile": {
                        "targetRegions": [
                            {"name": "West US", "encryption": encryption("set", &[1]), "excludeFromLatest": true,
                             "additionalReplicaSets": [{"storageAccountType": "PremiumV2_LRS", "regionalReplicaCount": 1}]},
                        ],
                        "endOfLifeDate": "2030-01-01",
                        "targetExtendedLocations": [{"name": "West US", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"}}],
                    },
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                    "safetyProfile": {"allowDeletionOfReplicatedLocations": true, "blockDeletionBeforeEndOfLife": true},
                    "securityProfile": {"uefiSettings": {"signatureTemplateNames": ["MicrosoftUefiCertificateAuthorityTemplate"]}},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        version.tags = Some(Tags::from([("a".to_string(), "b".to_string())]));
        let text = serde_json::to_string(&version).unwrap();
        let back: GalleryImageVersion = serde_json::from_str(&text).unwrap();
        assert_eq!(back, version);
        let served: Value = serde_json::from_str(&text).unwrap();
        let properties = &served["properties"];
        assert_eq!(properties["storageProfile"]["osDiskImage"]["sizeInGB"], 10);
        assert_eq!(
            properties["publishingProfile"]["targetRegions"][0]["additionalReplicaSets"][0]["storageAccountType"],
            "PremiumV2_LRS"
        );
        assert_eq!(
            properties["publishingProfile"]["targetExtendedLocations"][0]["extendedLocation"]["type"],
            "EdgeZone"
        );
        assert_eq!(
            properties["securityProfile"]["uefiSettings"]["signatureTemplateNames"][0],
            "MicrosoftUefiCertificateAuthorityTemplate"
        );
        assert_eq!(properties["safetyProfile"]["policyViolations"], json!([]));
        assert!(properties.get("replicationStatus").is_none());
    }

    #[test]
    fn replication_plan_lists_every_replica() {
        let plan = replication_plan(&created());
        let replicas: Vec<(&str, u32, StorageAccountType)> = plan
            .iter()
            .map(|replica| {
                (
                    replica.region.as_str(),
                    replica.replica_index,
                    replica.storage_account_type,
                )
            })
            .collect();
        assert_eq!(
            replicas,
            [
                ("westus", 0, StorageAccountType::StandardLrs),
                ("eastus", 0, StorageAccountType::StandardZrs),
                ("eastus", 1, StorageAccountType::StandardZrs),
            ]
        );
    }

    #[test]
    fn replication_changes_report_added_removed_and_resized_regions() {
        let existing = created();
        assert!(replication_changes(&existing, &existing).is_empty());
        let updated = Scenario::new()
            .update(
                &existing,
                json!({"properties": {
                    "publishingProfile": {"targetRegions": [
                        {"name": "West US", "regionalReplicaCount": 3},
                        {"name": "North Europe"},
                    ]},
                    "safetyProfile": {"allowDeletionOfReplicatedLocations": true},
                }}),
            )
            .unwrap();
        assert_eq!(
            replication_changes(&existing, &updated),
            ReplicationChanges {
                added_regions: vec!["northeurope".to_string()],
                removed_regions: vec!["eastus".to_string()],
                replica_count_changes: vec![ReplicaCountChange {
                    region: "westus".to_string(),
                    previous: 1,
                    current: 3,
                }],
            }
        );
    }

    #[test]
    fn replication_status_is_added_on_request() {
        let status = |states: &[ReplicationState]| -> Vec<RegionalReplicationStatus> {
            states
                .iter()
                .enumerate()
                .map(|(index, state)| RegionalReplicationStatus {
                    region: format!("Region {index}"),
                    state: *state,
                    details: String::new(),
                    progress: if *state == ReplicationState::Completed {
                        100
                    } else {
                        40
                    },
                })
                .collect()
        };
        use ReplicationState::{Completed, Failed, Replicating, Unknown};
        for (states, expected) in [
            (vec![], AggregatedReplicationState::Unknown),
            (vec![Unknown, Unknown], AggregatedReplicationState::Unknown),
            (
                vec![Completed, Completed],
                AggregatedReplicationState::Completed,
            ),
            (
                vec![Completed, Replicating],
                AggregatedReplicationState::InProgress,
            ),
            (
                vec![Completed, Unknown],
                AggregatedReplicationState::InProgress,
            ),
            (
                vec![Completed, Failed, Replicating],
                AggregatedReplicationState::Failed,
            ),
        ] {
            assert_eq!(aggregate(&status(&states)), expected, "{states:?}");
        }
        let version = created();
        let document = serde_json::to_value(&version).unwrap();
        let expanded = with_replication_status(
            document,
            &ReplicationStatus::from_summary(vec![
                RegionalReplicationStatus {
                    region: "West US".to_string(),
                    state: Completed,
                    details: String::new(),
                    progress: 100,
                },
                RegionalReplicationStatus {
                    region: "East US".to_string(),
                    state: Completed,
                    details: String::new(),
                    progress: 100,
                },
            ]),
        );
        // GalleryImageVersion_Get_WithReplicationStatus.json
        assert_eq!(
            expanded["properties"]["replicationStatus"],
            json!({"aggregatedState": "Completed", "summary": [
                {"region": "West US", "state": "Completed", "details": "", "progress": 100},
                {"region": "East US", "state": "Completed", "details": "", "progress": 100},
            ]})
        );
        // The stored shape still reads the expanded document (replicationStatus is not stored).
        let back: GalleryImageVersion = serde_json::from_value(expanded).unwrap();
        assert_eq!(back, version);
    }

    #[test]
    fn latest_candidates_come_from_stored_versions() {
        let existing = created();
        let excluded = Scenario::new()
            .named("2.0.0")
            .create(
                with_properties(json!({
                    "publishingProfile": {"excludeFromLatest": true, "targetRegions": [
                        {"name": "West US"}, {"name": "East US", "excludeFromLatest": false}]},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                })),
                Some(&image_in("westus")),
            )
            .unwrap();
        let mut creating = Scenario::new()
            .named("3.0.0")
            .create(
                image_version_body(json!([{"name": "West US"}])),
                Some(&image_in("westus")),
            )
            .unwrap();
        creating.properties.provisioning_state = ProvisioningState::Creating;
        let candidates: Vec<LatestCandidate> = [&existing, &excluded, &creating]
            .into_iter()
            .filter_map(latest_candidate)
            .collect();
        let latest =
            |region| crate::latest::resolve(candidates.clone(), region).map(|winner| winner.name);
        assert_eq!(latest(None).as_deref(), Some("1.0.0"));
        assert_eq!(latest(Some("West US")).as_deref(), Some("1.0.0"));
        // A regional `false` does not bring back a globally excluded version.
        assert_eq!(latest(Some("eastus")).as_deref(), Some("1.0.0"));
        assert!(!is_usable(ProvisioningState::Deleting));
        assert!(is_usable(ProvisioningState::Updating));
    }
}
