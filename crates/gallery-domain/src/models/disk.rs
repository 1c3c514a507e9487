//! Managed disks and snapshots (`Microsoft.Compute/disks`, `Microsoft.Compute/snapshots`): the
//! resources whose bytes galleryd keeps as *contents* (see the store's contents and the
//! gallery-blob crate) and hands out through SAS URLs on its blob endpoint.
//!
//! Both types share one model here, told apart by [`DiskKind`]; galleryd serves the subset of the
//! disk resource provider that image pipelines use:
//!
//! - `sku.name`: `Standard_LRS` by default; disks also take `Premium_LRS`, `StandardSSD_LRS`,
//!   `UltraSSD_LRS`, `Premium_ZRS`, `StandardSSD_ZRS`, `PremiumV2_LRS`; snapshots `Premium_LRS` and
//!   `Standard_ZRS`. `sku.tier` is read-only. The SKU may change after creation (Azure converts).
//! - `properties.creationData.createOption`: `Empty` (needs `diskSizeGB`, 1–32767), `Upload` (needs
//!   `uploadSizeBytes`: a multiple of 512 between 20 MiB + 512 bytes and 32767 GiB + 512 bytes, the
//!   VHD footer included; `diskSizeGB` becomes the size rounded up to whole GiB) or `Copy` (needs
//!   `sourceResourceId` naming an existing disk or snapshot in the same region whose bytes are
//!   complete). Every other option Azure knows (`Import`, `FromImage`, …) is a 400
//!   `InvalidParameter` saying galleryd does not support it. galleryd also accepts `Empty` for
//!   snapshots (Azure has no use for it, but it is a handy way to get a source of zeros).
//! - Immutable after creation (409 `PropertyChangeNotAllowed` naming the property):
//!   `creationData.createOption`, `creationData.sourceResourceId`, `creationData.uploadSizeBytes`,
//!   `hyperVGeneration` (not part of Azure's `DiskUpdate`) and a snapshot's `incremental`. `osType`
//!   may change (it is part of `DiskUpdate`/`SnapshotUpdate`), as may tags and the SKU.
//! - `diskSizeGB` may only grow (a smaller value is a 400 `InvalidParameter`), and only while the
//!   resource is `Unattached` (409 `OperationNotAllowed` during an upload or while a SAS is active);
//!   growing raises the logical size of the content (the new bytes read as zeros). A copy takes its
//!   source's size: a different `diskSizeGB` in a Copy request is refused (grow it afterwards).
//! - Read-only members galleryd fills in: `diskSizeBytes` (the logical size of the content, which is
//!   what a SAS download returns), `uniqueId`, `timeCreated`, `provisioningState` and `diskState`
//!   (`Unattached`; `ReadyToUpload` → `ActiveUpload` → `Unattached` for an upload; `ActiveSAS` while
//!   a read SAS is granted).
//! - Nothing may change while a copy is still being made (409 `Conflict`): the worker that finishes
//!   the copy settles the resource only if it is unchanged. A copy that failed stays `Failed`.
//! - A disk or snapshot cannot be deleted while a SAS is active or an upload is receiving bytes
//!   (`ActiveSAS`, `ActiveUpload`: 409 `OperationNotAllowed`); revoke the access first.
//!
//! Access (`beginGetAccess`/`endGetAccess`) is decided here too: [`grant`] and [`revoke`] return the
//! new document and the internal data ([`DiskData`]) recording the grant a SAS must name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::ids;
use crate::internal::ContentReference;
use crate::models::common::{
    ProvisioningState, WriteContext, check_location_unchanged, from_value_at, missing_property,
    patched_properties, resolve_location, validate_tags, without_nulls,
};
use crate::models::disk_capabilities::{
    DiskSecurityProfile, SupportedCapabilities, parse_security_profile,
    parse_supported_capabilities,
};
use crate::models::gallery_image::{HyperVGeneration, OperatingSystemType};
use crate::tags::Tags;

/// One GiB, the unit of `diskSizeGB`.
pub const GIBIBYTE: u64 = 1024 * 1024 * 1024;
/// The sector size: upload sizes and page ranges are multiples of it.
pub const SECTOR_BYTES: u64 = 512;
/// The smallest upload Azure accepts: 20 MiB plus the 512-byte VHD footer.
pub const MIN_UPLOAD_BYTES: u64 = 20 * 1024 * 1024 + SECTOR_BYTES;
/// The largest upload Azure accepts: 32767 GiB plus the 512-byte VHD footer.
pub const MAX_UPLOAD_BYTES: u64 = MAX_DISK_SIZE_GB as u64 * GIBIBYTE + SECTOR_BYTES;
/// The largest `diskSizeGB`.
pub const MAX_DISK_SIZE_GB: i64 = 32_767;
/// The longest grant `durationInSeconds` (the spec's int32).
pub const MAX_ACCESS_SECONDS: i64 = i32::MAX as i64;

/// `Microsoft.Compute/disks`.
pub const DISK_TYPE: &str = "Microsoft.Compute/disks";
/// `Microsoft.Compute/snapshots`.
pub const SNAPSHOT_TYPE: &str = "Microsoft.Compute/snapshots";

/// Which of the two resource types a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskKind {
    Disk,
    Snapshot,
}

impl DiskKind {
    /// `Microsoft.Compute/disks` or `Microsoft.Compute/snapshots`.
    pub fn resource_type(self) -> &'static str {
        match self {
            DiskKind::Disk => DISK_TYPE,
            DiskKind::Snapshot => SNAPSHOT_TYPE,
        }
    }

    /// The path segment of the collection (`disks`, `snapshots`).
    pub fn collection(self) -> &'static str {
        match self {
            DiskKind::Disk => "disks",
            DiskKind::Snapshot => "snapshots",
        }
    }

    /// The route parameter holding the name (`diskName`, `snapshotName`).
    pub fn name_parameter(self) -> &'static str {
        match self {
            DiskKind::Disk => "diskName",
            DiskKind::Snapshot => "snapshotName",
        }
    }

    /// How messages and error targets name the resource (`disk`, `snapshot`).
    pub fn noun(self) -> &'static str {
        match self {
            DiskKind::Disk => "disk",
            DiskKind::Snapshot => "snapshot",
        }
    }

    /// The SKUs the type accepts.
    pub fn skus(self) -> &'static [DiskSkuName] {
        match self {
            DiskKind::Disk => &[
                DiskSkuName::StandardLrs,
                DiskSkuName::PremiumLrs,
                DiskSkuName::StandardSsdLrs,
                DiskSkuName::UltraSsdLrs,
                DiskSkuName::PremiumZrs,
                DiskSkuName::StandardSsdZrs,
                DiskSkuName::PremiumV2Lrs,
            ],
            DiskKind::Snapshot => &[
                DiskSkuName::StandardLrs,
                DiskSkuName::PremiumLrs,
                DiskSkuName::StandardZrs,
            ],
        }
    }

    /// The kind of a resource type string (ignoring case), if it is a disk or snapshot.
    pub fn of_type(resource_type: &str) -> Option<DiskKind> {
        [DiskKind::Disk, DiskKind::Snapshot]
            .into_iter()
            .find(|kind| kind.resource_type().eq_ignore_ascii_case(resource_type))
    }

    fn target(self, member: &str) -> String {
        format!("{}.{member}", self.noun())
    }
}

