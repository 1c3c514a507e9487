//! `Microsoft.Compute/galleries`: the six gallery operations of the spec.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::gallery::{self, Gallery, GalleryRequest};
use gallery_domain::names::{name_key, validate_gallery_name};
use gallery_store::{Decision, UniqueClaim};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::shaping::{Expansion, Selection};
use crate::arm::tracked::{self, PutPlan, ResourcePath, WriteBody, parse_stored};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(request, ids::GALLERY_TYPE, &[("galleries", "galleryName")])
}

/// What list and PUT responses show: the gallery without its sharing groups.
fn default_view(document: Value) -> Value {
    match serde_json::from_value::<Gallery>(document.clone()) {
        Ok(gallery) => {
            let mut view = gallery::view(&gallery, false, false);
            if let (Some(state), Some(properties)) = (
                document.pointer("/properties/provisioningState").cloned(),
                view.get_mut("properties").and_then(Value::as_object_mut),
            ) {
                properties.insert("provisioningState".into(), state);
            }
            view
        }
        Err(_) => document,
    }
}

fn decision(gallery: &Gallery, subscription_id: &str) -> Decision {
    let gallery_name = gallery.name.clone();
    let subscription = subscription_id.to_string();
    Decision {
        unique: Some(UniqueClaim {
            scope: format!("galleries:{subscription_id}"),
            key: name_key(&gallery.name),
            on_conflict: Box::new(move |_holder| {
                gallery::name_not_unique(&gallery_name, &subscription)
            }),
        }),
        ..Decision::new(
            gallery.name.clone(),
            gallery.location.clone(),
            gallery.properties.provisioning_state.as_str().to_string(),
            serde_json::to_string(gallery).unwrap_or_default(),
        )
    }
}

/// Galleries_CreateOrUpdate (PUT) and Galleries_Update (PATCH).
async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let body: WriteBody<GalleryRequest> = WriteBody::parse(request, must_exist)?;
    let now = chrono::Utc::now();
    let plan = PutPlan {
        path: &path,
        quota: Some(QuotaKind::Galleries),
        must_exist,
        job: None,
    };
    tracked::put(
        app,
        request,
        plan,
        |id, ancestry, existing| {
            let existing: Option<Gallery> = existing
                .map(|resource| parse_stored(&resource.body))
                .transpose()?;
            let mut guid = tracked::new_guid;
            let mut context =
                tracked::write_context(request, id, ancestry, path.name(), now, &mut guid);
            let gallery = match (&body, &existing) {
                (WriteBody::Patch(patch), Some(existing)) => {
                    gallery::patch(existing, patch.clone(), &mut context)?
                }
                (WriteBody::Put(put), existing) => {
                    gallery::put(existing.as_ref(), put.clone(), &mut context)?
                }
                (WriteBody::Patch(_), None) => return Err(path.resource_not_found()),
            };
            Ok(decision(&gallery, &path.subscription_id))
        },
        default_view,
    )
    .await
}

/// Galleries_CreateOrUpdate: `PUT …/galleries/{galleryName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    validate_gallery_name(request.parameters.get("galleryName"))?;
    write(app, request, false).await
}

/// Galleries_Update: `PATCH …/galleries/{galleryName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// Galleries_Get: `GET …/galleries/{galleryName}` with `$select=Permissions` and
/// `$expand=SharingProfile/Groups`.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let select_permissions = request.shaping.selects(Selection::Permissions);
    let expand_groups = request.shaping.expands(Expansion::SharingProfileGroups);
    let resource = tracked::get(app, &path(request)).await?;
    let gallery: Gallery = parse_stored(&resource.body)?;
    Ok(response::json(
        StatusCode::OK,
        &gallery::view(&gallery, expand_groups, select_permissions),
    ))
}

/// Galleries_Delete: `DELETE …/galleries/{galleryName}` (409 while it has image definitions).
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request)).await
}

/// Galleries_ListByResourceGroup: `GET …/resourceGroups/{g}/providers/Microsoft.Compute/galleries`.
pub async fn list_by_resource_group(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::list_in_resource_group(app, request, ids::GALLERY_TYPE, Some(&default_view)).await
}

/// Galleries_List: `GET /subscriptions/{s}/providers/Microsoft.Compute/galleries`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::list_in_subscription(app, request, ids::GALLERY_TYPE, Some(&default_view)).await
}
