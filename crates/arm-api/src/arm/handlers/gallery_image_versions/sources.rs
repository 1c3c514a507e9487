//! Resolving what a new image version is made from: a managed image, snapshot, disk, another
//! gallery image version, or a blob on galleryd's blob endpoint, each to the contents that hold its
//! bytes. The domain rules check the resolved region and disks; the workers replicate the contents.

use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::internal::{ContentReference, DiskInternal, ImageInternal};
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::disk::Disk;
use gallery_domain::models::gallery_image::{GalleryImage, GalleryImageProperties};
use gallery_domain::models::gallery_image_version::{
    GalleryImageVersion, GalleryImageVersionRequest, ResolvedSource, SourceDisk, SourceItem,
    SourceKind, SourceLocation, SourceTraits, source_reference,
};
use gallery_domain::models::image::{self as image_model, Image};
use gallery_domain::publishing::{PublishedContents, replica_content_id};
use gallery_store::StoredResource;
use serde_json::Value;

use crate::App;
use crate::arm::tracked::{parse_internal, parse_stored};
use crate::error::ApiResult;

/// "Source {id} is not found …", the service's answer for a source that is missing or elsewhere.
fn source_not_found(item: &SourceItem) -> ServiceError {
    ServiceError::invalid_parameter(
        &item.target,
        format!(
            "Source {} is not found. Please check source exists, and is in the same region as gallery image version being created.",
            item.location.reference()
        ),
    )
}

fn not_ready(item: &SourceItem) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "The source {} is still being created or uploaded; retry once it has succeeded (after endGetAccess for an upload).",
            item.location.reference()
        ),
    )
    .with_target(&item.target)
}

fn disk_name(lun: Option<i32>) -> String {
    match lun {
        None => "os".to_string(),
        Some(lun) => format!("lun{lun}"),
    }
}

/// A source disk, and the content behind it.
fn source_disk(
    lun: Option<i32>,
    content: &ContentReference,
    host_caching: Option<String>,
) -> (SourceDisk, ContentReference) {
    (
        SourceDisk {
            lun,
            size_in_gb: image_model::size_in_gb(content.logical_size),
            occupied_bytes: content.occupied_bytes,
            host_caching,
        },
        ContentReference {
            disk: disk_name(lun),
            ..content.clone()
        },
    )
}

/// The content of a blob source: a URL on galleryd's blob endpoint, `…/gallerydblob/{region}/{contentId}`.
async fn blob_content(app: &App, item: &SourceItem, uri: &str) -> ApiResult<ContentReference> {
    let path = uri.split('?').next().unwrap_or(uri);
    let mut segments = path.rsplit('/');
    let (content_id, region, account) = (segments.next(), segments.next(), segments.next());
    let (Some(content_id), Some(region), Some("gallerydblob")) = (content_id, region, account)
    else {
        return Err(ServiceError::invalid_parameter(
            &item.target,
            format!("The source uri '{uri}' is not a blob on galleryd's blob endpoint (…/gallerydblob/<region>/<blob>)."),
        )
        .into());
    };
    let content = app
        .store()?
        .get_content(content_id)
        .await?
        .filter(|content| content.region.eq_ignore_ascii_case(region))
        .ok_or_else(|| source_not_found(item))?;
    sealed(item, content)
}

/// The content a disk or snapshot source names, which must be sealed: an upload still taking
/// page writes (before `endGetAccess`) has no final bytes to replicate.
async fn sealed_content(
    app: &App,
    item: &SourceItem,
    content_id: &str,
) -> ApiResult<ContentReference> {
    let content = app
        .store()?
        .get_content(content_id)
        .await?
        .ok_or_else(|| not_ready(item))?;
    sealed(item, content)
}

/// A content row as a source reference, with the sizes the copy will copy; 409 while unsealed.
fn sealed(item: &SourceItem, content: gallery_store::StoredContent) -> ApiResult<ContentReference> {
    if content.manifest.is_none() {
        return Err(not_ready(item).into());
    }
    Ok(ContentReference {
        disk: String::new(),
        content_id: content.content_id,
        region: content.region,
        occupied_bytes: u64::try_from(content.occupied_bytes).unwrap_or_default(),
        logical_size: u64::try_from(content.logical_size).unwrap_or_default(),
    })
}

/// Looks up a source resource and checks it is finished.
async fn source_resource(
    app: &App,
    item: &SourceItem,
    id: &str,
) -> ApiResult<(StoredResource, Value)> {
    let resource = app
        .store()?
        .get_resource(&ids::resource_key(id))
        .await?
        .ok_or_else(|| source_not_found(item))?;
    if resource.provisioning_state != ProvisioningState::Succeeded.as_str() {
        return Err(not_ready(item).into());
    }
    let document: Value = parse_stored(&resource.body)?;
    Ok((resource, document))
}

/// The id of the resource `id` is nested in (`…/images/{i}` for `…/images/{i}/versions/{v}`).
fn parent_id(id: &str) -> &str {
    let mut cut = id.trim_end_matches('/');
    for _ in 0..2 {
        cut = cut.rsplit_once('/').map_or(cut, |(head, _)| head);
    }
    cut
}

/// The image definition a gallery image version id belongs to, as stored.
async fn definition_of(app: &App, version_id: &str) -> ApiResult<Option<GalleryImageProperties>> {
    let Some(resource) = app
        .store()?
        .get_resource(&ids::resource_key(parent_id(version_id)))
        .await?
    else {
        return Ok(None);
    };
    let definition: GalleryImage = parse_stored(&resource.body)?;
    Ok(Some(definition.properties))
}

