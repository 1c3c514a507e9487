//! The five version operations every published artifact kind shares (VM application versions,
//! gallery script versions), written once and parametrised by the kind ([`PublishedVersionKind`]).
//!
//! A version is what gets replicated. A create is decided by the kind's domain rules first, then
//! its parts are read from their links ([`super::gallery_application_versions::package`]) into
//! sealed contents in the version's region, and the version is recorded `Creating` with its
//! operation (in progress) and a replication job, in one transaction; the workers copy every part
//! into every planned replica and settle both. Updates go `Updating` the same way (the parts never
//! change); deletes go `Deleting`, and the worker removes every replica and the parts before the
//! version. `$expand=ReplicationStatus` reports per-region progress from the replica rows.

use std::marker::PhantomData;

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::gallery_application_version::PackageLink;
use gallery_domain::models::{ProvisioningState, TrackedResource, WriteContext};
use gallery_domain::publishing::{
    PublishedContents, PublishingProfile, PublishingRules, ReplicaProgress, replication,
    replication_status,
};
use gallery_domain::version_name::VersionName;
use gallery_store::{Decision, JobKind, PlannedJob};
use serde::Serialize;
use serde::de::DeserializeOwned;
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

/// What sets one published artifact kind's versions apart: their names, their domain rules, and
/// where their parts come from.
pub(crate) trait PublishedVersionKind {
    /// `properties` of a version, as stored and served.
    type Properties: Clone + Serialize + DeserializeOwned + Send + Sync;
    /// The body of a version PUT.
    type Request: Clone + DeserializeOwned + Send + Sync;
    /// The domain rules a write is decided with.
    type Rules: Send + Sync;

    /// The version's resource type.
    const VERSION_TYPE: &'static str;
    /// The definition's resource type.
    const DEFINITION_TYPE: &'static str;
    /// The definition's path segment and its path parameter (`("scripts", "galleryScriptName")`).
    const DEFINITION_SEGMENT: (&'static str, &'static str);
    /// The version's path parameter (`galleryScriptVersionName`).
    const VERSION_PARAMETER: &'static str;

    /// The domain rules, given the publishing limits of the deployment.
    fn rules(publishing: PublishingRules) -> Self::Rules;
    /// Decides a PUT.
    fn put(
        existing: Option<&TrackedResource<Self::Properties>>,
        request: Self::Request,
        context: &WriteContext<'_>,
        rules: &Self::Rules,
    ) -> Result<TrackedResource<Self::Properties>, ServiceError>;
    /// Decides a PATCH.
    fn patch(
        existing: &TrackedResource<Self::Properties>,
        request: PatchRequest,
        context: &WriteContext<'_>,
        rules: &Self::Rules,
    ) -> Result<TrackedResource<Self::Properties>, ServiceError>;
    /// The links a new version's parts are read from.
    fn links(version: &TrackedResource<Self::Properties>) -> Vec<PackageLink>;
    /// The largest part, in bytes.
    fn max_part_bytes(rules: &Self::Rules) -> u64;
    /// The version's provisioning state.
    fn provisioning_state(properties: &mut Self::Properties) -> &mut ProvisioningState;
    /// The publishing profile every artifact shares (target regions, …).
    fn publishing_profile(properties: &Self::Properties) -> &PublishingProfile;
}

fn path<K: PublishedVersionKind>(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        K::VERSION_TYPE,
        &[
            ("galleries", "galleryName"),
            K::DEFINITION_SEGMENT,
            ("versions", K::VERSION_PARAMETER),
        ],
    )
}

fn rules<K: PublishedVersionKind>(app: &App) -> K::Rules {
    K::rules(PublishingRules {
        max_replicas_per_region: app.settings.max_replicas_per_region,
        ..PublishingRules::default()
    })
}

/// The document a decision stores: the decided version, in `state` until the workers settle it,
/// with a job for them.
fn decision<K: PublishedVersionKind>(
    version: &TrackedResource<K::Properties>,
    state: ProvisioningState,
    internal: Option<String>,
    job: JobKind,
) -> ApiResult<Decision> {
    let mut version = version.clone();
    *K::provisioning_state(&mut version.properties) = state;
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

/// A version PUT or PATCH. A create reads its parts once (a create that lost a race and runs
/// again keeps what it read); every write hands the workers a replication.
struct VersionWrite<'a, K: PublishedVersionKind> {
    app: &'a App,
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<K::Request>,
    rules: K::Rules,
    now: chrono::DateTime<chrono::Utc>,
    /// The contents read for a create, owned by the definition until the version is recorded.
    package: Option<PublishedContents>,
}

