//! `Microsoft.Compute/galleries/images/versions`: the five image version operations of the spec.
//!
//! A version is what gets replicated. Creating one resolves its source ([`sources`]: a managed
//! image, snapshot, disk, another gallery image version, or a blob on galleryd's blob endpoint) to
//! the contents that hold its bytes, lets the domain rules decide the document, and records it
//! `Creating` together with its operation (in progress) and a replication job, in one transaction;
//! the workers copy the replicas and settle both. Updates go `Updating` the same way; deletes go
//! `Deleting`, and the worker removes every replica before the version. `$expand=ReplicationStatus`
//! reports per-region progress from the replica rows (the publishing core's status view).

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
    PublishingRules, ReplicaProgress, replication, replication_status,
};
use gallery_domain::version_name::VersionName;
use gallery_store::{Decision, JobKind, PlannedJob};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::shaping::Expansion;
use crate::arm::tracked::{
    self, DecideWrite, ResourcePath, WriteAttempt, WriteBody, WritePlan, parse_stored,
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
        publishing: PublishingRules {
            max_replicas_per_region: app.settings.max_replicas_per_region,
            ..PublishingRules::default()
        },
        max_total_size_gb: app.settings.max_image_size_gb,
    }
}

/// The document a decision stores: the decided version, in `state` until the workers settle it,
/// with a job for them.
fn decision(
    version: &GalleryImageVersion,
    state: ProvisioningState,
    internal: Option<String>,
    job: JobKind,
) -> ApiResult<Decision> {
    let mut version = version.clone();
    version.properties.provisioning_state = state;
    Ok(Decision {
        internal,
        jobs: vec![PlannedJob {
            kind: job,
            payload: "{}".to_string(),
        }],
        ..Decision::new(
            version.name.clone(),
            version.location.clone(),
            state.as_str().to_string(),
            tracked::to_json(&version)?,
        )
    })
}

/// An image version PUT or PATCH. A create resolves its sources first (they cannot change
/// afterwards); every write hands the workers a replication.
struct VersionWrite<'a> {
    app: &'a App,
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<GalleryImageVersionRequest>,
    rules: VersionRules,
    now: chrono::DateTime<chrono::Utc>,
}

impl DecideWrite for VersionWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let stored: Option<GalleryImageVersion> = attempt.existing_document()?;
        let (resolved, contents) = match (&self.body, &stored) {
            (WriteBody::Put(body), None) => {
                let (resolved, contents) =
                    sources::resolve_sources(self.app, attempt.id, body).await?;
                (resolved, Some(tracked::to_json(&contents)?))
            }
            _ => (None, None),
        };
        let mut guid = tracked::new_guid;
        let context = tracked::write_context(
            self.request,
            attempt.id,
            attempt.ancestry(),
            self.path.name(),
            self.now,
            &mut guid,
        );
        let version = match (&self.body, &stored) {
            (WriteBody::Patch(patch), Some(stored)) => {
                version_model::patch(stored, patch.clone(), &context, &self.rules)?
            }
            (WriteBody::Put(put), stored) => version_model::put(
                stored.as_ref(),
                put.clone(),
                &context,
                resolved.as_ref(),
                &self.rules,
            )?,
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        match attempt.existing() {
            None => decision(
                &version,
                ProvisioningState::Creating,
                contents,
                JobKind::ReplicateVersion,
            ),
            Some(resource) => decision(
                &version,
                ProvisioningState::Updating,
                resource.internal.clone(),
                JobKind::ReplicateVersion,
            ),
        }
    }
}

async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let body: WriteBody<GalleryImageVersionRequest> = WriteBody::parse(request, must_exist)?;
    if let WriteBody::Put(_) = body {
        // Names are checked before anything is looked up (a version's name never changes).
        VersionName::parse(path.name())?;
    }
    let plan = WritePlan {
        path: &path,
        quota: Some(QuotaKind::ImageVersions),
        must_exist,
        final_status: 200,
    };
    let mut decider = VersionWrite {
        app,
        request,
        path: &path,
        body,
        rules: rules(app),
        now: chrono::Utc::now(),
    };
    tracked::put(app, request, &plan, &mut decider, |document: Value| {
        document
    })
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

/// The deletion of a version: marked `Deleting` (if its safety profile allows it now), with a job
/// that removes every replica and then the version.
struct VersionDeletion<'a> {
    path: &'a ResourcePath,
    now: chrono::DateTime<chrono::Utc>,
}

impl DecideWrite for VersionDeletion<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let Some(existing) = attempt.existing() else {
            return Err(self.path.resource_not_found().into());
        };
        let version: GalleryImageVersion = parse_stored(&existing.body)?;
        version_model::check_delete_allowed(&version, self.now)?;
        decision(
            &version,
            ProvisioningState::Deleting,
            existing.internal.clone(),
            JobKind::DeleteVersion,
        )
    }
}

/// GalleryImageVersions_Delete: 202 while the workers remove every replica, then the version.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = path(request);
    if tracked::get_for_delete(app, &path).await?.is_none() {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    }
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist: true,
        final_status: 204,
    };
    let mut decider = VersionDeletion {
        path: &path,
        now: chrono::Utc::now(),
    };
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    Ok(response::accepted_delete(
        request,
        &written.resource.location,
        &written.operation_id,
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
