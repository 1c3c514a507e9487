//! Managed images (`Microsoft.Compute/images`): an OS disk and optional data disks copied from
//! snapshots or managed disks, and the most common source of gallery image versions
//! (`az sig image-version create --managed-image`).
//!
//! An image owns copies of its sources' bytes (a managed image is a copy in Azure), so creating one
//! is a long-running operation: the ARM front end resolves the sources, lets [`put`] decide the
//! document, and a content-copy job settles it. The rules decided here:
//!
//! - `storageProfile.osDisk` with `osType` (`Windows`/`Linux`) and `osState`
//!   (`Generalized`/`Specialized`) is required; `sourceVirtualMachine` and `blobUri` are refused
//!   (400: galleryd has no virtual machines, and no VHD import for images yet).
//! - Every disk names exactly one source, `snapshot.id` or `managedDisk.id`, a full ARM id of a
//!   `Microsoft.Compute/snapshots` or `Microsoft.Compute/disks` resource (400 `InvalidParameter`, or
//!   400 `LinkedInvalidPropertyId` for something that is not a resource id at all).
//! - Data disks need a `lun` between 0 and 63, unique within the image.
//! - `diskSizeGB` defaults to the source's size (whole GiB, rounded up) and may not be smaller.
//! - `hyperVGeneration` defaults to `V1`; disks default to caching `ReadWrite` (OS) / `None` (data)
//!   and storage account type `Standard_LRS`.
//! - After creation only the tags change: a PUT or PATCH that changes anything else is 409
//!   `PropertyChangeNotAllowed` naming the property (`image.properties.storageProfile.osDisk.caching`).
//!   Members a request leaves out are unchanged.
//!
//! The checks that need the store (the source exists, is in the image's region, has its content)
//! are made by the front end with the errors [`source_not_found`], [`source_in_other_region`] and
//! [`source_not_ready`], in that order, before [`put`] runs.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::identity::Subscription;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, check_unchanged, from_value_at,
    location_for_put, missing_property, name_and_system_data, patched_properties, resolve_location,
    tags_for_patch, validate_tags, without_nulls,
};
use crate::models::disk::{self, MAX_DISK_SIZE_GB};
use crate::models::gallery_image::{HyperVGeneration, OperatingSystemState, OperatingSystemType};
use crate::models::gallery_image_version::{HostCaching, SourceKind};
use crate::tags::Tags;

/// `Microsoft.Compute/images`.
pub const IMAGE_TYPE: &str = "Microsoft.Compute/images";
/// The highest data disk LUN.
pub const MAX_LUN: i64 = 63;

const TARGET: &str = "image.properties";

crate::string_enum! {
    /// StorageAccountTypes: the disk SKU of disks made from the image.
    pub enum StorageAccountType {
        StandardLrs = "Standard_LRS",
        PremiumLrs = "Premium_LRS",
        StandardSsdLrs = "StandardSSD_LRS",
        UltraSsdLrs = "UltraSSD_LRS",
        PremiumZrs = "Premium_ZRS",
        StandardSsdZrs = "StandardSSD_ZRS",
        PremiumV2Lrs = "PremiumV2_LRS",
    }
}

/// SubResource: a reference to another resource by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubResource {
    pub id: String,
}

/// ImageOSDisk, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOsDisk {
    pub os_type: OperatingSystemType,
    pub os_state: OperatingSystemState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_disk: Option<SubResource>,
    pub caching: HostCaching,
    /// Kept when a request gives it (some clients send it); not part of the spec's ImageOSDisk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_accelerator_enabled: Option<bool>,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: i32,
    pub storage_account_type: StorageAccountType,
}

/// ImageDataDisk, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDataDisk {
    pub lun: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_disk: Option<SubResource>,
    pub caching: HostCaching,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: i32,
    pub storage_account_type: StorageAccountType,
}

/// ImageStorageProfile, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStorageProfile {
    pub os_disk: ImageOsDisk,
    #[serde(default)]
    pub data_disks: Vec<ImageDataDisk>,
    #[serde(default)]
    pub zone_resilient: bool,
}

/// `properties` of a managed image, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageProperties {
    pub storage_profile: ImageStorageProfile,
    pub provisioning_state: ProvisioningState,
    pub hyper_v_generation: HyperVGeneration,
}

/// A managed image as stored and served.
pub type Image = TrackedResource<ImageProperties>;