/// What a disk or snapshot says about the machine it boots.
fn disk_traits(disk: &Disk) -> SourceTraits {
    let properties = &disk.properties;
    SourceTraits {
        os_type: properties.os_type,
        os_state: None,
        hyper_v_generation: properties.hyper_v_generation,
        boot_security: properties
            .security_profile
            .as_ref()
            .and_then(|profile| profile.security_type)
            .map(|security| security.boot_security()),
        architecture: properties
            .supported_capabilities
            .as_ref()
            .and_then(|capabilities| capabilities.architecture),
    }
}

/// What a managed image says: its OS disk's type and state and its generation (managed images
/// are always Standard security).
fn image_traits(image: &Image) -> SourceTraits {
    let os_disk = &image.properties.storage_profile.os_disk;
    SourceTraits {
        os_type: Some(os_disk.os_type),
        os_state: Some(os_disk.os_state),
        hyper_v_generation: Some(image.properties.hyper_v_generation),
        boot_security: Some(gallery_domain::models::disk_capabilities::BootSecurity::Standard),
        architecture: None,
    }
}

/// Resolves what a new version (`version_id`) is made from: the region and disks the domain rules
/// check, what its OS disk's source says about the machine it boots, the image definition it must
/// fit, and the contents the workers replicate.
pub(super) async fn resolve_sources(
    app: &App,
    version_id: &str,
    request: &GalleryImageVersionRequest,
) -> ApiResult<(Option<ResolvedSource>, PublishedContents)> {
    let reference = source_reference(request)?;
    let mut os_disk_traits: Option<SourceTraits> = None;
    let mut region: Option<String> = None;
    let mut disks = Vec::new();
    let mut sources = Vec::new();
    for item in reference.items() {
        match &item.location {
            SourceLocation::CommunityGalleryImage { .. } => {
                return Err(ServiceError::invalid_parameter(&item.target, "Community gallery image versions are not supported as sources by galleryd yet.").into());
            }
            SourceLocation::Blob { uri, .. } => {
                let content = blob_content(app, item, uri).await?;
                region.get_or_insert_with(|| content.region.clone());
                let (disk, content) = source_disk(item.lun, &content, None);
                disks.push(disk);
                sources.push(content);
            }
            SourceLocation::Resource { id, kind } => {
                let (resource, document) = source_resource(app, item, id).await?;
                region.get_or_insert_with(|| resource.location.clone());
                match kind {
                    SourceKind::Snapshot | SourceKind::Disk => {
                        if item.lun.is_none() {
                            let disk: Disk = parse_stored(&resource.body)?;
                            os_disk_traits = Some(disk_traits(&disk));
                        }
                        let reference = parse_internal::<DiskInternal>(&resource)?
                            .content
                            .ok_or_else(|| not_ready(item))?;
                        let content = sealed_content(app, item, &reference.content_id).await?;
                        let (disk, content) = source_disk(item.lun, &content, None);
                        disks.push(disk);
                        sources.push(content);
                    }
                    SourceKind::ManagedImage => {
                        let image: Image = parse_stored(&resource.body)?;
                        os_disk_traits = Some(image_traits(&image));
                        for content in parse_internal::<ImageInternal>(&resource)?.disks {
                            let lun = content
                                .disk
                                .strip_prefix("lun")
                                .and_then(|lun| lun.parse().ok());
                            let caching = host_caching_of_image(&document, lun);
                            let (disk, content) = source_disk(lun, &content, caching);
                            disks.push(disk);
                            sources.push(content);
                        }
                    }
                    SourceKind::GalleryImageVersion => {
                        // Replicate from the source version's replicas in its own region.
                        let version: GalleryImageVersion = parse_stored(&resource.body)?;
                        let home = version.location.clone();
                        os_disk_traits = definition_of(app, &version.id)
                            .await?
                            .as_ref()
                            .map(SourceTraits::of_definition);
                        for source in parse_internal::<PublishedContents>(&resource)?.sources {
                            let content_id =
                                replica_content_id(resource.seq, &home, 0, &source.disk);
                            let reference = ContentReference {
                                disk: source.disk.clone(),
                                ..sealed_content(app, item, &content_id).await?
                            };
                            let lun = source
                                .disk
                                .strip_prefix("lun")
                                .and_then(|lun| lun.parse().ok());
                            let (disk, reference) = source_disk(lun, &reference, None);
                            disks.push(disk);
                            sources.push(reference);
                        }
                    }
                    SourceKind::VirtualMachine => {
                        return Err(ServiceError::invalid_parameter(&item.target, "Virtual machines are not supported as image version sources by galleryd yet.").into());
                    }
                }
            }
        }
    }
    let definition = match region {
        Some(_) => definition_of(app, version_id).await?,
        None => None,
    };
    let resolved = region.map(|region| ResolvedSource {
        region,
        disks,
        os_disk_traits,
        definition,
    });
    Ok((resolved, PublishedContents { sources }))
}

/// A managed image's host caching for a disk (`storageProfile.osDisk.caching` /
/// `dataDisks[].caching`).
fn host_caching_of_image(document: &Value, lun: Option<i32>) -> Option<String> {
    let profile = document.pointer("/properties/storageProfile")?;
    let disk = match lun {
        None => profile.get("osDisk")?,
        Some(lun) => profile
            .get("dataDisks")?
            .as_array()?
            .iter()
            .find(|disk| disk["lun"].as_i64() == Some(i64::from(lun)))?,
    };
    disk.get("caching")
        .and_then(Value::as_str)
        .map(str::to_string)
}