impl<K: PublishedVersionKind> DecideWrite for VersionWrite<'_, K> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let stored: Option<TrackedResource<K::Properties>> = attempt.existing_document()?;
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
                    K::patch(stored, patch.clone(), &context, &self.rules)?
                }
                (WriteBody::Put(put), stored) => {
                    K::put(stored.as_ref(), put.clone(), &context, &self.rules)?
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
                        let definition_key = self
                            .path
                            .parent()
                            .map(|parent| parent.key())
                            .unwrap_or_default();
                        let contents = package::read_links(
                            self.app,
                            &K::links(&version),
                            &version.location,
                            &definition_key,
                            K::max_part_bytes(&self.rules),
                        )
                        .await?;
                        self.package = Some(contents.clone());
                        contents
                    }
                };
                decision::<K>(
                    &version,
                    ProvisioningState::Creating,
                    Some(tracked::to_json(&contents)?),
                    JobKind::ReplicateVersion,
                )
            }
            Some(resource) => decision::<K>(
                &version,
                ProvisioningState::Updating,
                resource.internal.clone(),
                JobKind::ReplicateVersion,
            ),
        }
    }
}

async fn write<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
    must_exist: bool,
) -> ApiResult<Response> {
    let path = path::<K>(request);
    let body: WriteBody<K::Request> = WriteBody::parse(request, must_exist)?;
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
    let mut decider = VersionWrite::<K> {
        app,
        request,
        path: &path,
        body,
        rules: rules::<K>(app),
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

/// `PUT …/versions/{version}`: creates or replaces a version.
pub(crate) async fn create_or_update<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    write::<K>(app, request, false).await
}

/// `PATCH …/versions/{version}`: updates a version.
pub(crate) async fn update<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    write::<K>(app, request, true).await
}

/// `GET …/versions/{version}`, with `$expand=ReplicationStatus`.
pub(crate) async fn get<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let resource = tracked::get(app, &path::<K>(request)).await?;
    if !request.shaping.expands(Expansion::ReplicationStatus) {
        return Ok(response::json_text(StatusCode::OK, resource.body));
    }
    let mut version: TrackedResource<K::Properties> = parse_stored(&resource.body)?;
    let document: Value = parse_stored(&resource.body)?;
    let replicas = app.store()?.list_replicas(resource.seq).await?;
    let progress: Vec<ReplicaProgress<'_>> =
        replicas.iter().map(|replica| replica.progress()).collect();
    let settled = *K::provisioning_state(&mut version.properties) == ProvisioningState::Succeeded;
    let status = replication_status(
        K::publishing_profile(&version.properties),
        settled,
        &progress,
    );
    Ok(response::json(
        StatusCode::OK,
        &replication::with_replication_status(document, &status),
    ))
}

/// The deletion of a version: marked `Deleting`, with a job that removes every replica and the
/// parts, then the version.
struct VersionDeletion<'a, K> {
    path: &'a ResourcePath,
    kind: PhantomData<fn() -> K>,
}

impl<K: PublishedVersionKind> DecideWrite for VersionDeletion<'_, K> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let Some(existing) = attempt.existing() else {
            return Err(self.path.resource_not_found().into());
        };
        let version: TrackedResource<K::Properties> = parse_stored(&existing.body)?;
        decision::<K>(
            &version,
            ProvisioningState::Deleting,
            existing.internal.clone(),
            JobKind::DeleteVersion,
        )
    }
}

/// `DELETE …/versions/{version}`: 202 while the workers remove every replica, then the version.
pub(crate) async fn delete<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let path = path::<K>(request);
    if tracked::get_for_delete(app, &path).await?.is_none() {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    }
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist: true,
        final_status: 204,
    };
    let mut decider = VersionDeletion::<K> {
        path: &path,
        kind: PhantomData,
    };
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    Ok(response::accepted_delete(
        request,
        &written.resource.location,
        &written.operation_id,
    ))
}

/// `GET …/{definition}/versions`: the versions of one definition.
pub(crate) async fn list_by_definition<K: PublishedVersionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let definition_path = ResourcePath::from_request(
        request,
        K::DEFINITION_TYPE,
        &[("galleries", "galleryName"), K::DEFINITION_SEGMENT],
    );
    tracked::list_below(app, request, &definition_path, "versions", K::VERSION_TYPE).await
}