// ----- request shapes -----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubResourceInput {
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsDiskInput {
    os_type: Option<String>,
    os_state: Option<String>,
    snapshot: Option<SubResourceInput>,
    managed_disk: Option<SubResourceInput>,
    blob_uri: Option<String>,
    caching: Option<String>,
    write_accelerator_enabled: Option<bool>,
    #[serde(rename = "diskSizeGB")]
    disk_size_gb: Option<i64>,
    storage_account_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataDiskInput {
    lun: Option<i64>,
    snapshot: Option<SubResourceInput>,
    managed_disk: Option<SubResourceInput>,
    blob_uri: Option<String>,
    caching: Option<String>,
    #[serde(rename = "diskSizeGB")]
    disk_size_gb: Option<i64>,
    storage_account_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfileInput {
    os_disk: Option<OsDiskInput>,
    data_disks: Option<Vec<DataDiskInput>>,
    zone_resilient: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImagePropertiesInput {
    source_virtual_machine: Option<SubResourceInput>,
    storage_profile: Option<StorageProfileInput>,
    hyper_v_generation: Option<String>,
}

/// The body of an image PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

// ----- sources -----

/// What kind of resource an image disk is copied from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskSourceKind {
    /// `snapshot.id`: a `Microsoft.Compute/snapshots` resource.
    Snapshot,
    /// `managedDisk.id`: a `Microsoft.Compute/disks` resource.
    ManagedDisk,
}

impl DiskSourceKind {
    /// How messages name the kind.
    pub fn noun(self) -> &'static str {
        match self {
            DiskSourceKind::Snapshot => "snapshot",
            DiskSourceKind::ManagedDisk => "managed disk",
        }
    }

    fn member(self) -> &'static str {
        match self {
            DiskSourceKind::Snapshot => "snapshot",
            DiskSourceKind::ManagedDisk => "managedDisk",
        }
    }

    fn resource_kind(self) -> SourceKind {
        match self {
            DiskSourceKind::Snapshot => SourceKind::Snapshot,
            DiskSourceKind::ManagedDisk => SourceKind::Disk,
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            DiskSourceKind::Snapshot => disk::SNAPSHOT_TYPE,
            DiskSourceKind::ManagedDisk => disk::DISK_TYPE,
        }
    }
}

/// The source one disk of a new image is copied from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSource {
    /// `os`, or `lun<n>` for a data disk (the disk names of the image's internal data).
    pub disk: String,
    pub kind: DiskSourceKind,
    /// The source's id as the request gives it (without a trailing `/`).
    pub id: String,
    /// The property path errors about this source name, e.g.
    /// `image.properties.storageProfile.osDisk.snapshot.id`.
    pub target: String,
}

/// What a create request's sources are: the image's region and one source per disk (the OS disk's
/// first, then the data disks in request order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImageSources {
    /// The image's region (short name, e.g. `westus`).
    pub region: String,
    pub disks: Vec<DiskSource>,
}

/// The size of the content behind a resolved source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSize {
    /// `os` or `lun<n>`, as in [`DiskSource::disk`].
    pub disk: String,
    /// Provisioned size of the source's content, in bytes.
    pub logical_size: u64,
}

fn target(member: &str) -> String {
    format!("{TARGET}.{member}")
}

/// The request-body path of a target (`properties.storageProfile.osDisk.snapshot.id`).
fn request_path(target: &str) -> &str {
    target.strip_prefix("image.").unwrap_or(target)
}

/// A string member that was really given (not empty or blank).
fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn given_id(value: &Option<SubResourceInput>) -> Option<&str> {
    value.as_ref().and_then(|reference| given(&reference.id))
}

/// Whole GiB of `logical_size` bytes, rounded up (at least 1), as the `int32` sizes of image and
/// image version disks.
pub fn size_in_gb(logical_size: u64) -> i32 {
    i32::try_from(disk::size_in_gb(logical_size)).unwrap_or(i32::MAX)
}

/// 404 `ResourceNotFound` for a source that does not exist, naming it, with the property as target.
pub fn source_not_found(source: &DiskSource) -> ServiceError {
    ServiceError::resource_not_found(
        ids::provider_path(&source.id),
        disk::resource_group_of(&source.id),
    )
    .with_target(&source.target)
}

/// 400 `InvalidParameter`: an image is made from sources in its own region only.
pub fn source_in_other_region(
    source: &DiskSource,
    source_region: &str,
    image_region: &str,
) -> ServiceError {
    ServiceError::invalid_parameter(
        &source.target,
        format!(
            "The source {} '{}' is in region '{source_region}', but the image is created in region \
             '{image_region}'. An image can only be created from sources in its own region.",
            source.kind.noun(),
            source.id
        ),
    )
}

/// 409 `Conflict`: the source's bytes are not complete (`state` is its provisioning state while it
/// is being created; `None` when it has succeeded but its content is missing or still taking an
/// upload).
pub fn source_not_ready(source: &DiskSource, state: Option<&str>) -> ServiceError {
    let why = match state {
        Some(state) => format!("its provisioning state is '{state}'"),
        None => "its bytes are not complete (an upload to it has not ended with endGetAccess, or \
                 its content is not recorded yet)"
            .to_string(),
    };
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "The source {} '{}' is not ready: {why}. Retry once its bytes are complete.",
            source.kind.noun(),
            source.id
        ),
    )
    .with_target(&source.target)
}

/// 409 `OperationNotAllowed`: the image is still being created (its bytes are being copied), so it
/// cannot be changed yet.
pub fn image_busy(name: &str, state: &str) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::OperationNotAllowed,
        format!(
            "The image '{name}' cannot be changed while its provisioning state is '{state}'. Retry \
             once its creation has finished."
        ),
    )
}

/// 409 `Conflict`: the image appeared or disappeared while the request was being processed (a
/// concurrent create or delete); the request can simply be retried.
pub fn changed_meanwhile(name: &str) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "The image '{name}' was created or deleted by another request while this one was \
             processed. Retry the request."
        ),
    )
}