crate::string_enum! {
    /// DiskStorageAccountTypes and SnapshotStorageAccountTypes together.
    pub enum DiskSkuName {
        StandardLrs = "Standard_LRS",
        PremiumLrs = "Premium_LRS",
        StandardSsdLrs = "StandardSSD_LRS",
        UltraSsdLrs = "UltraSSD_LRS",
        PremiumZrs = "Premium_ZRS",
        StandardSsdZrs = "StandardSSD_ZRS",
        PremiumV2Lrs = "PremiumV2_LRS",
        StandardZrs = "Standard_ZRS",
    }
}

impl DiskSkuName {
    /// The read-only `sku.tier` Azure answers with.
    pub fn tier(self) -> &'static str {
        match self {
            DiskSkuName::StandardLrs | DiskSkuName::StandardZrs => "Standard",
            DiskSkuName::PremiumLrs | DiskSkuName::PremiumZrs => "Premium",
            DiskSkuName::StandardSsdLrs | DiskSkuName::StandardSsdZrs => "StandardSSD",
            DiskSkuName::UltraSsdLrs => "UltraSSD",
            DiskSkuName::PremiumV2Lrs => "PremiumV2",
        }
    }
}

crate::string_enum! {
    /// DiskCreateOption: every value Azure knows, so unsupported ones can be named as such.
    pub enum CreateOption {
        Empty = "Empty",
        Attach = "Attach",
        FromImage = "FromImage",
        Import = "Import",
        Copy = "Copy",
        Restore = "Restore",
        Upload = "Upload",
        CopyStart = "CopyStart",
        ImportSecure = "ImportSecure",
        UploadPreparedSecure = "UploadPreparedSecure",
        CopyFromSanSnapshot = "CopyFromSanSnapshot",
    }
}

/// The create options galleryd serves.
const SUPPORTED_CREATE_OPTIONS: [CreateOption; 3] = [
    CreateOption::Empty,
    CreateOption::Upload,
    CreateOption::Copy,
];

crate::string_enum! {
    /// DiskState.
    pub enum DiskState {
        Unattached = "Unattached",
        Attached = "Attached",
        Reserved = "Reserved",
        Frozen = "Frozen",
        ActiveSas = "ActiveSAS",
        ActiveSasFrozen = "ActiveSASFrozen",
        ReadyToUpload = "ReadyToUpload",
        ActiveUpload = "ActiveUpload",
    }
}

crate::string_enum! {
    /// AccessLevel of a grant.
    pub enum AccessLevel { None = "None", Read = "Read", Write = "Write" }
}

/// `sku`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSku {
    pub name: DiskSkuName,
    pub tier: String,
}

impl DiskSku {
    fn of(name: DiskSkuName) -> DiskSku {
        DiskSku {
            name,
            tier: name.tier().to_string(),
        }
    }
}

/// `properties.creationData`, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationData {
    pub create_option: CreateOption,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_resource_id: Option<String>,
    /// The `uniqueId` of the source of a copy (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_unique_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_size_bytes: Option<u64>,
}

/// `properties` of a disk or snapshot, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OperatingSystemType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyper_v_generation: Option<HyperVGeneration>,
    /// `securityProfile` (Trusted launch, Confidential VM), as given or inherited by a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_profile: Option<DiskSecurityProfile>,
    /// `supportedCapabilities` (the architecture), as given or inherited by a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_capabilities: Option<SupportedCapabilities>,
    pub creation_data: CreationData,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: i64,
    pub disk_size_bytes: u64,
    pub unique_id: String,
    pub provisioning_state: ProvisioningState,
    pub time_created: String,
    pub disk_state: DiskState,
    /// Snapshots only: whether the snapshot is incremental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
}

/// A disk or snapshot as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    pub sku: DiskSku,
    pub properties: DiskProperties,
}

/// A grant of access: what a SAS URL must name (`si`) to be honoured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessGrant {
    pub grant_id: String,
    pub access: AccessLevel,
    /// RFC 3339, UTC, whole seconds: exactly the SAS's `se`.
    pub expires_at: String,
}

/// galleryd's internal data of a disk or snapshot: its content and its current access grant.
///
/// Serialized compatibly with [`crate::internal::DiskInternal`] (the `content` member has the same
/// name and shape), so code that needs only the content reads it as that type and ignores the grant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskData {
    #[serde(default)]
    pub content: Option<ContentReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_grant: Option<AccessGrant>,
}

/// What a copy is made from: the source resource as the handler found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// The source's canonical id.
    pub id: String,
    pub location: String,
    pub unique_id: String,
    pub disk_size_gb: i64,
    pub os_type: Option<OperatingSystemType>,
    pub hyper_v_generation: Option<HyperVGeneration>,
    pub security_profile: Option<DiskSecurityProfile>,
    pub supported_capabilities: Option<SupportedCapabilities>,
    /// Its content, when its bytes are complete (sealed) and it is not being created.
    pub content: Option<ContentReference>,
}

impl CopySource {
    /// Reads a source from its stored document and internal data; `sealed` says whether its
    /// content's bytes are complete.
    pub fn from_stored(disk: &Disk, data: &DiskData, sealed: bool) -> CopySource {
        let complete = sealed && disk.properties.provisioning_state == ProvisioningState::Succeeded;
        CopySource {
            id: disk.id.clone(),
            location: disk.location.clone(),
            unique_id: disk.properties.unique_id.clone(),
            disk_size_gb: disk.properties.disk_size_gb,
            os_type: disk.properties.os_type,
            hyper_v_generation: disk.properties.hyper_v_generation,
            security_profile: disk.properties.security_profile.clone(),
            supported_capabilities: disk.properties.supported_capabilities.clone(),
            content: data.content.clone().filter(|_| complete),
        }
    }
}

