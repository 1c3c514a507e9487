//! `Microsoft.Compute/snapshots`: the eight snapshot operations of the spec.
//!
//! Snapshots follow the same rules and flows as disks (creation from `Empty`, `Upload` or `Copy`,
//! SAS access through galleryd's blob endpoint), so every handler here is the disk flow of
//! [`crate::arm::handlers::disks`] for [`DiskKind::Snapshot`]; the differences (SKUs, `incremental`) live in the
//! domain model.

use axum::response::Response;
use gallery_domain::models::disk::DiskKind;

use crate::App;
use crate::arm::handlers::disks;
use crate::arm::request::ArmRequest;
use crate::error::ApiResult;

/// Snapshots_List: `GET /subscriptions/{s}/providers/Microsoft.Compute/snapshots`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::list_in_subscription(app, request, DiskKind::Snapshot).await
}

/// Snapshots_ListByResourceGroup: `GET …/resourceGroups/{g}/providers/Microsoft.Compute/snapshots`.
pub async fn list_by_resource_group(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::list_in_resource_group(app, request, DiskKind::Snapshot).await
}

/// Snapshots_CreateOrUpdate: `PUT …/snapshots/{snapshotName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::put(app, request, DiskKind::Snapshot).await
}

/// Snapshots_Update: `PATCH …/snapshots/{snapshotName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::patch(app, request, DiskKind::Snapshot).await
}

/// Snapshots_Get: `GET …/snapshots/{snapshotName}`, served as stored.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::read(app, request, DiskKind::Snapshot).await
}

/// Snapshots_Delete: `DELETE …/snapshots/{snapshotName}`.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::remove(app, request, DiskKind::Snapshot).await
}

/// Snapshots_GrantAccess: `POST …/snapshots/{snapshotName}/beginGetAccess`.
pub async fn grant_access(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::begin_get_access(app, request, DiskKind::Snapshot).await
}

/// Snapshots_RevokeAccess: `POST …/snapshots/{snapshotName}/endGetAccess`.
pub async fn revoke_access(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    disks::end_get_access(app, request, DiskKind::Snapshot).await
}
