//! `Microsoft.Compute/images`: the six managed image operations (Images_CreateOrUpdate, _Update,
//! _Get, _Delete, _ListByResourceGroup, _List).
//!
//! A managed image owns copies of its sources' bytes, as in Azure. Creating one resolves each disk's
//! source (a snapshot or managed disk: it must exist, be in the image's region and have its content)
//! before the write, allocates a fresh destination content per disk, and records the image
//! `Creating` together with its operation (in progress) and a content-copy job in one transaction;
//! the workers copy the contents, record them as the image's, and settle the image `Succeeded` and
//! the operation done. Afterwards only the tags change (no job). Deleting removes the row at once:
//! the image's contents become garbage that garbage collection removes.
//!
//! The operations' api-versions are Microsoft.Compute's (`ApiFamily::ComputeResource`), which the
//! capsOperations endpoint that serves the polling URLs does not accept; [`pollable`] makes the
//! polling URLs carry a version it does.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::internal::{
    ContentCopy, ContentReference, CopyContentPayload, DiskInternal, ImageInternal,
};
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::image::{
    self as image_model, IMAGE_TYPE, Image, ImageRequest, SourceSize,
};
use gallery_domain::names::name_key;
use gallery_domain::regions;
use gallery_store::{ContentState, Decision, JobKind};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{
    self, JobPlan, PutPlan, ResourcePath, WriteBody, parse_internal, parse_stored,
};
use crate::error::ApiResult;

fn path(request: &ArmRequest) -> ResourcePath {
    ResourcePath::from_request(request, IMAGE_TYPE, &[("images", "imageName")])
}

/// What creating an image copies: resolved before the write, stored with it.
struct Creation {
    /// The image's internal data: the destination content of each disk.
    internal: ImageInternal,
    /// The copy job's payload.
    copies: CopyContentPayload,
    /// The size of each source's content (for `diskSizeGB`).
    sizes: Vec<SourceSize>,
}

/// Resolves the sources of a new image: each must exist (404), be in the image's region (400) and
/// have its bytes complete (409 while it is being created or an upload to it has not ended).
async fn resolve_sources(
    app: &App,
    request: &ArmRequest,
    body: &ImageRequest,
) -> ApiResult<Creation> {
    let sources = image_model::sources_of_new(body, request.subscription())?;
    let store = app.store()?;
    let mut creation = Creation {
        internal: ImageInternal::default(),
        copies: CopyContentPayload::default(),
        sizes: Vec::with_capacity(sources.disks.len()),
    };
    for source in &sources.disks {
        let resource = store
            .get_resource(&ids::resource_key(&source.id))
            .await?
            .ok_or_else(|| image_model::source_not_found(source))?;
        if !regions::same_region(&resource.location, &sources.region) {
            return Err(image_model::source_in_other_region(
                source,
                &resource.location,
                &sources.region,
            )
            .into());
        }
        if resource.provisioning_state != ProvisioningState::Succeeded.as_str() {
            return Err(
                image_model::source_not_ready(source, Some(&resource.provisioning_state)).into(),
            );
        }
        // The bytes must be complete: a source whose upload has not ended (its content still
        // takes page writes) or whose content row is missing has nothing the copy job can copy.
        let reference = parse_internal::<DiskInternal>(&resource)?
            .content
            .ok_or_else(|| image_model::source_not_ready(source, None))?;
        let content = store
            .get_content(&reference.content_id)
            .await?
            .filter(|content| content.state == ContentState::Sealed)
            .ok_or_else(|| image_model::source_not_ready(source, None))?;
        let logical_size = u64::try_from(content.logical_size).unwrap_or_default();
        let destination_content_id = uuid::Uuid::new_v4().to_string();
        creation.copies.copies.push(ContentCopy {
            source_content_id: content.content_id,
            source_region: content.region,
            destination_content_id: destination_content_id.clone(),
            destination_region: sources.region.clone(),
        });
        creation.internal.disks.push(ContentReference {
            disk: source.disk.clone(),
            content_id: destination_content_id,
            region: sources.region.clone(),
            occupied_bytes: u64::try_from(content.occupied_bytes).unwrap_or_default(),
            logical_size,
        });
        creation.sizes.push(SourceSize {
            disk: source.disk.clone(),
            logical_size,
        });
    }
    Ok(creation)
}