// ----- request shapes -----

/// The body of a PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    sku: Option<Value>,
    #[serde(default)]
    properties: Option<Value>,
}

/// The body of a PATCH (`DiskUpdate`, `SnapshotUpdate`): tags replace the set, the SKU replaces the
/// SKU, properties merge.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskPatchRequest {
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    sku: Option<Value>,
    #[serde(default)]
    properties: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkuInput {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreationDataInput {
    create_option: Option<String>,
    source_resource_id: Option<String>,
    /// Older SDK samples name a Copy's source disk or snapshot here; Azure accepts it.
    source_uri: Option<String>,
    upload_size_bytes: Option<i64>,
}

impl CreationDataInput {
    /// The source of a Copy: `sourceResourceId`, or an ARM id given as `sourceUri`, with the
    /// member it came from.
    fn copy_source(&self) -> Option<(String, &'static str)> {
        self.source_resource_id
            .clone()
            .map(|id| (id, "sourceResourceId"))
            .or_else(|| {
                self.source_uri
                    .clone()
                    .filter(|uri| uri.to_ascii_lowercase().starts_with("/subscriptions/"))
                    .map(|id| (id, "sourceUri"))
            })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiskPropertiesInput {
    os_type: Option<String>,
    hyper_v_generation: Option<String>,
    security_profile: Option<Value>,
    supported_capabilities: Option<Value>,
    creation_data: Option<CreationDataInput>,
    #[serde(rename = "diskSizeGB")]
    disk_size_gb: Option<i64>,
    incremental: Option<bool>,
}

/// The body of `beginGetAccess` (GrantAccessData).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantAccessRequest {
    #[serde(default)]
    pub access: Option<String>,
    #[serde(default)]
    pub duration_in_seconds: Option<i64>,
    #[serde(default, rename = "getSecureVMGuestStateSAS")]
    pub get_secure_vm_guest_state_sas: Option<bool>,
    #[serde(default)]
    pub file_format: Option<String>,
}

// ----- rules -----

/// Disk and snapshot names: 1–80 letters, digits, `_`, `-` and `.`, starting with a letter, digit or
/// `_` and not ending with `.` or `-`.
pub fn validate_name(kind: DiskKind, name: &str) -> Result<(), ServiceError> {
    let characters_ok = name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || "_-.".contains(character));
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric() || first == '_');
    let last_ok = !name.ends_with('.') && !name.ends_with('-');
    if characters_ok && first_ok && last_ok && name.len() <= 80 {
        return Ok(());
    }
    Err(ServiceError::invalid_resource_name(
        name,
        kind.resource_type(),
        "The name can contain only letters, digits, underscores, periods and hyphens, must start \
         with a letter, digit or underscore, must not end with a period or hyphen, and must be 1 to \
         80 characters long.",
    ))
}

/// The id of the source of a Copy request, checked for shape (a disk or snapshot id), when the
/// request asks for a copy; the caller looks the source up and passes it to [`put`].
pub fn copy_source_id(
    kind: DiskKind,
    request: &DiskRequest,
) -> Result<Option<String>, ServiceError> {
    let Some(properties) = request.properties.clone() else {
        return Ok(None);
    };
    let input: DiskPropertiesInput = from_value_at(without_nulls(properties), "properties")?;
    let Some(creation) = input.creation_data else {
        return Ok(None);
    };
    let is_copy = creation
        .create_option
        .as_deref()
        .is_some_and(|option| option.eq_ignore_ascii_case(CreateOption::Copy.as_str()));
    let Some((source, member)) = creation.copy_source().filter(|_| is_copy) else {
        return Ok(None);
    };
    let target = kind.target(&format!("properties.creationData.{member}"));
    let segments: Vec<&str> = source.trim_matches('/').split('/').collect();
    let well_formed = source.starts_with("/subscriptions/")
        && segments.len() == 8
        && segments[2].eq_ignore_ascii_case("resourceGroups")
        && segments[4].eq_ignore_ascii_case("providers")
        && segments.iter().all(|segment| !segment.is_empty());
    if !well_formed {
        return Err(ServiceError::linked_invalid_property_id(
            &source,
            &format!("properties.creationData.{member}"),
        ));
    }
    let resource_type = format!("{}/{}", segments[5], segments[6]);
    if DiskKind::of_type(&resource_type).is_none() {
        return Err(ServiceError::invalid_parameter(
            target,
            format!(
                "The source resource '{source}' is a '{resource_type}'; galleryd copies only from \
                 disks (Microsoft.Compute/disks) and snapshots (Microsoft.Compute/snapshots)."
            ),
        ));
    }
    Ok(Some(source))
}

/// The resource group an id names (for messages about a missing source).
pub fn resource_group_of(id: &str) -> &str {
    id.trim_matches('/').split('/').nth(3).unwrap_or_default()
}

fn parse_sku(kind: DiskKind, value: Option<Value>) -> Result<Option<DiskSkuName>, ServiceError> {
    let Some(value) = value.map(without_nulls) else {
        return Ok(None);
    };
    let input: SkuInput = from_value_at(value, "sku")?;
    let Some(name) = input.name else {
        return Ok(None);
    };
    let target = kind.target("sku.name");
    let allowed: Vec<&str> = kind.skus().iter().map(|sku| sku.as_str()).collect();
    match DiskSkuName::from_wire(&name).filter(|sku| kind.skus().contains(sku)) {
        Some(sku) => Ok(Some(sku)),
        None => Err(ServiceError::invalid_parameter(
            &target,
            format!(
                "The value '{name}' of parameter '{target}' is not valid. Allowed values: '{}'.",
                allowed.join("', '")
            ),
        )),
    }
}

fn parse_properties(properties: Value) -> Result<DiskPropertiesInput, ServiceError> {
    match properties {
        Value::Null => Ok(DiskPropertiesInput::default()),
        value => from_value_at(without_nulls(value), "properties"),
    }
}

fn check_size_gb(kind: DiskKind, value: i64) -> Result<i64, ServiceError> {
    let target = kind.target("properties.diskSizeGB");
    if !(1..=MAX_DISK_SIZE_GB).contains(&value) {
        return Err(ServiceError::invalid_parameter(
            &target,
            format!(
                "The value {value} of parameter '{target}' is out of range. The value must be \
                 between 1 and {MAX_DISK_SIZE_GB}, inclusive."
            ),
        ));
    }
    Ok(value)
}

