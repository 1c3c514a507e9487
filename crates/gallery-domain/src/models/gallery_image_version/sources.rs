//! The sources of a new image version: which resources, community images or VHD blobs a create
//! request names, validated before the caller looks them up, and what the caller found behind them.
//!
//! A create goes: [`source_reference`] (what to resolve, validated) → the caller resolves it into a
//! [`ResolvedSource`] (region and disks) → `put` decides. Exactly one kind of source is allowed:
//! `storageProfile.source` (a managed image, a gallery image version or a community image) or
//! per-disk sources (snapshots, disks or VHD URIs; the OS disk's is then required). Virtual machine
//! sources are refused (galleryd cannot capture VMs yet).

use std::collections::HashSet;

use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{given, missing_property};
use crate::models::gallery_image::GalleryImageProperties;
use crate::models::gallery_image_version::compatibility::SourceTraits;
use crate::models::gallery_image_version::request::{
    ArtifactSourceInput, DiskImageSourceInput, GalleryImageVersionRequest, KIND,
    StorageProfileInput, parse_lun, parse_properties, target,
};

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedSource {
    /// The source's region, in any spelling.
    pub region: String,
    pub disks: Vec<SourceDisk>,
    /// What the OS disk's source says about the machine it boots (see [`super::compatibility`]);
    /// `None` when it says nothing (a VHD blob).
    pub os_disk_traits: Option<SourceTraits>,
    /// The image definition the version is published into, read with the source; its OS type,
    /// state, generation, security type and architecture must fit the source's.
    pub definition: Option<GalleryImageProperties>,
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
            KIND.request_path(target),
        ))
    }
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

pub(crate) fn parse_sources(
    storage: &StorageProfileInput,
) -> Result<SourceReference, ServiceError> {
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
    // A data disk naming the OS disk's source is Azure's "same blob" refusal (ids and URIs alike);
    // two data disks naming one source are its "duplicated source ids".
    let key = |location: &SourceLocation| location.reference().to_ascii_lowercase();
    let os_source = disks
        .iter()
        .find(|item| item.lun.is_none())
        .map(|item| key(&item.location));
    let mut seen = HashSet::new();
    for item in &disks {
        let source = key(&item.location);
        if item.lun.is_some() && os_source.as_ref() == Some(&source) {
            return Err(ServiceError::invalid_parameter(
                target("storageProfile"),
                format!(
                    "OSDiskImage and DataDiskImage cannot point to same blob {}",
                    item.location.reference()
                ),
            ));
        }
        if !seen.insert(source) {
            return Err(ServiceError::invalid_parameter(
                target("storageProfile"),
                "Duplicated source ids are found in the input disks. Source id should be unique for each \
                 disk.",
            ));
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
