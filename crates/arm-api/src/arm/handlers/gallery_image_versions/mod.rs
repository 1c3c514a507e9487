//! `Microsoft.Compute/galleries/images/versions`: the five image version operations of the spec.
//!
//! A version is what gets replicated. Creating one resolves its source (a managed image, snapshot,
//! disk, another gallery image version, or a blob on galleryd's blob endpoint) to the contents that
//! hold its bytes, lets the domain rules decide the document, and records it `Creating` together with
//! its operation (in progress) and a replication job, in one transaction; the workers copy the
//! replicas and settle both. Updates go `Updating` the same way; deletes go `Deleting`, and the
//! worker removes every replica before the version. `$expand=ReplicationStatus` reports per-region
//! progress from the replica rows.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::internal::{
    ContentReference, DiskInternal, ImageInternal, VersionInternal, replica_content_id,
};
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::gallery_image_version::{
    self as version_model, GalleryImageVersion, GalleryImageVersionRequest,
    RegionalReplicationStatus, ReplicationState, ReplicationStatus, ResolvedSource, SourceDisk,
    SourceItem, SourceKind, SourceLocation, VersionRules,
};
use gallery_domain::models::image as image_model;
use gallery_domain::version_name::VersionName;
use gallery_store::{Decision, JobKind, NewJob, ReplicaState, StoredReplica, StoredResource};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::shaping::Expansion;
use crate::arm::tracked::{
    self, JobPlan, PutPlan, ResourcePath, WriteBody, parse_internal, parse_stored,
};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        ids::GALLERY_IMAGE_VERSION_TYPE,
        &[
            ("galleries", "galleryName"),
            ("images", "galleryImageName"),
            ("versions", "galleryImageVersionName"),
        ],
    )
}

fn rules(app: &App) -> VersionRules {
    VersionRules {
        max_replicas_per_region: app.settings.max_replicas_per_region,
        max_total_size_gb: app.settings.max_image_size_gb,
        ..VersionRules::default()
    }
}

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

/// Resolves what a new version is made from: the region and disks the domain rules check, and the
/// contents the workers replicate.
async fn resolve_sources(
    app: &App,
    request: &GalleryImageVersionRequest,
) -> ApiResult<(Option<ResolvedSource>, VersionInternal)> {
    let reference = version_model::source_reference(request)?;
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
                        let reference = parse_internal::<DiskInternal>(&resource)?
                            .content
                            .ok_or_else(|| not_ready(item))?;
                        let content = sealed_content(app, item, &reference.content_id).await?;
                        let (disk, content) = source_disk(item.lun, &content, None);
                        disks.push(disk);
                        sources.push(content);
                    }
                    SourceKind::ManagedImage => {
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
                        for source in parse_internal::<VersionInternal>(&resource)?.sources {
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
    let resolved = region.map(|region| ResolvedSource { region, disks });
    Ok((resolved, VersionInternal { sources }))
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

/// The document a decision stores: the decided version, `Creating` or `Updating` until the workers
/// settle it.
fn decision(
    version: &GalleryImageVersion,
    state: ProvisioningState,
    internal: Option<String>,
) -> Decision {
    let mut version = version.clone();
    version.properties.provisioning_state = state;
    Decision {
        internal,
        ..Decision::new(
            version.name.clone(),
            version.location.clone(),
            state.as_str().to_string(),
            serde_json::to_string(&version).unwrap_or_default(),
        )
    }
}

async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let rules = rules(app);
    let body: WriteBody<GalleryImageVersionRequest> = WriteBody::parse(request, must_exist)?;
    // Sources are resolved for creates only (they cannot change afterwards).
    let exists = app.store()?.get_resource(&path.key()).await?.is_some();
    let (resolved, sources) = match (&body, exists) {
        (WriteBody::Put(body), false) => {
            VersionName::parse(path.name())?;
            resolve_sources(app, body).await?
        }
        _ => (None, VersionInternal::default()),
    };
    let new_internal = serde_json::to_string(&sources).ok();
    let now = chrono::Utc::now();
    let plan = PutPlan {
        path: &path,
        quota: Some(QuotaKind::ImageVersions),
        must_exist,
        job: Some(JobPlan {
            kind: JobKind::ReplicateVersion,
            payload: "{}".to_string(),
        }),
    };
    tracked::put(
        app,
        request,
        plan,
        |id, ancestry, existing| {
            let stored: Option<GalleryImageVersion> = existing
                .map(|resource| parse_stored(&resource.body))
                .transpose()?;
            let mut guid = tracked::new_guid;
            let context =
                tracked::write_context(request, id, ancestry, path.name(), now, &mut guid);
            let version = match (&body, &stored) {
                (WriteBody::Patch(patch), Some(stored)) => {
                    version_model::patch(stored, patch.clone(), &context, &rules)?
                }
                (WriteBody::Put(put), stored) => version_model::put(
                    stored.as_ref(),
                    put.clone(),
                    &context,
                    resolved.as_ref(),
                    &rules,
                )?,
                (WriteBody::Patch(_), None) => return Err(path.resource_not_found()),
            };
            Ok(match existing {
                None => decision(&version, ProvisioningState::Creating, new_internal.clone()),
                Some(resource) => decision(
                    &version,
                    ProvisioningState::Updating,
                    resource.internal.clone(),
                ),
            })
        },
        |document: Value| document,
    )
    .await
}

/// GalleryImageVersions_CreateOrUpdate: `PUT …/images/{i}/versions/{galleryImageVersionName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, false).await
}