fn check_upload_size(kind: DiskKind, value: i64) -> Result<u64, ServiceError> {
    let target = kind.target("properties.creationData.uploadSizeBytes");
    let size = u64::try_from(value).unwrap_or(0);
    if !(MIN_UPLOAD_BYTES..=MAX_UPLOAD_BYTES).contains(&size) || size % SECTOR_BYTES != 0 {
        return Err(ServiceError::invalid_parameter(
            &target,
            format!(
                "The value {value} of parameter '{target}' is not valid. The upload size (the \
                 content including its 512-byte VHD footer) must be a multiple of 512 bytes between \
                 {MIN_UPLOAD_BYTES} (20 MiB + 512 bytes) and {MAX_UPLOAD_BYTES} bytes, inclusive."
            ),
        ));
    }
    Ok(size)
}

/// Whole GiB needed to hold `bytes` (at least 1).
pub fn size_in_gb(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(GIBIBYTE).max(1)).unwrap_or(i64::MAX)
}

fn parse_optional<T>(
    value: Option<&String>,
    target: &str,
    parse: impl Fn(&str, &str) -> Result<T, ServiceError>,
) -> Result<Option<T>, ServiceError> {
    value.map(|value| parse(value, target)).transpose()
}

/// 409 `OperationNotAllowed`: the resource's state does not allow the operation.
pub fn operation_not_allowed(message: impl Into<String>) -> ServiceError {
    ServiceError::new(409, ErrorCode::OperationNotAllowed, message)
}

fn still_creating(kind: DiskKind, name: &str) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "The {} '{name}' is still being created (its copy is in progress); retry once its \
             provisioningState is Succeeded.",
            kind.noun()
        ),
    )
}

/// The outcome of a write: the document and the internal data to store with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub disk: Disk,
    pub data: DiskData,
}

/// Decides a PUT (create or replace). `source` is the resource a Copy request names, as found (or
/// `None` when it does not exist); it matters only when creating.
pub fn put(
    kind: DiskKind,
    existing: Option<(&Disk, &DiskData)>,
    request: DiskRequest,
    source: Option<&CopySource>,
    context: &mut WriteContext<'_>,
) -> Result<Decided, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = match existing {
        Some((disk, _)) => {
            check_location_unchanged(
                &disk.location,
                request.location.as_deref(),
                &disk.name,
                context.resource_group,
            )?;
            disk.location.clone()
        }
        None => resolve_location(
            request.location.as_deref(),
            kind.resource_type(),
            context.subscription,
        )?
        .name
        .to_string(),
    };
    let sku = parse_sku(kind, request.sku)?;
    let properties = parse_properties(request.properties.unwrap_or(Value::Null))?;
    match existing {
        None => create(kind, location, tags, sku, properties, source, context),
        Some((disk, data)) => update(kind, disk, data, tags, sku, properties),
    }
}

/// Decides a PATCH: tags and SKU replace when given, properties merge over the stored ones, then
/// the update rules of a PUT apply.
pub fn patch(
    kind: DiskKind,
    existing: (&Disk, &DiskData),
    request: DiskPatchRequest,
) -> Result<Decided, ServiceError> {
    let (disk, data) = existing;
    let tags = match request.tags {
        Some(tags) => validate_tags(Some(tags))?,
        None => disk.tags.clone(),
    };
    let sku = parse_sku(kind, request.sku)?;
    let merged = patched_properties(
        &disk.properties,
        &[
            "diskSizeBytes",
            "uniqueId",
            "provisioningState",
            "timeCreated",
            "diskState",
        ],
        request.properties.as_ref(),
    );
    let properties = parse_properties(merged)?;
    update(kind, disk, data, tags, sku, properties)
}

