//! `Microsoft.Compute/galleries/images`: the five image definition operations of the spec.

use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::gallery_image::{self, GalleryImage, GalleryImageRequest};
use gallery_domain::names::validate_image_definition_name;
use gallery_store::{Decision, UniqueClaim};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{self, PutPlan, ResourcePath, WriteBody, parse_stored};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(
        request,
        ids::GALLERY_IMAGE_TYPE,
        &[("galleries", "galleryName"), ("images", "galleryImageName")],
    )
}

fn decision(image: &GalleryImage, gallery_key: String) -> Decision {
    let identifier = image.properties.identifier.clone();
    Decision {
        unique: Some(UniqueClaim {
            scope: format!("images:{gallery_key}"),
            key: gallery_image::identifier_key(&identifier),
            on_conflict: Box::new(move |holder| {
                gallery_image::identifier_taken(holder, &identifier)
            }),
        }),
        ..Decision::new(
            image.name.clone(),
            image.location.clone(),
            image.properties.provisioning_state.as_str().to_string(),
            serde_json::to_string(image).unwrap_or_default(),
        )
    }
}

async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let gallery_key = path.parent().map(|parent| parent.key()).unwrap_or_default();
    let body: WriteBody<GalleryImageRequest> = WriteBody::parse(request, must_exist)?;
    let now = chrono::Utc::now();
    let plan = PutPlan {
        path: &path,
        quota: Some(QuotaKind::ImageDefinitions),
        must_exist,
        job: None,
    };
    tracked::put(
        app,
        request,
        plan,
        |id, ancestry, existing| {
            let existing: Option<GalleryImage> = existing
                .map(|resource| parse_stored(&resource.body))
                .transpose()?;
            let mut guid = tracked::new_guid;
            let context =
                tracked::write_context(request, id, ancestry, path.name(), now, &mut guid);
            let image = match (&body, &existing) {
                (WriteBody::Patch(patch), Some(existing)) => {
                    gallery_image::patch(existing, patch.clone(), &context)?
                }
                (WriteBody::Put(put), existing) => {
                    gallery_image::put(existing.as_ref(), put.clone(), &context)?
                }
                (WriteBody::Patch(_), None) => return Err(path.resource_not_found()),
            };
            Ok(decision(&image, gallery_key.clone()))
        },
        |document: Value| document,
    )
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
    tracked::delete(app, request, &path(request)).await
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