/// Image names: 1-80 letters, digits, `_`, `.` and `-`, starting with a letter or digit and ending
/// with a letter, digit or `_`. 400 `InvalidResourceName` otherwise.
pub fn validate_image_name(name: &str) -> Result<(), ServiceError> {
    let bytes = name.as_bytes();
    let valid = !name.is_empty()
        && name.len() <= 80
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_.-".contains(byte))
        && bytes[0].is_ascii_alphanumeric()
        && (bytes[bytes.len() - 1].is_ascii_alphanumeric() || bytes[bytes.len() - 1] == b'_');
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid_resource_name(
            name,
            IMAGE_TYPE,
            "Image names have 1 to 80 letters, digits, underscores, periods and hyphens, start with a \
             letter or digit and end with a letter, digit or underscore.",
        ))
    }
}

fn out_of_range(value: i64, target: &str, min: i64, max: i64) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        format!(
            "The value {value} of parameter '{target}' is out of range. The value must be between \
             {min} and {max}, inclusive."
        ),
    )
}

// ----- disks -----

/// The members every image disk shares, read from an OS or a data disk of a request.
struct DiskInput<'a> {
    /// `storageProfile.osDisk` or `storageProfile.dataDisks[2]`.
    member: String,
    snapshot: Option<&'a str>,
    managed_disk: Option<&'a str>,
    blob_uri: Option<&'a str>,
    caching: Option<&'a str>,
    disk_size_gb: Option<i64>,
    storage_account_type: Option<&'a str>,
}

impl DiskInput<'_> {
    fn target(&self, member: &str) -> String {
        target(&format!("{}.{member}", self.member))
    }
}

fn os_disk_input(disk: &OsDiskInput) -> DiskInput<'_> {
    DiskInput {
        member: "storageProfile.osDisk".to_string(),
        snapshot: given_id(&disk.snapshot),
        managed_disk: given_id(&disk.managed_disk),
        blob_uri: given(&disk.blob_uri),
        caching: given(&disk.caching),
        disk_size_gb: disk.disk_size_gb,
        storage_account_type: given(&disk.storage_account_type),
    }
}

fn data_disk_input(disk: &DataDiskInput, index: usize) -> DiskInput<'_> {
    DiskInput {
        member: format!("storageProfile.dataDisks[{index}]"),
        snapshot: given_id(&disk.snapshot),
        managed_disk: given_id(&disk.managed_disk),
        blob_uri: given(&disk.blob_uri),
        caching: given(&disk.caching),
        disk_size_gb: disk.disk_size_gb,
        storage_account_type: given(&disk.storage_account_type),
    }
}

/// The optional settings of a disk being created.
struct DiskSettings {
    caching: Option<HostCaching>,
    disk_size_gb: Option<i32>,
    storage_account_type: Option<StorageAccountType>,
}

fn parse_caching(disk: &DiskInput<'_>) -> Result<Option<HostCaching>, ServiceError> {
    disk.caching
        .map(|value| HostCaching::parse(value, &disk.target("caching")))
        .transpose()
}

fn parse_storage_account_type(
    disk: &DiskInput<'_>,
) -> Result<Option<StorageAccountType>, ServiceError> {
    disk.storage_account_type
        .map(|value| StorageAccountType::parse(value, &disk.target("storageAccountType")))
        .transpose()
}

