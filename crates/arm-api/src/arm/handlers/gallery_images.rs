//! `Microsoft.Compute/galleries/images`: the five image definition operations of the spec.

use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::gallery_image::{
    self, GalleryImage, GalleryImageIdentifier, GalleryImageRequest,
};
use gallery_domain::names::validate_image_definition_name;
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::{Decision, UniqueClaim};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{self, DecideWrite, ResourcePath, WriteAttempt, WriteBody, WritePlan};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        ids::GALLERY_IMAGE_TYPE,
        &[("galleries", "galleryName"), ("images", "galleryImageName")],
    )
}

/// An image definition PUT or PATCH, decided by the image definition rules.
struct ImageDefinitionWrite<'a> {
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<GalleryImageRequest>,
    now: chrono::DateTime<chrono::Utc>,
    /// The publisher/offer/SKU the last decision claimed (for the 409 when it is taken).
    identifier: Option<GalleryImageIdentifier>,
}

impl DecideWrite for ImageDefinitionWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let existing: Option<GalleryImage> = attempt.existing_document()?;
        let mut guid = tracked::new_guid;
        let context = tracked::write_context(
            self.request,
            attempt.id,
            attempt.ancestry(),
            self.path.name(),
            self.now,
            &mut guid,
        );
        let image = match (&self.body, &existing) {
            (WriteBody::Patch(patch), Some(existing)) => {
                gallery_image::patch(existing, patch.clone(), &context)?
            }
            (WriteBody::Put(put), existing) => {
                gallery_image::put(existing.as_ref(), put.clone(), &context)?
            }
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        let gallery_key = self
            .path
            .parent()
            .map(|parent| parent.key())
            .unwrap_or_default();
        let identifier = image.properties.identifier.clone();
        let decision = Decision {
            unique: Some(UniqueClaim {
                scope: format!("images:{gallery_key}"),
                key: gallery_image::identifier_key(&identifier),
            }),
            ..Decision::new(
                image.name.clone(),
                image.location.clone(),
                image.properties.provisioning_state.as_str().to_string(),
                tracked::to_json(&image)?,
            )
        };
        self.identifier = Some(identifier);
        Ok(decision)
    }

    fn claim_taken(&self, holder: &str) -> ServiceError {
        match &self.identifier {
            Some(identifier) => gallery_image::identifier_taken(holder, identifier),
            None => ServiceError::new(
                409,
                ErrorCode::Conflict,
                format!("The image definition conflicts with '{holder}'."),
            ),
        }
    }
}

async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let plan = WritePlan {
        path: &path,
        quota: Some(QuotaKind::ImageDefinitions),
        must_exist,
        final_status: 200,
    };
    let mut decider = ImageDefinitionWrite {
        request,
        path: &path,
        body: WriteBody::parse(request, must_exist)?,
        now: chrono::Utc::now(),
        identifier: None,
    };
    tracked::put(app, request, &plan, &mut decider, |document: Value| {
        document
    })
    .await
}

/// GalleryImages_CreateOrUpdate: `PUT …/galleries/{g}/images/{galleryImageName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    validate_image_definition_name(request.parameters.get("galleryImageName"))?;
    write(app, request, false).await
}

/// GalleryImages_Update: `PATCH …/galleries/{g}/images/{galleryImageName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// GalleryImages_Get: `GET …/galleries/{g}/images/{galleryImageName}`. Served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request)).await?;
    Ok(response::json_text(
        axum::http::StatusCode::OK,
        resource.body,
    ))
}

/// GalleryImages_Delete: `DELETE …/galleries/{g}/images/{galleryImageName}` (409 while it has
/// versions).
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request), |_| Ok(())).await
}

/// GalleryImages_ListByGallery: `GET …/galleries/{g}/images`.
pub async fn list_by_gallery(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let gallery_path =
        ResourcePath::from_request(request, ids::GALLERY_TYPE, &[("galleries", "galleryName")]);
    tracked::list_below(
        app,
        request,
        &gallery_path,
        "images",
        ids::GALLERY_IMAGE_TYPE,
    )
    .await
}