/// Serializes galleryd's own data; a failure here is a bug, reported as a 500 without details.
fn to_json(value: &impl serde::Serialize) -> Result<String, ServiceError> {
    serde_json::to_string(value).map_err(|error| {
        tracing::error!(%error, "internal data does not serialize");
        ServiceError::new(
            500,
            ErrorCode::InternalServerError,
            "galleryd failed to record the image.",
        )
    })
}

/// Images_CreateOrUpdate (PUT) and Images_Update (PATCH).
async fn write(app: &App, request: &ArmRequest, must_exist: bool) -> ApiResult<Response> {
    let path = path(request);
    let body: WriteBody<ImageRequest> = WriteBody::parse(request, must_exist)?;
    let store = app.store()?;
    // Sources are resolved for creates only (they cannot change afterwards), before the write.
    let creation = match &body {
        WriteBody::Put(body) if store.get_resource(&path.key()).await?.is_none() => {
            if store
                .get_resource_group(&path.subscription_id, &name_key(&path.resource_group))
                .await?
                .is_none()
            {
                return Err(ServiceError::resource_group_not_found(&path.resource_group).into());
            }
            Some(resolve_sources(app, request, body).await?)
        }
        _ => None,
    };
    let internal = creation
        .as_ref()
        .map(|creation| to_json(&creation.internal))
        .transpose()?;
    let job = creation
        .as_ref()
        .map(|creation| {
            to_json(&creation.copies).map(|payload| JobPlan {
                kind: JobKind::CopyContent,
                payload,
            })
        })
        .transpose()?;
    let now = chrono::Utc::now();
    let plan = PutPlan {
        path: &path,
        quota: None,
        must_exist,
        job,
    };
    tracked::put(
        app,
        request,
        plan,
        |id, ancestry, existing| {
            // The image appeared or vanished since the sources were (not) resolved: retry.
            match (existing, &creation, &body) {
                (Some(_), Some(_), _) | (None, None, WriteBody::Put(_)) => {
                    return Err(image_model::changed_meanwhile(path.name()));
                }
                (Some(resource), None, _)
                    if resource.provisioning_state == ProvisioningState::Creating.as_str() =>
                {
                    return Err(image_model::image_busy(
                        &resource.name,
                        &resource.provisioning_state,
                    ));
                }
                _ => {}
            }
            let stored: Option<Image> = existing
                .map(|resource| parse_stored(&resource.body))
                .transpose()?;
            let mut guid = tracked::new_guid;
            let context =
                tracked::write_context(request, id, ancestry, path.name(), now, &mut guid);
            let image = match (&body, &stored) {
                (WriteBody::Patch(patch), Some(stored)) => {
                    image_model::patch(stored, patch.clone(), &context)?
                }
                (WriteBody::Put(put), stored) => image_model::put(
                    stored.as_ref(),
                    put.clone(),
                    &context,
                    creation.as_ref().map(|creation| creation.sizes.as_slice()),
                )?,
                (WriteBody::Patch(_), None) => return Err(path.resource_not_found()),
            };
            let internal = match existing {
                None => internal.clone(),
                Some(resource) => resource.internal.clone(),
            };
            Ok(Decision {
                internal,
                ..Decision::new(
                    image.name.clone(),
                    image.location.clone(),
                    image.properties.provisioning_state.as_str().to_string(),
                    to_json(&image)?,
                )
            })
        },
        |document: Value| document,
    )
    .await
}

/// Images_CreateOrUpdate: `PUT …/providers/Microsoft.Compute/images/{imageName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    image_model::validate_image_name(request.parameters.get("imageName"))?;
    write(app, request, false).await
}

/// Images_Update: `PATCH …/providers/Microsoft.Compute/images/{imageName}` (tags only).
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    write(app, request, true).await
}

/// Images_Get: `GET …/providers/Microsoft.Compute/images/{imageName}`. Served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request)).await?;
    Ok(response::json_text(StatusCode::OK, resource.body))
}

/// Images_Delete: `DELETE …/providers/Microsoft.Compute/images/{imageName}`: 202 when it existed,
/// 204 when it did not. Its contents are left to garbage collection.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request)).await
}

/// Images_ListByResourceGroup: `GET …/resourceGroups/{g}/providers/Microsoft.Compute/images`.
pub async fn list_by_resource_group(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::list_in_resource_group(app, request, IMAGE_TYPE, None).await
}

/// Images_List: `GET /subscriptions/{s}/providers/Microsoft.Compute/images`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    tracked::list_in_subscription(app, request, IMAGE_TYPE, None).await
}