fn parse_settings(disk: &DiskInput<'_>) -> Result<DiskSettings, ServiceError> {
    let caching = parse_caching(disk)?;
    let disk_size_gb = match disk.disk_size_gb {
        None => None,
        Some(size) => Some(
            i32::try_from(size)
                .ok()
                .filter(|size| (1..=MAX_DISK_SIZE_GB).contains(&i64::from(*size)))
                .ok_or_else(|| {
                    out_of_range(size, &disk.target("diskSizeGB"), 1, MAX_DISK_SIZE_GB)
                })?,
        ),
    };
    let storage_account_type = parse_storage_account_type(disk)?;
    Ok(DiskSettings {
        caching,
        disk_size_gb,
        storage_account_type,
    })
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

/// The one source of a disk being created.
fn parse_source(disk: &DiskInput<'_>, disk_name: String) -> Result<DiskSource, ServiceError> {
    let named = [
        disk.snapshot.is_some(),
        disk.managed_disk.is_some(),
        disk.blob_uri.is_some(),
    ]
    .iter()
    .filter(|named| **named)
    .count();
    if named != 1 {
        let member = target(&disk.member);
        return Err(ServiceError::invalid_parameter(
            &member,
            format!(
                "The disk '{member}' must name exactly one source: a snapshot ('snapshot.id'), a \
                 managed disk ('managedDisk.id') or a VHD ('blobUri')."
            ),
        ));
    }
    if disk.blob_uri.is_some() {
        return Err(ServiceError::invalid_parameter(
            disk.target("blobUri"),
            "Creating an image disk from a VHD blob ('blobUri') is not supported by galleryd yet. \
             Upload the VHD to a managed disk and create the image from the disk or a snapshot of it.",
        ));
    }
    let (id, kind) = match (disk.snapshot, disk.managed_disk) {
        (Some(id), _) => (id, DiskSourceKind::Snapshot),
        (None, Some(id)) => (id, DiskSourceKind::ManagedDisk),
        (None, None) => return Err(missing_property(&disk.target("snapshot.id"))),
    };
    let id_target = disk.target(&format!("{}.id", kind.member()));
    check_fully_qualified(id, &id_target)?;
    if SourceKind::of_id(id) != Some(kind.resource_kind()) {
        return Err(ServiceError::invalid_parameter(
            &id_target,
            format!(
                "The id '{id}' of '{id_target}' must be the id of a {} \
                 (/subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroup}}/providers/{}/{{name}}).",
                kind.noun(),
                kind.resource_type()
            ),
        ));
    }
    Ok(DiskSource {
        disk: disk_name,
        kind,
        id: id.trim_end_matches('/').to_string(),
        target: id_target,
    })
}

/// A disk of a new image, parsed.
struct NewDisk {
    /// `storageProfile.osDisk` or `storageProfile.dataDisks[2]`.
    member: String,
    lun: Option<i32>,
    source: DiskSource,
    settings: DiskSettings,
}

/// A new image's properties, parsed and checked (everything but what needs the sources).
struct NewImage {
    os_type: OperatingSystemType,
    os_state: OperatingSystemState,
    write_accelerator_enabled: Option<bool>,
    disks: Vec<NewDisk>,
    zone_resilient: bool,
    hyper_v_generation: HyperVGeneration,
}

fn parse_lun(value: Option<i64>, index: usize) -> Result<i32, ServiceError> {
    let lun_target = target(&format!("storageProfile.dataDisks[{index}].lun"));
    let value = value.ok_or_else(|| missing_property(&lun_target))?;
    i32::try_from(value)
        .ok()
        .filter(|lun| (0..=MAX_LUN).contains(&i64::from(*lun)))
        .ok_or_else(|| out_of_range(value, &lun_target, 0, MAX_LUN))
}

fn duplicated_luns() -> ServiceError {
    ServiceError::invalid_parameter(
        target("storageProfile.dataDisks"),
        "Duplicated lun numbers have been detected in the input data disks. Lun number must be \
         unique for each data disk.",
    )
}

fn parse_properties(properties: Value) -> Result<ImagePropertiesInput, ServiceError> {
    let input: ImagePropertiesInput = match properties {
        Value::Null => return Err(missing_property(TARGET)),
        value => from_value_at(without_nulls(value), "properties")?,
    };
    if let Some(id) = given_id(&input.source_virtual_machine) {
        return Err(ServiceError::invalid_parameter(
            target("sourceVirtualMachine.id"),
            format!(
                "Creating an image from the virtual machine '{id}' is not supported by galleryd yet: \
                 galleryd has no virtual machines. Create the image from snapshots or managed disks \
                 ('storageProfile') instead."
            ),
        ));
    }
    Ok(input)
}

fn parse_new(input: &ImagePropertiesInput) -> Result<NewImage, ServiceError> {
    let storage = input
        .storage_profile
        .as_ref()
        .ok_or_else(|| missing_property(&target("storageProfile")))?;
    let os_disk = storage
        .os_disk
        .as_ref()
        .ok_or_else(|| missing_property(&target("storageProfile.osDisk")))?;
    let os_type = OperatingSystemType::parse(
        given(&os_disk.os_type)
            .ok_or_else(|| missing_property(&target("storageProfile.osDisk.osType")))?,
        &target("storageProfile.osDisk.osType"),
    )?;
    let os_state = OperatingSystemState::parse(
        given(&os_disk.os_state)
            .ok_or_else(|| missing_property(&target("storageProfile.osDisk.osState")))?,
        &target("storageProfile.osDisk.osState"),
    )?;
    let os_input = os_disk_input(os_disk);
    let mut disks = vec![NewDisk {
        member: os_input.member.clone(),
        lun: None,
        source: parse_source(&os_input, "os".to_string())?,
        settings: parse_settings(&os_input)?,
    }];
    let mut luns = HashSet::new();
    for (index, disk) in storage.data_disks.iter().flatten().enumerate() {
        let lun = parse_lun(disk.lun, index)?;
        if !luns.insert(lun) {
            return Err(duplicated_luns());
        }
        let disk_input = data_disk_input(disk, index);
        disks.push(NewDisk {
            member: disk_input.member.clone(),
            lun: Some(lun),
            source: parse_source(&disk_input, format!("lun{lun}"))?,
            settings: parse_settings(&disk_input)?,
        });
    }
    let hyper_v_generation = match given(&input.hyper_v_generation) {
        Some(value) => HyperVGeneration::parse(value, &target("hyperVGeneration"))?,
        None => HyperVGeneration::V1,
    };
    Ok(NewImage {
        os_type,
        os_state,
        write_accelerator_enabled: os_disk.write_accelerator_enabled,
        disks,
        zone_resilient: storage.zone_resilient.unwrap_or(false),
        hyper_v_generation,
    })
}

/// Validates a create request (tags, location, properties) and lists the sources its disks are
/// copied from, for the caller to resolve before [`put`]. Errors are the same as [`put`]'s for a
/// new image.
pub fn sources_of_new(
    request: &ImageRequest,
    subscription: &Subscription,
) -> Result<NewImageSources, ServiceError> {
    validate_tags(request.tags.clone())?;
    let region = resolve_location(request.location.as_deref(), IMAGE_TYPE, subscription)?;
    let input = parse_properties(request.properties.clone().unwrap_or(Value::Null))?;
    let new = parse_new(&input)?;
    Ok(NewImageSources {
        region: region.name.to_string(),
        disks: new.disks.into_iter().map(|disk| disk.source).collect(),
    })
}

/// The size of a disk: the requested one (at least the source's), or the source's.
fn disk_size(disk: &NewDisk, sizes: &[SourceSize], name: &str) -> Result<i32, ServiceError> {
    let logical_size = sizes
        .iter()
        .find(|size| size.disk == disk.source.disk)
        .map(|size| size.logical_size)
        .ok_or_else(|| changed_meanwhile(name))?;
    let source_size = size_in_gb(logical_size);
    match disk.settings.disk_size_gb {
        None => Ok(source_size),
        Some(requested) if requested < source_size => {
            let member = format!("{}.diskSizeGB", disk.member);
            Err(ServiceError::invalid_parameter(
                target(&member),
                format!(
                    "The disk size {requested} GB is smaller than the size of its source {} '{}' \
                     ({source_size} GB). A disk can only be as large as its source or larger.",
                    disk.source.kind.noun(),
                    disk.source.id
                ),
            ))
        }
        Some(requested) => Ok(requested),
    }
}

fn new_properties(
    new: NewImage,
    sizes: &[SourceSize],
    name: &str,
) -> Result<ImageProperties, ServiceError> {
    let mut os_disk = None;
    let mut data_disks = Vec::new();
    for disk in &new.disks {
        let disk_size_gb = disk_size(disk, sizes, name)?;
        let reference = Some(SubResource {
            id: disk.source.id.clone(),
        });
        let (snapshot, managed_disk) = match disk.source.kind {
            DiskSourceKind::Snapshot => (reference, None),
            DiskSourceKind::ManagedDisk => (None, reference),
        };
        let storage_account_type = disk
            .settings
            .storage_account_type
            .unwrap_or(StorageAccountType::StandardLrs);
        match disk.lun {
            None => {
                os_disk = Some(ImageOsDisk {
                    os_type: new.os_type,
                    os_state: new.os_state,
                    snapshot,
                    managed_disk,
                    caching: disk.settings.caching.unwrap_or(HostCaching::ReadWrite),
                    write_accelerator_enabled: new.write_accelerator_enabled,
                    disk_size_gb,
                    storage_account_type,
                });
            }
            Some(lun) => data_disks.push(ImageDataDisk {
                lun,
                snapshot,
                managed_disk,
                caching: disk.settings.caching.unwrap_or(HostCaching::None),
                disk_size_gb,
                storage_account_type,
            }),
        }
    }
    let os_disk = os_disk.ok_or_else(|| missing_property(&target("storageProfile.osDisk")))?;
    Ok(ImageProperties {
        storage_profile: ImageStorageProfile {
            os_disk,
            data_disks,
            zone_resilient: new.zone_resilient,
        },
        provisioning_state: ProvisioningState::Creating,
        hyper_v_generation: new.hyper_v_generation,
    })
}

// ----- updates -----

/// The members of a stored disk an update is compared with.
struct StoredDisk<'a> {
    snapshot: Option<&'a SubResource>,
    managed_disk: Option<&'a SubResource>,
    caching: HostCaching,
    disk_size_gb: i32,
    storage_account_type: StorageAccountType,
}

