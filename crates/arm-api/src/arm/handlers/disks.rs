//! `Microsoft.Compute/disks` (and, through [`crate::arm::handlers::snapshots`], `Microsoft.Compute/snapshots`):
//! managed disks whose bytes galleryd keeps, so image pipelines can upload a VHD, copy it, snapshot
//! it and build image versions from it, all offline.
//!
//! Disks and snapshots behave the same way, so every flow here takes a [`DiskKind`]; the rules live
//! in `gallery_domain::models::disk`. What this module adds is the I/O around them:
//!
//! - **Bytes.** Every disk or snapshot owns one *content* (a row in the store plus objects in its
//!   region's blob store), named in its internal data ([`DiskData`], compatible with the shared
//!   `DiskInternal`). The content row is created only after the resource write committed, because
//!   the garbage collector deletes contents whose owner does not exist: `Empty` gets a sealed
//!   content of zeros, `Upload` a writable one, and `Copy` is written `Creating` with a
//!   `CopyContent` job whose worker creates the copy and settles the resource. Every PUT/PATCH also
//!   repairs a missing content row and applies a growth of `diskSizeGB` to a sealed content.
//! - **Access.** `beginGetAccess` answers 200 with `{"accessSAS": …}` at once (no async-operation
//!   headers, so SDK pollers finish without polling): a SAS URL on galleryd's blob endpoint
//!   ([`crate::blob_service`]) signed with the grant recorded in the internal data. `endGetAccess`
//!   drops the grant first (its SAS stops working), then, for an upload, seals the page writes into
//!   the content's manifest and records the bytes written. A page write that lands between the
//!   listing of the writes and the seal is lost, as a write racing a revocation would be on Azure.
//! - **Async operations.** Writes answer as the disk provider's spec says: 200 with the document,
//!   `Azure-AsyncOperation` and `Retry-After` when the work is done (the first poll reads
//!   `Succeeded`), 202 while a copy runs (never 201, which the SDKs refuse); deletes 202 with
//!   `Location`, or 204. The operation URLs carry a Compute Gallery api-version: galleryd serves
//!   every operation at `capsOperations` (Azure's disk provider uses `DiskOperations`), whose route
//!   checks gallery api-versions, and a disk api-version such as 2026-03-02 is not one.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::internal::{ContentCopy, ContentReference, CopyContentPayload};
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::common::{parse_body, set_provisioning_state};
use gallery_domain::models::disk::{
    self as disk_model, AccessLevel, CopySource, CreateOption, Decided, Disk, DiskData, DiskKind,
    DiskPatchRequest, DiskRequest, DiskState, GrantAccessRequest,
};
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::{ContentState, Decision, JobKind, PlannedJob, StoredResource};
use serde_json::{Value, json};

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{
    self, DecideWrite, ResourcePath, WriteAttempt, WriteBody, WritePlan, parse_internal,
    parse_stored,
};
use crate::blob_service;
use crate::error::{ApiError, ApiResult};

// ----- the operations of Microsoft.Compute/disks -----

/// Disks_List: `GET /subscriptions/{s}/providers/Microsoft.Compute/disks`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    list_in_subscription(app, request, DiskKind::Disk).await
}

/// Disks_ListByResourceGroup: `GET …/resourceGroups/{g}/providers/Microsoft.Compute/disks`.
pub async fn list_by_resource_group(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    list_in_resource_group(app, request, DiskKind::Disk).await
}

/// Disks_CreateOrUpdate: `PUT …/disks/{diskName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    put(app, request, DiskKind::Disk).await
}

/// Disks_Update: `PATCH …/disks/{diskName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    patch(app, request, DiskKind::Disk).await
}

/// Disks_Get: `GET …/disks/{diskName}`, served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    read(app, request, DiskKind::Disk).await
}

/// Disks_Delete: `DELETE …/disks/{diskName}`.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    remove(app, request, DiskKind::Disk).await
}

/// Disks_GrantAccess: `POST …/disks/{diskName}/beginGetAccess`.
pub async fn grant_access(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    begin_get_access(app, request, DiskKind::Disk).await
}

/// Disks_RevokeAccess: `POST …/disks/{diskName}/endGetAccess`.
pub async fn revoke_access(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    end_get_access(app, request, DiskKind::Disk).await
}

// ----- the flows disks and snapshots share -----

fn path(request: &ArmRequest, kind: DiskKind) -> ResourcePath {
    ResourcePath::from_request(
        request,
        kind.resource_type(),
        &[(kind.collection(), kind.name_parameter())],
    )
}

