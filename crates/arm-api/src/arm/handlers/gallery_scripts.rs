//! `Microsoft.Compute/galleries/scripts`: the five gallery script definition operations of the
//! spec (api-version 2025-03-03), by the shared [`super::artifact_definitions`]. A definition
//! holds no bytes, so every write is finished inside the request.

use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::gallery_script::{
    self, GalleryScript, GalleryScriptProperties, GalleryScriptRequest,
};
use gallery_domain::models::{ProvisioningState, WriteContext};

use crate::App;
use crate::arm::handlers::artifact_definitions::{self, ArtifactDefinitionKind};
use crate::arm::request::ArmRequest;
use crate::error::ApiResult;

/// Gallery script definitions, as a published artifact kind.
pub(crate) struct Scripts;

impl ArtifactDefinitionKind for Scripts {
    type Properties = GalleryScriptProperties;

    const RESOURCE_TYPE: &'static str = ids::GALLERY_SCRIPT_TYPE;
    const SEGMENT: (&'static str, &'static str) = ("scripts", "galleryScriptName");
    const SERVES_PROVISIONING_STATE: bool = true;

    fn put(
        existing: Option<&GalleryScript>,
        request: GalleryScriptRequest,
        context: &WriteContext<'_>,
    ) -> Result<GalleryScript, ServiceError> {
        gallery_script::put(existing, request, context)
    }

    fn patch(
        existing: &GalleryScript,
        request: PatchRequest,
        context: &WriteContext<'_>,
    ) -> Result<GalleryScript, ServiceError> {
        gallery_script::patch(existing, request, context)
    }

    fn stored_state(properties: &GalleryScriptProperties) -> ProvisioningState {
        properties.provisioning_state
    }
}

/// GalleryScripts_CreateOrUpdate: `PUT …/galleries/{g}/scripts/{galleryScriptName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::create_or_update::<Scripts>(app, request).await
}

/// GalleryScripts_Update: `PATCH …/galleries/{g}/scripts/{galleryScriptName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::update::<Scripts>(app, request).await
}

/// GalleryScripts_Get: served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::get::<Scripts>(app, request).await
}

/// GalleryScripts_Delete: 202, or 204 when there was none.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::delete::<Scripts>(app, request).await
}

/// GalleryScripts_ListByGallery: `GET …/galleries/{g}/scripts`.
pub async fn list_by_gallery(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::list_by_gallery::<Scripts>(app, request).await
}