impl ImageOsDisk {
    fn stored(&self) -> StoredDisk<'_> {
        StoredDisk {
            snapshot: self.snapshot.as_ref(),
            managed_disk: self.managed_disk.as_ref(),
            caching: self.caching,
            disk_size_gb: self.disk_size_gb,
            storage_account_type: self.storage_account_type,
        }
    }
}

impl ImageDataDisk {
    fn stored(&self) -> StoredDisk<'_> {
        StoredDisk {
            snapshot: self.snapshot.as_ref(),
            managed_disk: self.managed_disk.as_ref(),
            caching: self.caching,
            disk_size_gb: self.disk_size_gb,
            storage_account_type: self.storage_account_type,
        }
    }
}

fn same_reference(requested: &str, stored: Option<&SubResource>) -> bool {
    stored.is_some_and(|stored| {
        stored
            .id
            .trim_end_matches('/')
            .eq_ignore_ascii_case(requested.trim_end_matches('/'))
    })
}

/// Every member the request gives must equal the stored one; absent members are unchanged.
fn check_disk_unchanged(
    stored: &StoredDisk<'_>,
    input: &DiskInput<'_>,
) -> Result<(), ServiceError> {
    if let Some(id) = input.snapshot
        && !same_reference(id, stored.snapshot)
    {
        return Err(ServiceError::property_change_not_allowed(
            input.target("snapshot.id"),
        ));
    }
    if let Some(id) = input.managed_disk
        && !same_reference(id, stored.managed_disk)
    {
        return Err(ServiceError::property_change_not_allowed(
            input.target("managedDisk.id"),
        ));
    }
    if input.blob_uri.is_some() {
        return Err(ServiceError::property_change_not_allowed(
            input.target("blobUri"),
        ));
    }
    check_unchanged(
        stored.caching,
        parse_caching(input)?,
        &input.target("caching"),
    )?;
    if input
        .disk_size_gb
        .is_some_and(|size| size != i64::from(stored.disk_size_gb))
    {
        return Err(ServiceError::property_change_not_allowed(
            input.target("diskSizeGB"),
        ));
    }
    check_unchanged(
        stored.storage_account_type,
        parse_storage_account_type(input)?,
        &input.target("storageAccountType"),
    )?;
    Ok(())
}

