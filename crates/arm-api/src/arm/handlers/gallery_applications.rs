//! `Microsoft.Compute/galleries/applications`: the five VM application definition operations of
//! the spec. A definition holds no bytes, so every write is finished inside the request; its
//! versions (`gallery_application_versions`) are what gets replicated.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::gallery_application::{
    self, GalleryApplication, GalleryApplicationRequest,
};
use gallery_domain::names::validate_gallery_child_name;
use gallery_store::Decision;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{self, DecideWrite, ResourcePath, WriteAttempt, WriteBody, WritePlan};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        ids::GALLERY_APPLICATION_TYPE,
        &[
            ("galleries", "galleryName"),
            ("applications", "galleryApplicationName"),
        ],
    )
}

/// An application definition PUT or PATCH, decided by the application definition rules.
struct ApplicationWrite<'a> {
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<GalleryApplicationRequest>,
    now: chrono::DateTime<chrono::Utc>,
}

impl DecideWrite for ApplicationWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let existing: Option<GalleryApplication> = attempt.existing_document()?;
        let mut guid = tracked::new_guid;
        let context = tracked::write_context(
            self.request,
            attempt.id,
            attempt.ancestry(),
            self.path.name(),
            self.now,
            &mut guid,
        );
        let application = match (&self.body, &existing) {
            (WriteBody::Patch(patch), Some(existing)) => {
                gallery_application::patch(existing, patch.clone(), &context)?
            }
            (WriteBody::Put(put), existing) => {
                gallery_application::put(existing.as_ref(), put.clone(), &context)?
            }
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        Ok(Decision::new(
            application.name.clone(),
            application.location.clone(),
            ProvisioningState::Succeeded.as_str().to_string(),
            tracked::to_json(&application)?,
        ))
    }
}

/// Applications serve no provisioning state (the spec has none), so the stored document is the
/// answer as it is.
async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist,
        final_status: 200,
    };
    let mut decider = ApplicationWrite {
        request,
        path: &path,
        body: WriteBody::parse(request, must_exist)?,
        now: chrono::Utc::now(),
    };
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    Ok(response::accepted_put(
        request,
        written.created,
        written.resource.body,
        &written.resource.location,
        &written.operation_id,
    ))
}

/// GalleryApplications_CreateOrUpdate: `PUT …/galleries/{g}/applications/{galleryApplicationName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    validate_gallery_child_name(
        request.parameters.get("galleryApplicationName"),
        "galleryApplicationName",
    )?;
    write(app, request, false).await
}

/// GalleryApplications_Update: `PATCH …/galleries/{g}/applications/{galleryApplicationName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// GalleryApplications_Get: served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request)).await?;
    Ok(response::json_text(StatusCode::OK, resource.body))
}

/// GalleryApplications_Delete: 409 while it has versions.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request), |_| Ok(())).await
}

/// GalleryApplications_ListByGallery: `GET …/galleries/{g}/applications`.
pub async fn list_by_gallery(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let gallery_path =
        ResourcePath::from_request(request, ids::GALLERY_TYPE, &[("galleries", "galleryName")]);
    tracked::list_below(
        app,
        request,
        &gallery_path,
        "applications",
        ids::GALLERY_APPLICATION_TYPE,
    )
    .await
}