/// GalleryImageVersions_Update: `PATCH …/images/{i}/versions/{galleryImageVersionName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// The replication status of a version: per target region, from its replica rows.
pub(crate) fn replication_status(
    version: &GalleryImageVersion,
    replicas: &[StoredReplica],
) -> ReplicationStatus {
    let settled = matches!(
        version.properties.provisioning_state,
        ProvisioningState::Succeeded
    );
    let summary = version
        .properties
        .publishing_profile
        .target_regions
        .iter()
        .map(|target| {
            let region = target.short_name();
            let rows: Vec<&StoredReplica> = replicas
                .iter()
                .filter(|replica| {
                    replica.region == region && replica.state != ReplicaState::Removing
                })
                .collect();
            let total: i64 = rows.iter().map(|replica| replica.bytes_total).sum();
            let copied: i64 = rows
                .iter()
                .map(|replica| replica.bytes_copied.min(replica.bytes_total))
                .sum();
            let failed = rows
                .iter()
                .find(|replica| replica.state == ReplicaState::Failed);
            let completed = if rows.is_empty() {
                settled
            } else {
                rows.iter()
                    .all(|replica| replica.state == ReplicaState::Completed)
            };
            let state = if failed.is_some() {
                ReplicationState::Failed
            } else if completed {
                ReplicationState::Completed
            } else {
                ReplicationState::Replicating
            };
            let progress = if completed {
                100
            } else if total > 0 {
                u32::try_from(copied.saturating_mul(100) / total)
                    .unwrap_or(0)
                    .min(99)
            } else {
                0
            };
            RegionalReplicationStatus {
                region: target.name.clone(),
                state,
                details: failed
                    .map(|replica| replica.details.clone())
                    .unwrap_or_default(),
                progress,
            }
        })
        .collect();
    ReplicationStatus::from_summary(summary)
}

/// GalleryImageVersions_Get, with `$expand=ReplicationStatus` and `ValidationProfile`
/// (`UefiSettings` is accepted and adds nothing).
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let expand_replication = request.shaping.expands(Expansion::ReplicationStatus);
    let expand_validation = request.shaping.expands(Expansion::ValidationProfile);
    let path = path(request);
    let resource = tracked::get(app, &path).await?;
    if !expand_replication && !expand_validation {
        return Ok(response::json_text(StatusCode::OK, resource.body));
    }
    let version: GalleryImageVersion = parse_stored(&resource.body)?;
    let mut document: Value = parse_stored(&resource.body)?;
    if expand_replication {
        let replicas = app.store()?.list_replicas(resource.seq).await?;
        document = version_model::with_replication_status(
            document,
            &replication_status(&version, &replicas),
        );
    }
    if expand_validation {
        let identifier = match path.parent() {
            Some(parent) => app
                .store()?
                .get_resource(&parent.key())
                .await?
                .map(|image| parse_stored::<Value>(&image.body))
                .transpose()?
                .map(|image| image["properties"]["identifier"].clone()),
            None => None,
        }
        .unwrap_or(Value::Null);
        document = version_model::with_validations_profile(document, &identifier);
    }
    Ok(response::json(StatusCode::OK, &document))
}

/// GalleryImageVersions_Delete: 202 while the workers remove every replica, then the version.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = path(request);
    let store = app.store()?;
    let Some(current) = tracked::get_for_delete(app, &path).await? else {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    };
    let version: GalleryImageVersion = parse_stored(&current.body)?;
    version_model::check_delete_allowed(&version, chrono::Utc::now())?;
    let id = path.id();
    let key = path.key();
    let parent = path.parent();
    let parent_key = parent.as_ref().map(ResourcePath::key).unwrap_or_default();
    let parent_name = parent
        .as_ref()
        .map(ResourcePath::display_name)
        .unwrap_or_default();
    let target = gallery_store::ResourceTarget {
        resource_id: &id,
        resource_key: &key,
        subscription_id: &path.subscription_id,
        resource_group_key: &gallery_domain::names::name_key(&path.resource_group),
        resource_group_name: &path.resource_group,
        resource_type: path.resource_type,
        parent: Some(gallery_store::ParentTarget {
            resource_key: &parent_key,
            display_name: &parent_name,
        }),
        quota: None,
    };
    let operation = tracked::running_operation(request, 204);
    let outcome = store
        .put_resource(&target, &operation, |_ancestry, existing| {
            let Some(existing) = existing else {
                return Err(path.resource_not_found());
            };
            let mut version: GalleryImageVersion = parse_stored(&existing.body)?;
            version.properties.provisioning_state = ProvisioningState::Deleting;
            let mut decided = decision(
                &version,
                ProvisioningState::Deleting,
                existing.internal.clone(),
            );
            decided.jobs.push(NewJob {
                kind: JobKind::DeleteVersion,
                resource_key: key.clone(),
                operation_id: Some(operation.operation_id.clone()),
                payload: "{}".to_string(),
            });
            Ok(decided)
        })
        .await?;
    app.wake_workers();
    Ok(response::accepted_delete(
        request,
        &outcome.resource.location,
        &operation.operation_id,
    ))
}

/// GalleryImageVersions_ListByGalleryImage: `GET …/images/{i}/versions`.
pub async fn list_by_gallery_image(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let image_path = ResourcePath::from_request(
        request,
        ids::GALLERY_IMAGE_TYPE,
        &[("galleries", "galleryName"), ("images", "galleryImageName")],
    );
    tracked::list_below(
        app,
        request,
        &image_path,
        "versions",
        ids::GALLERY_IMAGE_VERSION_TYPE,
    )
    .await
}
