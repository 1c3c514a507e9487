//! `Microsoft.Compute/galleries/applications`: the five VM application definition operations of
//! the spec, by the shared [`super::artifact_definitions`]. A definition holds no bytes, so every
//! write is finished inside the request; its versions (`gallery_application_versions`) are what
//! gets replicated.

use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::gallery_application::{
    self, GalleryApplication, GalleryApplicationProperties, GalleryApplicationRequest,
};
use gallery_domain::models::{ProvisioningState, WriteContext};

use crate::App;
use crate::arm::handlers::artifact_definitions::{self, ArtifactDefinitionKind};
use crate::arm::request::ArmRequest;
use crate::error::ApiResult;

/// VM application definitions, as a published artifact kind.
pub(crate) struct Applications;

impl ArtifactDefinitionKind for Applications {
    type Properties = GalleryApplicationProperties;

    const RESOURCE_TYPE: &'static str = ids::GALLERY_APPLICATION_TYPE;
    const SEGMENT: (&'static str, &'static str) = ("applications", "galleryApplicationName");
    /// Applications serve no provisioning state (the spec has none), so the stored document is
    /// the answer as it is.
    const SERVES_PROVISIONING_STATE: bool = false;

    fn put(
        existing: Option<&GalleryApplication>,
        request: GalleryApplicationRequest,
        context: &WriteContext<'_>,
    ) -> Result<GalleryApplication, ServiceError> {
        gallery_application::put(existing, request, context)
    }

    fn patch(
        existing: &GalleryApplication,
        request: PatchRequest,
        context: &WriteContext<'_>,
    ) -> Result<GalleryApplication, ServiceError> {
        gallery_application::patch(existing, request, context)
    }

    fn stored_state(_: &GalleryApplicationProperties) -> ProvisioningState {
        ProvisioningState::Succeeded
    }
}

/// GalleryApplications_CreateOrUpdate: `PUT …/galleries/{g}/applications/{galleryApplicationName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::create_or_update::<Applications>(app, request).await
}

/// GalleryApplications_Update: `PATCH …/galleries/{g}/applications/{galleryApplicationName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::update::<Applications>(app, request).await
}

/// GalleryApplications_Get: served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::get::<Applications>(app, request).await
}

/// GalleryApplications_Delete: 409 while it has versions.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::delete::<Applications>(app, request).await
}

/// GalleryApplications_ListByGallery: `GET …/galleries/{g}/applications`.
pub async fn list_by_gallery(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    artifact_definitions::list_by_gallery::<Applications>(app, request).await
}
