//! `Microsoft.Compute/galleries/scripts/versions`: the five gallery script version operations of
//! the spec (api-version 2025-03-03).
//!
//! Like an application version: a create is decided first, then its script is read from
//! `source.scriptLink` (with the application packages' reader,
//! [`super::gallery_application_versions::package`]) into a sealed content, and the version is
//! recorded `Creating` with a replication job; updates go `Updating`, deletes `Deleting`, and the
//! workers do the rest. `$expand=ReplicationStatus` reports per-region progress.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::gallery_script_version::{
    self as version_model, GalleryScriptVersion, GalleryScriptVersionRequest, ScriptVersionRules,
};
use gallery_domain::publishing::{
    PublishedContents, PublishingRules, ReplicaProgress, replication, replication_status,
};
use gallery_domain::version_name::VersionName;
use gallery_store::{Decision, JobKind, PlannedJob};
use serde_json::Value;

use crate::App;
use crate::arm::handlers::gallery_application_versions::package;
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
        ids::GALLERY_SCRIPT_VERSION_TYPE,
        &[
            ("galleries", "galleryName"),
            ("scripts", "galleryScriptName"),
            ("versions", "galleryScriptVersionName"),
        ],
    )
}

fn rules(app: &App) -> ScriptVersionRules {
    ScriptVersionRules {
        publishing: PublishingRules {
            max_replicas_per_region: app.settings.max_replicas_per_region,
            ..PublishingRules::default()
        },
        ..ScriptVersionRules::default()
    }
}

/// The document a decision stores: the decided version, in `state` until the workers settle it,
/// with a job for them.
fn decision(
    version: &GalleryScriptVersion,
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

/// A script version PUT or PATCH. A create reads its script once (a create that lost a
/// race and runs again keeps what it read); every write hands the workers a replication.
struct VersionWrite<'a> {
    app: &'a App,
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<GalleryScriptVersionRequest>,
    rules: ScriptVersionRules,
    now: chrono::DateTime<chrono::Utc>,
    /// The contents read for a create, owned by the script until the version is recorded.
    package: Option<PublishedContents>,
}

impl DecideWrite for VersionWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let stored: Option<GalleryScriptVersion> = attempt.existing_document()?;
        // Decided before anything is read, so a bad request reads nothing (and the context,
        // which is not `Send`, is gone before the reads).
        let version = {
            let mut guid = tracked::new_guid;
            let context = tracked::write_context(
                self.request,
                attempt.id,
                attempt.ancestry(),
                self.path.name(),
                self.now,
                &mut guid,
            );
            match (&self.body, &stored) {
                (WriteBody::Patch(patch), Some(stored)) => {
                    version_model::patch(stored, patch.clone(), &context, &self.rules)?
                }
                (WriteBody::Put(put), stored) => {
                    version_model::put(stored.as_ref(), put.clone(), &context, &self.rules)?
                }
                (WriteBody::Patch(_), None) => {
                    return Err(self.path.resource_not_found().into());
                }
            }
        };
        match attempt.existing() {
            None => {
                let contents = match &self.package {
                    Some(contents) => contents.clone(),
                    None => {
                        let script_key = self
                            .path
                            .parent()
                            .map(|parent| parent.key())
                            .unwrap_or_default();
                        let contents = package::read_links(
                            self.app,
                            &[version_model::script_link(&version)],
                            &version.location,
                            &script_key,
                            self.rules.max_script_bytes,
                        )
                        .await?;
                        self.package = Some(contents.clone());
                        contents
                    }
                };
                decision(
                    &version,
                    ProvisioningState::Creating,
                    Some(tracked::to_json(&contents)?),
                    JobKind::ReplicateVersion,
                )
            }
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
    let body: WriteBody<GalleryScriptVersionRequest> = WriteBody::parse(request, must_exist)?;
    if let WriteBody::Put(_) = body {
        // Names are checked before anything is read (a version's name never changes).
        VersionName::parse(path.name())?;
    }
    let plan = WritePlan {
        path: &path,
        quota: None,
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
        package: None,
    };
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    if let Some(contents) = &decider.package {
        if written.created {
            package::adopt(app, contents, &path.key()).await?;
        } else {
            // A concurrent create won the race: this write ran as an update, without them.
            package::discard(app, contents).await?;
        }
    }
    let mut document: Value = parse_stored(&written.resource.body)?;
    let state = if written.created {
        ProvisioningState::Creating
    } else {
        ProvisioningState::Updating
    };
    gallery_domain::models::common::set_provisioning_state(&mut document, state);
    Ok(response::accepted_put(
        request,
        written.created,
        document.to_string(),
        &written.resource.location,
        &written.operation_id,
    ))
}

/// GalleryScriptVersions_CreateOrUpdate: `PUT …/scripts/{s}/versions/{galleryScriptVersionName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, false).await
}

/// GalleryScriptVersions_Update: `PATCH …/scripts/{s}/versions/{galleryScriptVersionName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// GalleryScriptVersions_Get, with `$expand=ReplicationStatus`.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request)).await?;
    if !request.shaping.expands(Expansion::ReplicationStatus) {
        return Ok(response::json_text(StatusCode::OK, resource.body));
    }
    let version: GalleryScriptVersion = parse_stored(&resource.body)?;
    let document: Value = parse_stored(&resource.body)?;
    let replicas = app.store()?.list_replicas(resource.seq).await?;
    let progress: Vec<ReplicaProgress<'_>> =
        replicas.iter().map(|replica| replica.progress()).collect();
    let status = replication_status(
        &version.properties.publishing_profile.shared,
        version.properties.provisioning_state == ProvisioningState::Succeeded,
        &progress,
    );
    Ok(response::json(
        StatusCode::OK,
        &replication::with_replication_status(document, &status),
    ))
}

/// The deletion of a version: marked `Deleting`, with a job that removes every replica and the
/// script, then the version.
struct VersionDeletion<'a> {
    path: &'a ResourcePath,
}

impl DecideWrite for VersionDeletion<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let Some(existing) = attempt.existing() else {
            return Err(self.path.resource_not_found().into());
        };
        let version: GalleryScriptVersion = parse_stored(&existing.body)?;
        decision(
            &version,
            ProvisioningState::Deleting,
            existing.internal.clone(),
            JobKind::DeleteVersion,
        )
    }
}

/// GalleryScriptVersions_Delete: 202 while the workers remove every replica, then the version.
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
    let mut decider = VersionDeletion { path: &path };
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    Ok(response::accepted_delete(
        request,
        &written.resource.location,
        &written.operation_id,
    ))
}

/// GalleryScriptVersions_ListByGalleryScript: `GET …/scripts/{s}/versions`.
pub async fn list_by_gallery_script(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let script_path = ResourcePath::from_request(
        request,
        ids::GALLERY_SCRIPT_TYPE,
        &[
            ("galleries", "galleryName"),
            ("scripts", "galleryScriptName"),
        ],
    );
    tracked::list_below(
        app,
        request,
        &script_path,
        "versions",
        ids::GALLERY_SCRIPT_VERSION_TYPE,
    )
    .await
}