/// The document and internal data of a stored disk or snapshot.
fn stored(resource: &StoredResource) -> Result<(Disk, DiskData), ServiceError> {
    Ok((parse_stored(&resource.body)?, parse_internal(resource)?))
}

/// What a decided document is stored as.
fn decision(decided: &Decided) -> Decision {
    Decision {
        internal: serde_json::to_string(&decided.data).ok(),
        ..Decision::new(
            decided.disk.name.clone(),
            decided.disk.location.clone(),
            decided
                .disk
                .properties
                .provisioning_state
                .as_str()
                .to_string(),
            serde_json::to_string(&decided.disk).unwrap_or_default(),
        )
    }
}

/// The answer to a write, with the document, `Azure-AsyncOperation` and `Retry-After`: 200 when the
/// work was done within the request, 202 while a copy runs. (The disk provider's spec has no 201:
/// the SDKs refuse one.)
fn accepted_write(
    request: &ArmRequest,
    running: bool,
    body: String,
    location: &str,
    operation_id: &str,
) -> Response {
    let status = if running {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let answer = response::with_header(
        response::json_text(status, body),
        "Azure-AsyncOperation",
        &response::operation_status_url(request, location, operation_id, false),
    );
    response::with_header(answer, "Retry-After", response::RETRY_AFTER_SECONDS)
}

/// Looks up the source a Copy request names; `None` when it does not exist.
async fn copy_source(
    app: &App,
    kind: DiskKind,
    body: &DiskRequest,
) -> ApiResult<Option<CopySource>> {
    let Some(source_id) = disk_model::copy_source_id(kind, body)? else {
        return Ok(None);
    };
    let store = app.store()?;
    let Some(resource) = store
        .get_resource(&gallery_domain::ids::resource_key(&source_id))
        .await?
    else {
        return Ok(None);
    };
    if DiskKind::of_type(&resource.resource_type).is_none() {
        return Ok(None);
    }
    let (disk, data) = stored(&resource)?;
    let sealed = match &data.content {
        Some(content) => store
            .get_content(&content.content_id)
            .await?
            .is_some_and(|row| row.state == ContentState::Sealed),
        None => false,
    };
    Ok(Some(CopySource::from_stored(&disk, &data, sealed)))
}

/// The copy job of a new Copy resource.
fn copy_job(source: &ContentReference, destination: &ContentReference) -> String {
    let payload = CopyContentPayload {
        copies: vec![ContentCopy {
            source_content_id: source.content_id.clone(),
            source_region: source.region.clone(),
            destination_content_id: destination.content_id.clone(),
            destination_region: destination.region.clone(),
        }],
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

/// Makes the content row match the resource after a write: creates it when missing (a new `Empty`
/// or `Upload` resource, or a create whose content row was never written because the request
/// failed in between), and raises the logical size of a sealed content that grew.
async fn reconcile_content(
    app: &App,
    owner_key: &str,
    disk: &Disk,
    data: &DiskData,
) -> ApiResult<()> {
    let Some(content) = &data.content else {
        return Ok(());
    };
    let store = app.store()?;
    let logical_size = i64::try_from(content.logical_size).unwrap_or(i64::MAX);
    match store.get_content(&content.content_id).await? {
        None => match disk.properties.creation_data.create_option {
            CreateOption::Upload
                if matches!(
                    disk.properties.disk_state,
                    DiskState::ReadyToUpload | DiskState::ActiveUpload
                ) =>
            {
                store
                    .create_content(
                        &content.content_id,
                        &content.region,
                        logical_size,
                        owner_key,
                        None,
                    )
                    .await?;
            }
            CreateOption::Empty => {
                let manifest = gallery_blob::empty(&content.content_id, content.logical_size);
                let text = serde_json::to_string(&manifest).unwrap_or_default();
                store
                    .create_content(
                        &content.content_id,
                        &content.region,
                        logical_size,
                        owner_key,
                        Some((&text, 0, &manifest.checksum)),
                    )
                    .await?;
            }
            // A copy's content is created by its worker.
            _ => {}
        },
        Some(row) if row.state == ContentState::Sealed && row.logical_size < logical_size => {
            let Some(text) = row.manifest.as_deref() else {
                return Ok(());
            };
            let mut manifest: gallery_blob::Manifest = parse_stored(text)?;
            manifest.logical_size = content.logical_size;
            let grown = serde_json::to_string(&manifest).unwrap_or_default();
            store
                .create_content(
                    &row.content_id,
                    &row.region,
                    logical_size,
                    &row.owner_key,
                    Some((&grown, row.occupied_bytes, &manifest.checksum)),
                )
                .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// The body a PUT or PATCH answers with: the stored document with the provisioning state of a
/// write in progress.
fn write_view(body: &str, created: bool) -> ApiResult<String> {
    let mut document: Value = parse_stored(body)?;
    let state = match document
        .pointer("/properties/provisioningState")
        .and_then(Value::as_str)
    {
        Some("Creating") => ProvisioningState::Creating,
        _ if created => ProvisioningState::Creating,
        _ => ProvisioningState::Updating,
    };
    set_provisioning_state(&mut document, state);
    Ok(document.to_string())
}

/// `_CreateOrUpdate`: PUT.
pub(crate) async fn put(app: &App, request: &ArmRequest, kind: DiskKind) -> ApiResult<Response> {
    disk_model::validate_name(kind, request.parameters.get(kind.name_parameter()))?;
    let body: DiskRequest = parse_body(&request.body)?;
    write(app, request, kind, WriteBody::Put(body)).await
}

/// `_Update`: PATCH.
pub(crate) async fn patch(app: &App, request: &ArmRequest, kind: DiskKind) -> ApiResult<Response> {
    let body: DiskPatchRequest = parse_body(&request.body)?;
    write(app, request, kind, WriteBody::Patch(body)).await
}

/// A disk or snapshot PUT or PATCH. A PUT looks up the resource a Copy names; a new Copy hands
/// the workers its content copy.
struct DiskWrite<'a> {
    app: &'a App,
    request: &'a ArmRequest,
    path: &'a ResourcePath,
    kind: DiskKind,
    body: WriteBody<DiskRequest, DiskPatchRequest>,
    now: chrono::DateTime<chrono::Utc>,
}

impl DecideWrite for DiskWrite<'_> {
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let kind = self.kind;
        let existing = attempt.existing().map(stored).transpose()?;
        let (decided, source) = match (&self.body, &existing) {
            (WriteBody::Patch(patch), Some((disk, data))) => {
                (disk_model::patch(kind, (disk, data), patch.clone())?, None)
            }
            (WriteBody::Put(put), existing) => {
                let source = copy_source(self.app, kind, put).await?;
                let mut guid = tracked::new_guid;
                let mut context = tracked::write_context(
                    self.request,
                    attempt.id,
                    attempt.ancestry(),
                    self.path.name(),
                    self.now,
                    &mut guid,
                );
                let decided = disk_model::put(
                    kind,
                    existing.as_ref().map(|(disk, data)| (disk, data)),
                    put.clone(),
                    source.as_ref(),
                    &mut context,
                )?;
                (decided, source)
            }
            (WriteBody::Patch(_), None) => return Err(self.path.resource_not_found().into()),
        };
        let mut stored = decision(&decided);
        let creating_copy = existing.is_none()
            && decided.disk.properties.creation_data.create_option == CreateOption::Copy;
        if creating_copy
            && let (Some(source), Some(destination)) = (
                source.as_ref().and_then(|source| source.content.as_ref()),
                decided.data.content.as_ref(),
            )
        {
            stored.jobs.push(PlannedJob {
                kind: JobKind::CopyContent,
                payload: copy_job(source, destination),
            });
        }
        Ok(stored)
    }
}

async fn write(
    app: &App,
    request: &ArmRequest,
    kind: DiskKind,
    body: WriteBody<DiskRequest, DiskPatchRequest>,
) -> ApiResult<Response> {
    let path = path(request, kind);
    let plan = WritePlan {
        path: &path,
        quota: None,
        must_exist: matches!(body, WriteBody::Patch(_)),
        final_status: 200,
    };
    let mut decider = DiskWrite {
        app,
        request,
        path: &path,
        kind,
        body,
        now: chrono::Utc::now(),
    };
    // A new copy's operation runs until its worker ends it; every other write is done at once.
    let written = tracked::write(app, request, &plan, &mut decider).await?;
    let (disk, data) = stored(&written.resource)?;
    reconcile_content(app, &path.key(), &disk, &data).await?;
    Ok(accepted_write(
        request,
        written.running,
        write_view(&written.resource.body, written.created)?,
        &written.resource.location,
        &written.operation_id,
    ))
}

/// `_Get`.
pub(crate) async fn read(app: &App, request: &ArmRequest, kind: DiskKind) -> ApiResult<Response> {
    let resource = tracked::get(app, &path(request, kind)).await?;
    Ok(response::json_text(StatusCode::OK, resource.body))
}

/// `_Delete`: 202 with the operation's URLs, 204 when there was nothing to delete; refused while a
/// SAS is active. The content's bytes are collected by the garbage collector (their owner is gone).
pub(crate) async fn remove(app: &App, request: &ArmRequest, kind: DiskKind) -> ApiResult<Response> {
    tracked::delete(app, request, &path(request, kind), |current| {
        let (disk, _) = stored(current)?;
        disk_model::check_delete_allowed(kind, &disk)
    })
    .await
}

/// `_ListByResourceGroup`.
pub(crate) async fn list_in_resource_group(
    app: &App,
    request: &ArmRequest,
    kind: DiskKind,
) -> ApiResult<Response> {
    tracked::list_in_resource_group(app, request, kind.resource_type(), None).await
}

/// `_List` (the whole subscription).
pub(crate) async fn list_in_subscription(
    app: &App,
    request: &ArmRequest,
    kind: DiskKind,
) -> ApiResult<Response> {
    tracked::list_in_subscription(app, request, kind.resource_type(), None).await
}

/// An access change (grant, revocation, seal) of an existing disk or snapshot.
struct AccessWrite<'a, Change> {
    path: &'a ResourcePath,
    change: Change,
}

impl<Change> DecideWrite for AccessWrite<'_, Change>
where
    Change: Fn((&Disk, &DiskData)) -> Result<Decided, ServiceError> + Send,
{
    async fn decide(&mut self, attempt: &WriteAttempt<'_>) -> ApiResult<Decision> {
        let Some(existing) = attempt.existing() else {
            return Err(self.path.resource_not_found().into());
        };
        let (disk, data) = stored(existing)?;
        Ok(decision(&(self.change)((&disk, &data))?))
    }
}

/// Writes the outcome of an access change (grant, revocation, seal) over the existing resource.
/// What an access write left: the disk, its data and the id of the write's operation.
struct AccessWritten {
    disk: Disk,
    data: DiskData,
    operation_id: String,
}

async fn write_access(
    app: &App,
    request: &ArmRequest,
    path: &ResourcePath,
    change: impl Fn((&Disk, &DiskData)) -> Result<Decided, ServiceError> + Send,
) -> ApiResult<AccessWritten> {
    let plan = WritePlan {
        path,
        quota: None,
        must_exist: true,
        final_status: 200,
    };
    let written = tracked::write(app, request, &plan, &mut AccessWrite { path, change }).await?;
    let (disk, data) = stored(&written.resource)?;
    Ok(AccessWritten {
        disk,
        data,
        operation_id: written.operation_id,
    })
}

/// `_GrantAccess`, answered as Azure does: 202 with `Azure-AsyncOperation` and `Location`; the
/// operation (already `Succeeded`: nothing is left to do) reports the SAS in its status
/// (`properties.output.accessSAS`) and answers `{"accessSAS": …}` at its `Location`.
pub(crate) async fn begin_get_access(
    app: &App,
    request: &ArmRequest,
    kind: DiskKind,
) -> ApiResult<Response> {
    let body: GrantAccessRequest = parse_body(&request.body)?;
    let (access, duration) = disk_model::parse_grant(&body)?;
    let path = path(request, kind);
    let current = tracked::get(app, &path).await?;
    let (disk, data) = stored(&current)?;
    // A content row lost to a failed request is recreated before access is checked against it.
    reconcile_content(app, &path.key(), &disk, &data).await?;
    if let Some(content) = &data.content
        && disk.properties.provisioning_state == ProvisioningState::Succeeded
    {
        let row = app.store()?.get_content(&content.content_id).await?;
        let wanted = match access {
            AccessLevel::Write => ContentState::Writable,
            _ => ContentState::Sealed,
        };
        if row.as_ref().map(|row| row.state) != Some(wanted) {
            return Err(disk_model::operation_not_allowed(format!(
                "The bytes of the {} '{}' are not {} (its content is {}).",
                kind.noun(),
                disk.name,
                if access == AccessLevel::Write {
                    "open for an upload"
                } else {
                    "complete"
                },
                row.map_or("missing", |row| row.state.as_str())
            ))
            .into());
        }
    }
    let grant_id = uuid::Uuid::new_v4().simple().to_string();
    let expires_at = disk_model::grant_expiry(chrono::Utc::now(), duration);
    let written = write_access(app, request, &path, |existing| {
        disk_model::grant(kind, existing, access, grant_id.clone(), expires_at.clone())
    })
    .await?;
    let content = written.data.content.ok_or_else(|| {
        disk_model::operation_not_allowed(format!(
            "The {} '{}' has no content.",
            kind.noun(),
            disk.name
        ))
    })?;
    let key = app.blob_signing_key().await?;
    let permission = match access {
        AccessLevel::Write => blob_service::Permission::ReadWrite,
        _ => blob_service::Permission::Read,
    };
    let url = blob_service::sas_url(
        key,
        &request.base_url,
        &content.region,
        &content.content_id,
        permission,
        &expires_at,
        &grant_id,
    );
    let result = json!({ "accessSAS": url }).to_string();
    app.store()?
        .set_operation_result(&written.operation_id, &result)
        .await?;
    Ok(response::accepted_action(
        request,
        &written.disk.location,
        &written.operation_id,
    ))
}

/// `_RevokeAccess`: drops the grant, then seals an upload's bytes; answered as Azure does, 202 with
/// `Azure-AsyncOperation` and `Location`, whose result is 200 without a body.
pub(crate) async fn end_get_access(
    app: &App,
    request: &ArmRequest,
    kind: DiskKind,
) -> ApiResult<Response> {
    let path = path(request, kind);
    tracked::get(app, &path).await?;
    let revoked = write_access(app, request, &path, |existing| {
        disk_model::revoke(kind, existing)
    })
    .await?;
    // Revoked and still an upload: its bytes are to be sealed.
    if revoked.disk.properties.disk_state == DiskState::ActiveUpload
        && let Some(content) = &revoked.data.content
    {
        let occupied = seal(app, content).await?;
        write_access(app, request, &path, |existing| {
            Ok(disk_model::upload_sealed(existing, occupied))
        })
        .await?;
    }
    app.store()?
        .set_operation_result(&revoked.operation_id, "")
        .await?;
    Ok(response::accepted_action(
        request,
        &revoked.disk.location,
        &revoked.operation_id,
    ))
}

/// A blob-store failure inside an ARM request: logged, answered as a server error.
pub(crate) fn blob_failure(error: gallery_blob::BlobError) -> ApiError {
    tracing::error!(%error, "blob store failure");
    let status = if error.is_retryable() { 503 } else { 500 };
    ServiceError::new(
        status,
        if status == 503 {
            ErrorCode::ServiceUnavailable
        } else {
            ErrorCode::InternalServerError
        },
        "galleryd could not complete the operation on the stored bytes; its log has the details.",
    )
    .into()
}

/// Seals an upload's page writes into its content (unless already sealed) and returns the bytes
/// written. Sealing is idempotent: a second `endGetAccess` racing this one computes the same
/// manifest from the same writes, or finds the content sealed.
async fn seal(app: &App, content: &ContentReference) -> ApiResult<u64> {
    let store = app.store()?;
    let Some(row) = store.get_content(&content.content_id).await? else {
        return Ok(0);
    };
    if row.state == ContentState::Sealed {
        return Ok(u64::try_from(row.occupied_bytes).unwrap_or(0));
    }
    let writes: Vec<gallery_blob::PageWrite> = store
        .list_page_writes(&content.content_id)
        .await?
        .into_iter()
        .map(|write| gallery_blob::PageWrite {
            write: u64::try_from(write.write_id).unwrap_or(0),
            offset: u64::try_from(write.offset_bytes).unwrap_or(0),
            length: u64::try_from(write.length_bytes).unwrap_or(0),
        })
        .collect();
    if writes.is_empty() {
        // Sealed meanwhile by a concurrent endGetAccess (sealing forgets the writes)?
        if let Some(row) = store.get_content(&content.content_id).await?
            && row.state == ContentState::Sealed
        {
            return Ok(u64::try_from(row.occupied_bytes).unwrap_or(0));
        }
    }
    let objects = app.blobs.region(&row.region).await.map_err(blob_failure)?;
    let logical_size = u64::try_from(row.logical_size).unwrap_or(0);
    let manifest = gallery_blob::seal(objects.as_ref(), &row.content_id, logical_size, &writes)
        .await
        .map_err(blob_failure)?;
    let text = serde_json::to_string(&manifest).unwrap_or_default();
    store
        .seal_content(
            &row.content_id,
            &text,
            i64::try_from(manifest.occupied_bytes).unwrap_or(i64::MAX),
            &manifest.checksum,
        )
        .await?;
    Ok(manifest.occupied_bytes)
}
