//! `Microsoft.Compute/galleries/images/versions`: the five image version operations of the spec.
//!
//! A version is what gets replicated. Creating one resolves its source (a managed image, snapshot,
//! disk, another gallery image version, or a blob on galleryd's blob endpoint) to the contents that
//! hold its bytes, lets the domain rules decide the document, and records it `Creating` together with
//! its operation (in progress) and a replication job, in one transaction; the workers copy the
//! replicas and settle both. Updates go `Updating` the same way; deletes go `Deleting`, and the
//! worker removes every replica before the version. `$expand=ReplicationStatus` reports per-region
//! progress from the replica rows (the publishing core's status view).

mod sources;

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::gallery_image_version::{
    self as version_model, GalleryImageVersion, GalleryImageVersionRequest, VersionRules,
};
use gallery_domain::publishing::{
    PublishedContents, PublishingRules, ReplicaProgress, replication, replication_status,
};
use gallery_domain::version_name::VersionName;
use gallery_store::{Decision, JobKind, NewJob};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::shaping::Expansion;
use crate::arm::tracked::{self, JobPlan, PutPlan, ResourcePath, WriteBody, parse_stored};
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
        publishing: PublishingRules {
            max_replicas_per_region: app.settings.max_replicas_per_region,
            ..PublishingRules::default()
        },
        max_total_size_gb: app.settings.max_image_size_gb,
    }
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
            sources::resolve_sources(app, body).await?
        }
        _ => (None, PublishedContents::default()),
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
        let progress: Vec<ReplicaProgress<'_>> =
            replicas.iter().map(|replica| replica.progress()).collect();
        let status = replication_status(
            &version.properties.publishing_profile,
            version.properties.provisioning_state == ProvisioningState::Succeeded,
            &progress,
        );
        document = replication::with_replication_status(document, &status);
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