fn create(
    kind: DiskKind,
    location: String,
    tags: Option<Tags>,
    sku: Option<DiskSkuName>,
    properties: DiskPropertiesInput,
    source: Option<&CopySource>,
    context: &mut WriteContext<'_>,
) -> Result<Decided, ServiceError> {
    let creation = properties
        .creation_data
        .ok_or_else(|| missing_property(&kind.target("properties.creationData")))?;
    let option_target = kind.target("properties.creationData.createOption");
    let create_option = CreateOption::parse(
        creation
            .create_option
            .as_deref()
            .ok_or_else(|| missing_property(&option_target))?,
        &option_target,
    )?;
    if !SUPPORTED_CREATE_OPTIONS.contains(&create_option) {
        return Err(ServiceError::invalid_parameter(
            &option_target,
            format!(
                "The createOption '{create_option}' is not supported by galleryd. Supported values: \
                 'Empty', 'Upload', 'Copy'."
            ),
        ));
    }
    let mut os_type = parse_optional(
        properties.os_type.as_ref(),
        &kind.target("properties.osType"),
        OperatingSystemType::parse,
    )?;
    let mut hyper_v_generation = parse_optional(
        properties.hyper_v_generation.as_ref(),
        &kind.target("properties.hyperVGeneration"),
        HyperVGeneration::parse,
    )?;
    let mut security_profile = parse_security_profile(
        properties.security_profile.as_ref(),
        &kind.target("properties.securityProfile"),
    )?;
    let mut supported_capabilities = parse_supported_capabilities(
        properties.supported_capabilities.as_ref(),
        &kind.target("properties.supportedCapabilities"),
    )?;
    let requested_gb = properties
        .disk_size_gb
        .map(|value| check_size_gb(kind, value))
        .transpose()?;
    let mut creation_data = CreationData {
        create_option,
        source_resource_id: None,
        source_unique_id: None,
        upload_size_bytes: None,
    };
    let (disk_size_gb, logical_size, occupied_bytes, provisioning_state, disk_state) =
        match create_option {
            CreateOption::Upload => {
                let target = kind.target("properties.creationData.uploadSizeBytes");
                let bytes = check_upload_size(
                    kind,
                    creation
                        .upload_size_bytes
                        .ok_or_else(|| missing_property(&target))?,
                )?;
                creation_data.upload_size_bytes = Some(bytes);
                (
                    size_in_gb(bytes),
                    bytes,
                    0,
                    ProvisioningState::Succeeded,
                    DiskState::ReadyToUpload,
                )
            }
            CreateOption::Copy => {
                let target = kind.target("properties.creationData.sourceResourceId");
                let (source_id, _) = creation
                    .copy_source()
                    .ok_or_else(|| missing_property(&target))?;
                let Some(source) = source else {
                    return Err(ServiceError::resource_not_found(
                        ids::provider_path(&source_id),
                        resource_group_of(&source_id),
                    )
                    .with_target(target));
                };
                if !source.location.eq_ignore_ascii_case(&location) {
                    return Err(ServiceError::invalid_parameter(
                        &target,
                        format!(
                            "The source '{}' is in region '{}'; a {} can only be copied from a \
                             disk or snapshot in its own region '{location}'.",
                            source.id,
                            source.location,
                            kind.noun()
                        ),
                    ));
                }
                let Some(content) = &source.content else {
                    return Err(operation_not_allowed(format!(
                        "The source '{}' cannot be copied: its bytes are not complete (it is being \
                         created, or an upload to it has not ended with endGetAccess).",
                        source.id
                    ))
                    .with_target(target));
                };
                if let Some(requested) = requested_gb
                    && requested != source.disk_size_gb
                {
                    let size_target = kind.target("properties.diskSizeGB");
                    let message = if requested < source.disk_size_gb {
                        format!(
                            "The requested size {requested} GB is smaller than the size of the \
                             source ({} GB). Disk size reduction is not supported.",
                            source.disk_size_gb
                        )
                    } else {
                        format!(
                            "galleryd copies a {} at the size of its source ({} GB); grow it \
                             after the copy with an update of diskSizeGB.",
                            kind.noun(),
                            source.disk_size_gb
                        )
                    };
                    return Err(ServiceError::invalid_parameter(size_target, message));
                }
                creation_data.source_resource_id = Some(source.id.clone());
                creation_data.source_unique_id = Some(source.unique_id.clone());
                os_type = os_type.or(source.os_type);
                hyper_v_generation = hyper_v_generation.or(source.hyper_v_generation);
                security_profile = security_profile.or_else(|| source.security_profile.clone());
                supported_capabilities =
                    supported_capabilities.or_else(|| source.supported_capabilities.clone());
                (
                    source.disk_size_gb,
                    content.logical_size,
                    content.occupied_bytes,
                    ProvisioningState::Creating,
                    DiskState::Unattached,
                )
            }
            _ => {
                let gb = requested_gb.ok_or_else(|| {
                    missing_property(&kind.target("properties.diskSizeGB")).with_detail_message(
                        "A disk created with createOption 'Empty' needs a size.",
                    )
                })?;
                let bytes = u64::try_from(gb).unwrap_or(0) * GIBIBYTE;
                (
                    gb,
                    bytes,
                    0,
                    ProvisioningState::Succeeded,
                    DiskState::Unattached,
                )
            }
        };
    let unique_id = (context.new_guid)();
    let content_id = (context.new_guid)();
    let disk = Disk {
        id: context.id.to_string(),
        name: context.name.to_string(),
        resource_type: kind.resource_type().to_string(),
        location: location.clone(),
        tags,
        sku: DiskSku::of(sku.unwrap_or(DiskSkuName::StandardLrs)),
        properties: DiskProperties {
            os_type,
            hyper_v_generation,
            security_profile,
            supported_capabilities,
            creation_data,
            disk_size_gb,
            disk_size_bytes: logical_size,
            unique_id,
            provisioning_state,
            time_created: context.timestamp(),
            disk_state,
            incremental: match kind {
                DiskKind::Snapshot => Some(properties.incremental.unwrap_or(false)),
                DiskKind::Disk => None,
            },
        },
    };
    let data = DiskData {
        content: Some(ContentReference {
            disk: "os".to_string(),
            content_id,
            region: location,
            occupied_bytes,
            logical_size,
        }),
        access_grant: None,
    };
    Ok(Decided { disk, data })
}

fn update(
    kind: DiskKind,
    existing: &Disk,
    data: &DiskData,
    tags: Option<Tags>,
    sku: Option<DiskSkuName>,
    properties: DiskPropertiesInput,
) -> Result<Decided, ServiceError> {
    let stored = &existing.properties;
    if stored.provisioning_state == ProvisioningState::Creating {
        return Err(still_creating(kind, &existing.name));
    }
    if let Some(creation) = &properties.creation_data {
        let option_target = kind.target("properties.creationData.createOption");
        if let Some(option) = &creation.create_option {
            let option = CreateOption::parse(option, &option_target)?;
            if option != stored.creation_data.create_option {
                return Err(ServiceError::property_change_not_allowed(option_target));
            }
        }
        if let Some(source) = &creation.source_resource_id
            && stored
                .creation_data
                .source_resource_id
                .as_deref()
                .is_none_or(|stored| !stored.eq_ignore_ascii_case(source))
        {
            return Err(ServiceError::property_change_not_allowed(
                kind.target("properties.creationData.sourceResourceId"),
            ));
        }
        if let Some(size) = creation.upload_size_bytes
            && u64::try_from(size).ok() != stored.creation_data.upload_size_bytes
        {
            return Err(ServiceError::property_change_not_allowed(
                kind.target("properties.creationData.uploadSizeBytes"),
            ));
        }
    }
    let os_type = match parse_optional(
        properties.os_type.as_ref(),
        &kind.target("properties.osType"),
        OperatingSystemType::parse,
    )? {
        Some(os_type) => Some(os_type),
        None => stored.os_type,
    };
    // Both are part of Azure's DiskUpdate/SnapshotUpdate: a given one replaces the stored one.
    let security_profile = parse_security_profile(
        properties.security_profile.as_ref(),
        &kind.target("properties.securityProfile"),
    )?
    .or_else(|| stored.security_profile.clone());
    let supported_capabilities = parse_supported_capabilities(
        properties.supported_capabilities.as_ref(),
        &kind.target("properties.supportedCapabilities"),
    )?
    .or_else(|| stored.supported_capabilities.clone());
    let generation_target = kind.target("properties.hyperVGeneration");
    if let Some(generation) = parse_optional(
        properties.hyper_v_generation.as_ref(),
        &generation_target,
        HyperVGeneration::parse,
    )? && Some(generation) != stored.hyper_v_generation
    {
        return Err(ServiceError::property_change_not_allowed(generation_target));
    }
    if kind == DiskKind::Snapshot
        && let Some(incremental) = properties.incremental
        && Some(incremental) != stored.incremental
    {
        return Err(ServiceError::property_change_not_allowed(
            kind.target("properties.incremental"),
        ));
    }
    let mut data = data.clone();
    let mut disk_size_gb = stored.disk_size_gb;
    let mut disk_size_bytes = stored.disk_size_bytes;
    if let Some(requested) = properties.disk_size_gb {
        let requested = check_size_gb(kind, requested)?;
        if requested < stored.disk_size_gb {
            return Err(ServiceError::invalid_parameter(
                kind.target("properties.diskSizeGB"),
                format!(
                    "Disk size reduction is not supported. Current size is {} GB and requested \
                     size is {requested} GB.",
                    stored.disk_size_gb
                ),
            ));
        }
        if requested > stored.disk_size_gb {
            if stored.disk_state != DiskState::Unattached {
                return Err(operation_not_allowed(format!(
                    "The {} '{}' cannot be resized while it is in the '{}' state.",
                    kind.noun(),
                    existing.name,
                    stored.disk_state
                ))
                .with_target(kind.target("properties.diskSizeGB")));
            }
            disk_size_gb = requested;
            disk_size_bytes = u64::try_from(requested).unwrap_or(0) * GIBIBYTE;
            if let Some(content) = &mut data.content {
                content.logical_size = disk_size_bytes;
            }
        }
    }
    let disk = Disk {
        tags,
        sku: sku.map_or_else(|| existing.sku.clone(), DiskSku::of),
        properties: DiskProperties {
            os_type,
            security_profile,
            supported_capabilities,
            disk_size_gb,
            disk_size_bytes,
            // A failed copy stays failed (it has no bytes); everything else is done at once.
            provisioning_state: match stored.provisioning_state {
                ProvisioningState::Failed => ProvisioningState::Failed,
                _ => ProvisioningState::Succeeded,
            },
            ..stored.clone()
        },
        ..existing.clone()
    };
    Ok(Decided { disk, data })
}