fn check_os_disk_unchanged(stored: &ImageOsDisk, input: &OsDiskInput) -> Result<(), ServiceError> {
    check_unchanged(
        stored.os_type,
        given(&input.os_type)
            .map(|value| OperatingSystemType::parse(value, &target("storageProfile.osDisk.osType")))
            .transpose()?,
        &target("storageProfile.osDisk.osType"),
    )?;
    check_unchanged(
        stored.os_state,
        given(&input.os_state)
            .map(|value| {
                OperatingSystemState::parse(value, &target("storageProfile.osDisk.osState"))
            })
            .transpose()?,
        &target("storageProfile.osDisk.osState"),
    )?;
    check_disk_unchanged(&stored.stored(), &os_disk_input(input))?;
    if input
        .write_accelerator_enabled
        .is_some_and(|enabled| enabled != stored.write_accelerator_enabled.unwrap_or(false))
    {
        return Err(ServiceError::property_change_not_allowed(target(
            "storageProfile.osDisk.writeAcceleratorEnabled",
        )));
    }
    Ok(())
}

fn check_data_disks_unchanged(
    stored: &[ImageDataDisk],
    input: &[DataDiskInput],
) -> Result<(), ServiceError> {
    let mut luns = Vec::with_capacity(input.len());
    for (index, disk) in input.iter().enumerate() {
        let lun = parse_lun(disk.lun, index)?;
        if luns.contains(&lun) {
            return Err(duplicated_luns());
        }
        luns.push(lun);
    }
    let mut requested_luns = luns.clone();
    requested_luns.sort_unstable();
    let mut stored_luns: Vec<i32> = stored.iter().map(|disk| disk.lun).collect();
    stored_luns.sort_unstable();
    if requested_luns != stored_luns {
        return Err(ServiceError::property_change_not_allowed(target(
            "storageProfile.dataDisks",
        )));
    }
    for ((index, disk), lun) in input.iter().enumerate().zip(luns) {
        if let Some(stored_disk) = stored.iter().find(|stored_disk| stored_disk.lun == lun) {
            check_disk_unchanged(&stored_disk.stored(), &data_disk_input(disk, index))?;
        }
    }
    Ok(())
}

fn check_properties_unchanged(
    stored: &ImageProperties,
    input: &ImagePropertiesInput,
) -> Result<(), ServiceError> {
    if let Some(storage) = &input.storage_profile {
        let profile = &stored.storage_profile;
        if let Some(os_disk) = &storage.os_disk {
            check_os_disk_unchanged(&profile.os_disk, os_disk)?;
        }
        if let Some(data_disks) = &storage.data_disks {
            check_data_disks_unchanged(&profile.data_disks, data_disks)?;
        }
        if storage
            .zone_resilient
            .is_some_and(|zone_resilient| zone_resilient != profile.zone_resilient)
        {
            return Err(ServiceError::property_change_not_allowed(target(
                "storageProfile.zoneResilient",
            )));
        }
    }
    check_unchanged(
        stored.hyper_v_generation,
        given(&input.hyper_v_generation)
            .map(|value| HyperVGeneration::parse(value, &target("hyperVGeneration")))
            .transpose()?,
        &target("hyperVGeneration"),
    )?;
    Ok(())
}

fn decide(
    existing: Option<&Image>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
    sizes: Option<&[SourceSize]>,
) -> Result<Image, ServiceError> {
    let input = parse_properties(properties)?;
    let properties = match existing {
        None => {
            let new = parse_new(&input)?;
            let sizes = sizes.ok_or_else(|| changed_meanwhile(context.name))?;
            new_properties(new, sizes, context.name)?
        }
        Some(image) => {
            check_properties_unchanged(&image.properties, &input)?;
            image.properties.clone()
        }
    };
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(Image {
        id: context.id.to_string(),
        name,
        resource_type: IMAGE_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties,
        system_data,
    })
}

/// Decides an image PUT. A new image needs `sizes`: the content size behind each of the sources
/// [`sources_of_new`] listed (it is decided `Creating`; the copy job settles it). On an existing
/// image only the tags may change (the provisioning state is kept).
pub fn put(
    existing: Option<&Image>,
    request: ImageRequest,
    context: &WriteContext<'_>,
    sizes: Option<&[SourceSize]>,
) -> Result<Image, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(existing, request.location.as_deref(), IMAGE_TYPE, context)?;
    decide(
        existing,
        location,
        tags,
        request.properties.unwrap_or(Value::Null),
        context,
        sizes,
    )
}

