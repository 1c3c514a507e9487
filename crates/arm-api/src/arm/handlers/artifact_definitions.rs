//! The five definition operations every published artifact kind shares (VM application
//! definitions, gallery script definitions), written once and parametrised by the kind
//! ([`ArtifactDefinitionKind`]). A definition holds no bytes, so every write is finished inside
//! the request; its versions ([`super::published_versions`]) are what gets replicated.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::models::artifact_definition::DefinitionRequest;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::{ProvisioningState, TrackedResource, WriteContext};
use gallery_domain::names::validate_gallery_child_name;
use gallery_store::Decision;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{self, DecideWrite, ResourcePath, WriteAttempt, WriteBody, WritePlan};
use crate::error::ApiResult;

/// What sets one artifact kind's definitions apart: their names, their domain rules, and whether
/// they serve a provisioning state.
pub(crate) trait ArtifactDefinitionKind {
    /// `properties` of a definition, as stored and served.
    type Properties: Serialize + DeserializeOwned + Send + Sync;

    /// The definition's resource type.
    const RESOURCE_TYPE: &'static str;
    /// The definition's path segment and its path parameter (`("scripts", "galleryScriptName")`).
    const SEGMENT: (&'static str, &'static str);
    /// Whether the served document carries `provisioningState` (`Creating`/`Updating` in a write's
    /// answer); when not, the stored document is the answer as it is.
    const SERVES_PROVISIONING_STATE: bool;

    /// Decides a PUT.
    fn put(
        existing: Option<&TrackedResource<Self::Properties>>,
        request: DefinitionRequest,
        context: &WriteContext<'_>,
    ) -> Result<TrackedResource<Self::Properties>, ServiceError>;
    /// Decides a PATCH.
    fn patch(
        existing: &TrackedResource<Self::Properties>,
        request: PatchRequest,
        context: &WriteContext<'_>,
    ) -> Result<TrackedResource<Self::Properties>, ServiceError>;
    /// The state the row records.
    fn stored_state(properties: &Self::Properties) -> ProvisioningState;
}

fn path<K: ArtifactDefinitionKind>(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        K::RESOURCE_TYPE,
        &[("galleries", "galleryName"), K::SEGMENT],
    )
}

/// A definition PUT or PATCH, decided by the kind's definition rules.
struct DefinitionWrite<'a, K> {
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<DefinitionRequest>,
    now: chrono::DateTime<chrono::Utc>,
    kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: ArtifactDefinitionKind> DecideWrite for DefinitionWrite<'_, K> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let existing: Option<TrackedResource<K::Properties>> = attempt.existing_document()?;
        let mut guid = tracked::new_guid;
        let context = tracked::write_context(
            self.request,
            attempt.id,
            attempt.ancestry(),
            self.path.name(),
            self.now,
            &mut guid,
        );
        let definition = match (&self.body, &existing) {
            (WriteBody::Patch(patch), Some(existing)) => {
                K::patch(existing, patch.clone(), &context)?
            }
            (WriteBody::Put(put), existing) => K::put(existing.as_ref(), put.clone(), &context)?,
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        Ok(Decision::new(
            definition.name.clone(),
            definition.location.clone(),
            K::stored_state(&definition.properties).as_str().to_string(),
            tracked::to_json(&definition)?,
        ))
    }
}

async fn write<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
    must_exist: bool,
) -> ApiResult<Response> {
    let path = path::<K>(request);
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist,
        final_status: 200,
    };
    let mut decider = DefinitionWrite::<K> {
        request,
        path: &path,
        body: WriteBody::parse(request, must_exist)?,
        now: chrono::Utc::now(),
        kind: std::marker::PhantomData,
    };
    if K::SERVES_PROVISIONING_STATE {
        return tracked::put(app, request, &plan, &mut decider, |document| document).await;
    }
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    Ok(response::accepted_put(
        request,
        written.created,
        written.resource.body,
        &written.resource.location,
        &written.operation_id,
    ))
}

/// `PUT …/galleries/{g}/{definitions}/{name}`: creates or replaces a definition.
pub(crate) async fn create_or_update<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let (_, parameter) = K::SEGMENT;
    validate_gallery_child_name(request.parameters.get(parameter), parameter)?;
    write::<K>(app, request, false).await
}

/// `PATCH …/galleries/{g}/{definitions}/{name}`: updates a definition.
pub(crate) async fn update<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    write::<K>(app, request, true).await
}

/// `GET …/galleries/{g}/{definitions}/{name}`: served as stored.
pub(crate) async fn get<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let resource = tracked::get(app, &path::<K>(request)).await?;
    Ok(response::json_text(StatusCode::OK, resource.body))
}

/// `DELETE …/galleries/{g}/{definitions}/{name}`: 202, or 204 when there was none; 409 while it
/// has versions.
pub(crate) async fn delete<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    tracked::delete(app, request, &path::<K>(request), |_| Ok(())).await
}

/// `GET …/galleries/{g}/{definitions}`: the definitions of one gallery.
pub(crate) async fn list_by_gallery<K: ArtifactDefinitionKind>(
    app: &App,
    request: &ArmRequest,
) -> ApiResult<Response> {
    let gallery_path =
        ResourcePath::from_request(request, ids::GALLERY_TYPE, &[("galleries", "galleryName")]);
    let (collection, _) = K::SEGMENT;
    tracked::list_below(app, request, &gallery_path, collection, K::RESOURCE_TYPE).await
}