/// Parses a grant request: the access level (Read or Write) and the duration in seconds.
pub fn parse_grant(request: &GrantAccessRequest) -> Result<(AccessLevel, i64), ServiceError> {
    let access_target = "grantAccessData.access";
    let access = AccessLevel::parse(
        request
            .access
            .as_deref()
            .ok_or_else(|| missing_property(access_target))?,
        access_target,
    )?;
    if access == AccessLevel::None {
        return Err(ServiceError::invalid_parameter(
            access_target,
            "Access 'None' cannot be granted; ask for 'Read' or 'Write' access.",
        ));
    }
    let duration_target = "grantAccessData.durationInSeconds";
    let duration = request
        .duration_in_seconds
        .ok_or_else(|| missing_property(duration_target))?;
    if !(1..=MAX_ACCESS_SECONDS).contains(&duration) {
        return Err(ServiceError::invalid_parameter(
            duration_target,
            format!(
                "The value {duration} of parameter '{duration_target}' is out of range. The value \
                 must be between 1 and {MAX_ACCESS_SECONDS}, inclusive."
            ),
        ));
    }
    if request
        .file_format
        .as_deref()
        .is_some_and(|format| !format.eq_ignore_ascii_case("VHD"))
    {
        return Err(ServiceError::invalid_parameter(
            "grantAccessData.fileFormat",
            "galleryd serves disks and snapshots in the VHD format only (fileFormat 'VHD').",
        ));
    }
    Ok((access, duration))
}

