//! `storageProfile` of an image version: the disks of a new version (from its resolved source and
//! the request's host caching), the checks that need the resolved source, and the rule that an
//! update may repeat the storage profile but never change it.
//!
//! Host caching the source does not report defaults to `ReadOnly` for the OS disk and `None` for
//! data disks (what the spec's examples show). The disks together may not exceed
//! [`VersionRules::max_total_size_gb`] (Full replication only: a Shallow version copies nothing, as
//! Azure allows much larger Shallow sources). A source outside the version's location answers
//! Azure's message with 400 `InvalidParameter` (the real service's code is unverified).

use crate::ServiceError;
use crate::models::common::given;
use crate::models::gallery_image_version::VersionRules;
use crate::models::gallery_image_version::compatibility::check_source_fits_definition;
use crate::models::gallery_image_version::request::{
    DiskImageSourceInput, StorageProfileInput, parse_lun, target,
};
use crate::models::gallery_image_version::sources::{ResolvedSource, SourceDisk, SourceReference};
use crate::models::gallery_image_version::stored::{
    ArtifactSource, DataDiskImage, DiskImageSource, HostCaching, OsDiskImage, StorageProfile,
};
use crate::publishing::ReplicationMode;
use crate::regions::{Region, same_region};

fn same_text(left: Option<&str>, right: Option<&str>) -> bool {
    match (left, right) {
        (Some(left), Some(right)) => left.eq_ignore_ascii_case(right),
        (None, None) => true,
        _ => false,
    }
}

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
pub(crate) fn new_storage_profile(
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
pub(crate) fn check_storage_unchanged(
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

/// The checks that need the resolved source: it lives in the version's location, it fits the image
/// definition (see [`super::compatibility`]), and its disks fit.
pub(crate) fn check_resolved_source(
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
    if let (Some(traits), Some(definition), Some(item)) = (
        &resolved.os_disk_traits,
        &resolved.definition,
        sources.primary(),
    ) {
        check_source_fits_definition(item.location.reference(), &item.target, traits, definition)?;
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
