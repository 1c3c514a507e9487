//! `Microsoft.Compute/galleries/scripts`: the five gallery script definition operations of the
//! spec (api-version 2025-03-03). A definition holds no bytes, so every write is finished inside
//! the request.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ids;
use gallery_domain::models::gallery_script::{self, GalleryScript, GalleryScriptRequest};
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
        ids::GALLERY_SCRIPT_TYPE,
        &[
            ("galleries", "galleryName"),
            ("scripts", "galleryScriptName"),
        ],
    )
}

/// A script definition PUT or PATCH, decided by the script definition rules.
struct ScriptWrite<'a> {
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    body: WriteBody<GalleryScriptRequest>,
    now: chrono::DateTime<chrono::Utc>,
}

impl DecideWrite for ScriptWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let existing: Option<GalleryScript> = attempt.existing_document()?;
        let mut guid = tracked::new_guid;
        let context = tracked::write_context(
            self.request,
            attempt.id,
            attempt.ancestry(),
            self.path.name(),
            self.now,
            &mut guid,
        );
        let script = match (&self.body, &existing) {
            (WriteBody::Patch(patch), Some(existing)) => {
                gallery_script::patch(existing, patch.clone(), &context)?
            }
            (WriteBody::Put(put), existing) => {
                gallery_script::put(existing.as_ref(), put.clone(), &context)?
            }
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        Ok(Decision::new(
            script.name.clone(),
            script.location.clone(),
            script.properties.provisioning_state.as_str().to_string(),
            tracked::to_json(&script)?,
        ))
    }
}

async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist,
        final_status: 200,
    };
    let mut decider = ScriptWrite {
        request,
        path: &path,
        body: WriteBody::parse(request, must_exist)?,
        now: chrono::Utc::now(),
    };
    tracked::put(app, request, &plan, &mut decider, |document| document).await
}

/// GalleryScripts_CreateOrUpdate: `PUT …/galleries/{g}/scripts/{galleryScriptName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    validate_gallery_child_name(
        request.parameters.get("galleryScriptName"),
        "galleryScriptName",
    )?;
    write(app, request, false).await
}

/// GalleryScripts_Update: `PATCH …/galleries/{g}/scripts/{galleryScriptName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// GalleryScripts_Get: served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request)).await?;
    Ok(response::json_text(StatusCode::OK, resource.body))
}

/// GalleryScripts_Delete: 202, or 204 when there was none.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request), |_| Ok(())).await
}

/// GalleryScripts_ListByGallery: `GET …/galleries/{g}/scripts`.
pub async fn list_by_gallery(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let gallery_path =
        ResourcePath::from_request(request, ids::GALLERY_TYPE, &[("galleries", "galleryName")]);
    tracked::list_below(
        app,
        request,
        &gallery_path,
        "scripts",
        ids::GALLERY_SCRIPT_TYPE,
    )
    .await
}