/// The expiry of a grant made at `now` for `duration` seconds: RFC 3339 UTC, whole seconds.
pub fn grant_expiry(now: DateTime<Utc>, duration: i64) -> String {
    let expiry = chrono::TimeDelta::try_seconds(duration)
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Decides `beginGetAccess`: Write access only for an upload waiting for (or receiving) its bytes
/// (→ `ActiveUpload`), Read access only once the bytes are complete (→ `ActiveSAS`). A new grant
/// replaces the previous one (whose SAS stops working).
pub fn grant(
    kind: DiskKind,
    existing: (&Disk, &DiskData),
    access: AccessLevel,
    grant_id: String,
    expires_at: String,
) -> Result<Decided, ServiceError> {
    let (disk, data) = existing;
    let stored = &disk.properties;
    match stored.provisioning_state {
        ProvisioningState::Succeeded => {}
        ProvisioningState::Creating => return Err(still_creating(kind, &disk.name)),
        state => {
            return Err(operation_not_allowed(format!(
                "Access cannot be granted to the {} '{}': its provisioningState is {state}.",
                kind.noun(),
                disk.name
            )));
        }
    }
    let new_state = match access {
        AccessLevel::Write => {
            let uploading = matches!(
                stored.disk_state,
                DiskState::ReadyToUpload | DiskState::ActiveUpload
            );
            if stored.creation_data.create_option != CreateOption::Upload || !uploading {
                return Err(operation_not_allowed(format!(
                    "Write access can only be granted to a {noun} created with createOption \
                     'Upload' that is in the ReadyToUpload or ActiveUpload state; the {noun} '{}' \
                     is in the '{}' state.",
                    disk.name,
                    stored.disk_state,
                    noun = kind.noun()
                )));
            }
            DiskState::ActiveUpload
        }
        _ => {
            if !matches!(
                stored.disk_state,
                DiskState::Unattached | DiskState::ActiveSas
            ) {
                return Err(operation_not_allowed(format!(
                    "Read access cannot be granted to the {} '{}' while it is in the '{}' state; \
                     end the upload with endGetAccess first.",
                    kind.noun(),
                    disk.name,
                    stored.disk_state
                )));
            }
            DiskState::ActiveSas
        }
    };
    let mut disk = disk.clone();
    disk.properties.disk_state = new_state;
    let data = DiskData {
        access_grant: Some(AccessGrant {
            grant_id,
            access,
            expires_at,
        }),
        ..data.clone()
    };
    Ok(Decided { disk, data })
}

/// Decides `endGetAccess`: the grant is dropped at once (its SAS stops working); a read SAS ends
/// (`ActiveSAS` → `Unattached`); an upload stays `ActiveUpload` until its bytes are sealed and
/// recorded with [`upload_sealed`] (so a failed seal is simply tried again by the next
/// `endGetAccess`): a revoked resource still `ActiveUpload` is one to seal.
pub fn revoke(kind: DiskKind, existing: (&Disk, &DiskData)) -> Result<Decided, ServiceError> {
    let (disk, data) = existing;
    if disk.properties.provisioning_state == ProvisioningState::Creating {
        return Err(still_creating(kind, &disk.name));
    }
    let mut disk = disk.clone();
    if disk.properties.disk_state == DiskState::ActiveSas {
        disk.properties.disk_state = DiskState::Unattached;
    }
    let data = DiskData {
        access_grant: None,
        ..data.clone()
    };
    Ok(Decided { disk, data })
}

/// Records that an upload's bytes were sealed: `Unattached`, with the bytes actually written.
pub fn upload_sealed(existing: (&Disk, &DiskData), occupied_bytes: u64) -> Decided {
    let (disk, data) = existing;
    let mut disk = disk.clone();
    if disk.properties.disk_state == DiskState::ActiveUpload {
        disk.properties.disk_state = DiskState::Unattached;
    }
    let mut data = data.clone();
    if let Some(content) = &mut data.content {
        content.occupied_bytes = occupied_bytes;
    }
    data.access_grant = None;
    Decided { disk, data }
}

/// Whether a resource may be deleted: not while a SAS is active or an upload is receiving bytes.
pub fn check_delete_allowed(kind: DiskKind, disk: &Disk) -> Result<(), ServiceError> {
    match disk.properties.disk_state {
        DiskState::ActiveSas | DiskState::ActiveUpload => Err(operation_not_allowed(format!(
            "The {} '{}' cannot be deleted while it is in the '{}' state; revoke its access with \
             endGetAccess first.",
            kind.noun(),
            disk.name,
            disk.properties.disk_state
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::{Caller, Subscription};
    use crate::internal::DiskInternal;
    use serde_json::json;

    struct Fixture {
        subscription: Subscription,
        caller: Caller,
        api_version: AcceptedApiVersion,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                subscription: Subscription::development(),
                caller: Caller::development(),
                api_version: AcceptedApiVersion {
                    requested: "2026-03-02".to_string(),
                    warning: None,
                },
            }
        }

        fn decide(
            &self,
            kind: DiskKind,
            existing: Option<(&Disk, &DiskData)>,
            body: Value,
            source: Option<&CopySource>,
        ) -> Result<Decided, ServiceError> {
            let mut counter = 0;
            let mut guid = move || {
                counter += 1;
                format!("00000000-0000-4000-8000-{counter:012}")
            };
            let mut context = WriteContext {
                subscription: &self.subscription,
                resource_group: "rg",
                id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d1",
                name: "d1",
                caller: &self.caller,
                now: chrono::Utc::now(),
                api_version: &self.api_version,
                new_guid: &mut guid,
            };
            let request: DiskRequest = serde_json::from_value(body).expect("request");
            put(kind, existing, request, source, &mut context)
        }
    }

    fn error_target(result: Result<Decided, ServiceError>) -> (u16, String, String) {
        let error = result.expect_err("refused");
        (
            error.status,
            error.code.as_str().to_string(),
            error.target.unwrap_or_default(),
        )
    }

    #[test]
    fn empty_disks_need_a_size_in_range() {
        let fixture = Fixture::new();
        let decided = fixture
            .decide(
                DiskKind::Disk,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "empty"}, "diskSizeGB": 4}}),
                None,
            )
            .expect("created");
        assert_eq!(decided.disk.sku.name, DiskSkuName::StandardLrs);
        assert_eq!(decided.disk.properties.disk_size_bytes, 4 * GIBIBYTE);
        assert_eq!(decided.disk.properties.disk_state, DiskState::Unattached);
        assert_eq!(
            decided
                .data
                .content
                .as_ref()
                .map(|content| content.logical_size),
            Some(4 * GIBIBYTE)
        );
        for size in [json!(null), json!(0), json!(32_768)] {
            let (status, code, target) = error_target(fixture.decide(
                DiskKind::Disk,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size}}),
                None,
            ));
            assert_eq!(
                (status, code.as_str(), target.as_str()),
                (400, "InvalidParameter", "disk.properties.diskSizeGB")
            );
        }
    }

    #[test]
    fn uploads_are_sized_in_sectors() {
        let fixture = Fixture::new();
        let upload = |bytes: u64| {
            fixture.decide(
                DiskKind::Snapshot,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": bytes}}}),
                None,
            )
        };
        let decided = upload(MIN_UPLOAD_BYTES).expect("smallest upload");
        assert_eq!(decided.disk.properties.disk_size_gb, 1);
        assert_eq!(decided.disk.properties.disk_state, DiskState::ReadyToUpload);
        assert_eq!(decided.disk.properties.incremental, Some(false));
        for bad in [
            MIN_UPLOAD_BYTES - 512,
            MIN_UPLOAD_BYTES + 1,
            MAX_UPLOAD_BYTES + 512,
        ] {
            let (status, _, target) = error_target(upload(bad));
            assert_eq!(
                (status, target.as_str()),
                (400, "snapshot.properties.creationData.uploadSizeBytes")
            );
        }
    }

    #[test]
    fn unsupported_options_and_skus_are_named() {
        let fixture = Fixture::new();
        let error = fixture
            .decide(
                DiskKind::Disk,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "Import"}}}),
                None,
            )
            .expect_err("import");
        assert!(
            error.message.contains("not supported by galleryd"),
            "{}",
            error.message
        );
        let (_, _, target) = error_target(fixture.decide(
            DiskKind::Snapshot,
            None,
            json!({"location": "westus", "sku": {"name": "Premium_ZRS"}, "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}}),
            None,
        ));
        assert_eq!(target, "snapshot.sku.name");
    }

    #[test]
    fn copies_take_their_source() {
        let fixture = Fixture::new();
        let source = CopySource {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/src"
                .to_string(),
            location: "westus".to_string(),
            unique_id: "u".to_string(),
            disk_size_gb: 2,
            os_type: Some(OperatingSystemType::Linux),
            hyper_v_generation: None,
            security_profile: None,
            supported_capabilities: None,
            content: Some(ContentReference {
                disk: "os".to_string(),
                content_id: "c".to_string(),
                region: "westus".to_string(),
                occupied_bytes: 512,
                logical_size: 2 * GIBIBYTE,
            }),
        };
        let body = json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source.id}}});
        let decided = fixture
            .decide(DiskKind::Disk, None, body.clone(), Some(&source))
            .expect("copy");
        assert_eq!(
            decided.disk.properties.provisioning_state,
            ProvisioningState::Creating
        );
        assert_eq!(
            decided.disk.properties.os_type,
            Some(OperatingSystemType::Linux)
        );
        assert_eq!(
            decided
                .data
                .content
                .as_ref()
                .map(|content| content.occupied_bytes),
            Some(512)
        );
        // Nothing changes while the copy runs: its worker settles it only if it is unchanged.
        let copying = (&decided.disk, &decided.data);
        let update = fixture.decide(
            DiskKind::Disk,
            Some(copying),
            json!({"location": "westus", "tags": {"a": "b"}}),
            None,
        );
        assert_eq!(error_target(update).1, "Conflict");
        assert_eq!(
            grant(
                DiskKind::Disk,
                copying,
                AccessLevel::Read,
                "g".into(),
                "x".into()
            )
            .expect_err("no grant")
            .code,
            ErrorCode::Conflict
        );
        assert!(revoke(DiskKind::Disk, copying).is_err());
        // A failed copy stays failed.
        let mut failed = decided.disk.clone();
        failed.properties.provisioning_state = ProvisioningState::Failed;
        let updated = fixture
            .decide(
                DiskKind::Disk,
                Some((&failed, &decided.data)),
                json!({"location": "westus"}),
                None,
            )
            .expect("updated");
        assert_eq!(
            updated.disk.properties.provisioning_state,
            ProvisioningState::Failed
        );
        assert!(
            grant(
                DiskKind::Disk,
                (&failed, &decided.data),
                AccessLevel::Read,
                "g".into(),
                "x".into()
            )
            .is_err()
        );
        let (status, code, _) =
            error_target(fixture.decide(DiskKind::Disk, None, body.clone(), None));
        assert_eq!((status, code.as_str()), (404, "ResourceNotFound"));
        let elsewhere = CopySource {
            location: "eastus".to_string(),
            ..source.clone()
        };
        assert_eq!(
            error_target(fixture.decide(DiskKind::Disk, None, body.clone(), Some(&elsewhere))).0,
            400
        );
        let incomplete = CopySource {
            content: None,
            ..source
        };
        assert_eq!(
            error_target(fixture.decide(DiskKind::Disk, None, body, Some(&incomplete))).0,
            409
        );
    }

    #[test]
    fn updates_keep_what_is_immutable_and_only_grow() {
        let fixture = Fixture::new();
        let created = fixture
            .decide(
                DiskKind::Disk,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 2, "hyperVGeneration": "V2"}}),
                None,
            )
            .expect("created");
        let existing = (&created.disk, &created.data);
        let grown = fixture
            .decide(
                DiskKind::Disk,
                Some(existing),
                json!({"location": "westus", "properties": {"diskSizeGB": 3, "osType": "Windows"}}),
                None,
            )
            .expect("grown");
        assert_eq!(grown.disk.properties.disk_size_bytes, 3 * GIBIBYTE);
        assert_eq!(
            grown
                .data
                .content
                .as_ref()
                .map(|content| content.logical_size),
            Some(3 * GIBIBYTE)
        );
        assert_eq!(
            grown.disk.properties.unique_id,
            created.disk.properties.unique_id
        );
        let (status, _, _) = error_target(fixture.decide(
            DiskKind::Disk,
            Some(existing),
            json!({"location": "westus", "properties": {"diskSizeGB": 1}}),
            None,
        ));
        assert_eq!(status, 400);
        let (status, code, target) = error_target(fixture.decide(
            DiskKind::Disk,
            Some(existing),
            json!({"location": "westus", "properties": {"hyperVGeneration": "V1"}}),
            None,
        ));
        assert_eq!(
            (status, code.as_str(), target.as_str()),
            (
                409,
                "PropertyChangeNotAllowed",
                "disk.properties.hyperVGeneration"
            )
        );
        let (status, _, target) = error_target(fixture.decide(DiskKind::Disk, Some(existing), json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload"}}}), None));
        assert_eq!(
            (status, target.as_str()),
            (409, "disk.properties.creationData.createOption")
        );
        let patched = patch(
            DiskKind::Disk,
            existing,
            serde_json::from_value(json!({"tags": {"a": "b"}, "properties": {"diskSizeGB": 4}}))
                .expect("patch"),
        )
        .expect("patched");
        assert_eq!(patched.disk.properties.disk_size_gb, 4);
        assert_eq!(
            patched.disk.properties.hyper_v_generation,
            Some(HyperVGeneration::V2)
        );
    }

    #[test]
    fn grants_follow_the_disk_state() {
        let fixture = Fixture::new();
        let upload = fixture
            .decide(
                DiskKind::Disk,
                None,
                json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": MIN_UPLOAD_BYTES}}}),
                None,
            )
            .expect("upload");
        let read = grant(
            DiskKind::Disk,
            (&upload.disk, &upload.data),
            AccessLevel::Read,
            "g".into(),
            "x".into(),
        );
        assert_eq!(read.expect_err("no read during upload").status, 409);
        let writing = grant(
            DiskKind::Disk,
            (&upload.disk, &upload.data),
            AccessLevel::Write,
            "g".into(),
            "x".into(),
        )
        .expect("write");
        assert_eq!(writing.disk.properties.disk_state, DiskState::ActiveUpload);
        let revoked = revoke(DiskKind::Disk, (&writing.disk, &writing.data)).expect("revoked");
        // Still an upload: its bytes are sealed next.
        assert_eq!(revoked.disk.properties.disk_state, DiskState::ActiveUpload);
        assert_eq!(revoked.data.access_grant, None);
        let sealed = upload_sealed((&revoked.disk, &revoked.data), 1024);
        assert_eq!(sealed.disk.properties.disk_state, DiskState::Unattached);
        assert!(
            grant(
                DiskKind::Disk,
                (&sealed.disk, &sealed.data),
                AccessLevel::Write,
                "g".into(),
                "x".into()
            )
            .is_err()
        );
        let reading = grant(
            DiskKind::Disk,
            (&sealed.disk, &sealed.data),
            AccessLevel::Read,
            "g2".into(),
            "x".into(),
        )
        .expect("read");
        assert_eq!(reading.disk.properties.disk_state, DiskState::ActiveSas);
        assert!(check_delete_allowed(DiskKind::Disk, &reading.disk).is_err());
        // The internal data reads as the shared DiskInternal too.
        let text = serde_json::to_string(&reading.data).expect("serialize");
        let shared: DiskInternal = serde_json::from_str(&text).expect("compatible");
        assert_eq!(shared.content, reading.data.content);
    }

    #[test]
    fn source_ids_are_checked_for_shape() {
        let request = |id: &str| -> DiskRequest {
            serde_json::from_value(json!({"properties": {"creationData": {"createOption": "Copy", "sourceResourceId": id}}})).expect("request")
        };
        assert!(
            copy_source_id(
                DiskKind::Disk,
                &request(
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s1"
                )
            )
            .expect("ok")
            .is_some()
        );
        assert_eq!(
            copy_source_id(DiskKind::Disk, &request("disk1"))
                .expect_err("bad")
                .code,
            ErrorCode::LinkedInvalidPropertyId
        );
        assert_eq!(
            copy_source_id(
                DiskKind::Disk,
                &request(
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
                )
            )
            .expect_err("bad")
            .code,
            ErrorCode::InvalidParameter
        );
    }
}