/// Decides an image PATCH: tags replace the set when given; properties merge over the stored ones
/// and must not change anything.
pub fn patch(
    existing: &Image,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<Image, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["provisioningState"],
        request.properties.as_ref(),
    );
    decide(
        Some(existing),
        existing.location.clone(),
        tags,
        properties,
        context,
        None,
    )
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::Caller;
    use crate::models::disk::GIBIBYTE;

    const GROUP_ID: &str = "/subscriptions/s1/resourceGroups/rg";
    const ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/images/img";

    fn snapshot(name: &str) -> String {
        format!("{GROUP_ID}/providers/Microsoft.Compute/snapshots/{name}")
    }

    fn disk(name: &str) -> String {
        format!("{GROUP_ID}/providers/Microsoft.Compute/disks/{name}")
    }

    fn with<T>(decision: impl FnOnce(&WriteContext<'_>) -> T) -> T {
        let subscription = Subscription::development();
        let caller = Caller::development();
        let api_version = AcceptedApiVersion {
            requested: "2024-11-01".to_string(),
            warning: None,
        };
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut new_guid = || "00000000-0000-0000-0000-000000000000".to_string();
        let context = WriteContext {
            subscription: &subscription,
            resource_group: "rg",
            id: ID,
            name: "img",
            caller: &caller,
            now,
            api_version: &api_version,
            new_guid: &mut new_guid,
        };
        decision(&context)
    }

    fn request(properties: Value) -> ImageRequest {
        serde_json::from_value(json!({"location": "westus", "properties": properties})).unwrap()
    }

    fn three_disks() -> Value {
        json!({
            "storageProfile": {
                "osDisk": {"osType": "linux", "osState": "generalized", "snapshot": {"id": snapshot("os")}},
                "dataDisks": [
                    {"lun": 1, "managedDisk": {"id": disk("data1")}, "diskSizeGB": 20},
                    {"lun": 0, "snapshot": {"id": snapshot("data0")}, "caching": "readonly", "storageAccountType": "premium_lrs"}
                ]
            }
        })
    }

    fn sizes() -> Vec<SourceSize> {
        vec![
            SourceSize {
                disk: "os".to_string(),
                logical_size: 30 * GIBIBYTE,
            },
            SourceSize {
                disk: "lun1".to_string(),
                logical_size: 10 * GIBIBYTE + 1,
            },
            SourceSize {
                disk: "lun0".to_string(),
                logical_size: 512,
            },
        ]
    }

    fn create(properties: Value) -> Result<Image, ServiceError> {
        let sizes = sizes();
        with(|context| put(None, request(properties), context, Some(&sizes)))
    }

    fn error_target(result: Result<impl std::fmt::Debug, ServiceError>) -> (u16, String, String) {
        let error = result.expect_err("an error");
        (
            error.status,
            error.code.as_str().to_string(),
            error.target.unwrap_or_default(),
        )
    }

    #[test]
    fn a_new_image_takes_defaults_and_source_sizes() {
        let image = create(three_disks()).unwrap();
        let served = serde_json::to_value(&image).unwrap();
        assert_eq!(served["type"], "Microsoft.Compute/images");
        let properties = &served["properties"];
        assert_eq!(properties["provisioningState"], "Creating");
        assert_eq!(properties["hyperVGeneration"], "V1");
        let os = &properties["storageProfile"]["osDisk"];
        assert_eq!(os["osType"], "Linux");
        assert_eq!(os["osState"], "Generalized");
        assert_eq!(os["caching"], "ReadWrite");
        assert_eq!(os["diskSizeGB"], 30);
        assert_eq!(os["storageAccountType"], "Standard_LRS");
        assert_eq!(os["snapshot"]["id"], snapshot("os"));
        assert!(os.get("managedDisk").is_none());
        let data = &properties["storageProfile"]["dataDisks"];
        assert_eq!(data[0]["lun"], 1);
        assert_eq!(
            data[0]["diskSizeGB"], 20,
            "requested, larger than the 11 GB source"
        );
        assert_eq!(data[0]["caching"], "None");
        assert_eq!(data[0]["managedDisk"]["id"], disk("data1"));
        assert_eq!(data[1]["diskSizeGB"], 1, "rounded up to whole GiB");
        assert_eq!(data[1]["caching"], "ReadOnly");
        assert_eq!(data[1]["storageAccountType"], "Premium_LRS");
        assert_eq!(properties["storageProfile"]["zoneResilient"], false);
    }

    #[test]
    fn sources_are_listed_os_first() {
        let sources =
            sources_of_new(&request(three_disks()), &Subscription::development()).unwrap();
        assert_eq!(sources.region, "westus");
        let names: Vec<&str> = sources
            .disks
            .iter()
            .map(|disk| disk.disk.as_str())
            .collect();
        assert_eq!(names, ["os", "lun1", "lun0"]);
        assert_eq!(sources.disks[1].kind, DiskSourceKind::ManagedDisk);
        assert_eq!(
            sources.disks[1].target,
            "image.properties.storageProfile.dataDisks[0].managedDisk.id"
        );
    }

    #[test]
    fn create_rules() {
        let os = |extra: Value| {
            let mut disk = json!({"osType": "Linux", "osState": "Generalized", "snapshot": {"id": snapshot("os")}});
            for (key, value) in extra.as_object().unwrap() {
                disk[key] = value.clone();
            }
            json!({"storageProfile": {"osDisk": disk}})
        };
        let cases: Vec<(Value, u16, &str, &str)> = vec![
            (
                json!({}),
                400,
                "InvalidParameter",
                "image.properties.storageProfile",
            ),
            (
                json!({"sourceVirtualMachine": {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"}}),
                400,
                "InvalidParameter",
                "image.properties.sourceVirtualMachine.id",
            ),
            (
                json!({"storageProfile": {}}),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk",
            ),
            (
                os(json!({"osType": null})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.osType",
            ),
            (
                os(json!({"osType": "Solaris"})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.osType",
            ),
            (
                os(json!({"osState": "Frozen"})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.osState",
            ),
            (
                os(json!({"snapshot": null})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk",
            ),
            (
                os(json!({"managedDisk": {"id": disk("d")}})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk",
            ),
            (
                os(
                    json!({"snapshot": null, "blobUri": "https://a.blob.core.windows.net/v/os.vhd"}),
                ),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.blobUri",
            ),
            (
                os(json!({"snapshot": {"id": "snap1"}})),
                400,
                "LinkedInvalidPropertyId",
                "properties.storageProfile.osDisk.snapshot.id",
            ),
            (
                os(json!({"snapshot": {"id": disk("d")}})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.snapshot.id",
            ),
            (
                os(json!({"snapshot": null, "managedDisk": {"id": snapshot("s")}})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.managedDisk.id",
            ),
            (
                os(json!({"caching": "Sometimes"})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.caching",
            ),
            (
                os(json!({"storageAccountType": "Floppy"})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.storageAccountType",
            ),
            (
                os(json!({"diskSizeGB": 0})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.diskSizeGB",
            ),
            (
                os(json!({"diskSizeGB": 29})),
                400,
                "InvalidParameter",
                "image.properties.storageProfile.osDisk.diskSizeGB",
            ),
        ];
        for (properties, status, code, expected_target) in cases {
            let result = create(properties.clone());
            assert_eq!(
                error_target(result),
                (status, code.to_string(), expected_target.to_string()),
                "{properties}"
            );
        }
        let mut generation = os(json!({}));
        generation["hyperVGeneration"] = json!("V3");
        assert_eq!(
            error_target(create(generation)).2,
            "image.properties.hyperVGeneration"
        );
        let data = |disks: Value| {
            let mut properties = os(json!({}));
            properties["storageProfile"]["dataDisks"] = disks;
            properties
        };
        for (disks, expected_target) in [
            (
                json!([{"snapshot": {"id": snapshot("a")}}]),
                "image.properties.storageProfile.dataDisks[0].lun",
            ),
            (
                json!([{"lun": 64, "snapshot": {"id": snapshot("a")}}]),
                "image.properties.storageProfile.dataDisks[0].lun",
            ),
            (
                json!([{"lun": 1, "snapshot": {"id": snapshot("a")}}, {"lun": 1, "snapshot": {"id": snapshot("b")}}]),
                "image.properties.storageProfile.dataDisks",
            ),
            (
                json!([{"lun": 1}]),
                "image.properties.storageProfile.dataDisks[0]",
            ),
        ] {
            assert_eq!(
                error_target(create(data(disks.clone()))).2,
                expected_target,
                "{disks}"
            );
        }
    }

    #[test]
    fn only_tags_change() {
        let mut image = create(three_disks()).unwrap();
        image.properties.provisioning_state = ProvisioningState::Succeeded;
        let patched = with(|context| {
            patch(
                &image,
                serde_json::from_value(json!({"tags": {"a": "b"}})).unwrap(),
                context,
            )
        })
        .unwrap();
        assert_eq!(patched.properties, image.properties);
        assert_eq!(patched.tags.as_ref().map(|tags| tags.len()), Some(1));
        // The same document sent again (any casing) is not a change.
        let same = with(|context| put(Some(&image), request(three_disks()), context, None));
        assert!(same.is_ok(), "{same:?}");
        for (properties, expected_target) in [
            (
                json!({"hyperVGeneration": "V2"}),
                "image.properties.hyperVGeneration",
            ),
            (
                json!({"storageProfile": {"osDisk": {"osType": "Windows"}}}),
                "image.properties.storageProfile.osDisk.osType",
            ),
            (
                json!({"storageProfile": {"osDisk": {"snapshot": {"id": snapshot("other")}}}}),
                "image.properties.storageProfile.osDisk.snapshot.id",
            ),
            (
                json!({"storageProfile": {"osDisk": {"managedDisk": {"id": disk("d")}}}}),
                "image.properties.storageProfile.osDisk.managedDisk.id",
            ),
            (
                json!({"storageProfile": {"osDisk": {"caching": "None"}}}),
                "image.properties.storageProfile.osDisk.caching",
            ),
            (
                json!({"storageProfile": {"osDisk": {"diskSizeGB": 64}}}),
                "image.properties.storageProfile.osDisk.diskSizeGB",
            ),
            (
                json!({"storageProfile": {"osDisk": {"writeAcceleratorEnabled": true}}}),
                "image.properties.storageProfile.osDisk.writeAcceleratorEnabled",
            ),
            (
                json!({"storageProfile": {"zoneResilient": true}}),
                "image.properties.storageProfile.zoneResilient",
            ),
            (
                json!({"storageProfile": {"dataDisks": []}}),
                "image.properties.storageProfile.dataDisks",
            ),
        ] {
            let result = with(|context| {
                patch(
                    &image,
                    serde_json::from_value(json!({"properties": properties})).unwrap(),
                    context,
                )
            });
            assert_eq!(
                error_target(result),
                (
                    409,
                    "PropertyChangeNotAllowed".to_string(),
                    expected_target.to_string()
                ),
                "{properties}"
            );
        }
        let mut changed = three_disks();
        changed["storageProfile"]["dataDisks"][1]["storageAccountType"] = json!("Standard_LRS");
        assert_eq!(
            error_target(with(|context| put(
                Some(&image),
                request(changed),
                context,
                None
            )))
            .2,
            "image.properties.storageProfile.dataDisks[1].storageAccountType"
        );
    }

    #[test]
    fn image_names() {
        for good in ["i", "my_image.1-a", "A_", &"a".repeat(80)] {
            assert!(validate_image_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-i", "_i", "i.", "i-", "i m", &"a".repeat(81)] {
            assert_eq!(
                validate_image_name(bad).unwrap_err().code,
                ErrorCode::InvalidResourceName,
                "{bad}"
            );
        }
    }
}
