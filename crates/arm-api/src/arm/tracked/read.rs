//! Reading a resource the way ARM answers: the resource, or the right one of ARM's three 404s
//! (its resource group, a parent, or the resource itself is missing).

use gallery_domain::names::name_key;
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::StoredResource;

use crate::App;
use crate::arm::tracked::ResourcePath;
use crate::error::{ApiError, ApiResult};

/// The right 404 for a resource that was not found: its resource group, its parent, or itself.
pub async fn not_found(app: &App, path: &ResourcePath) -> ApiError {
    let store = match app.store() {
        Ok(store) => store,
        Err(error) => return error,
    };
    match store
        .get_resource_group(&path.subscription_id, &name_key(&path.resource_group))
        .await
    {
        Err(error) => return error.into(),
        Ok(None) => return ServiceError::resource_group_not_found(&path.resource_group).into(),
        Ok(Some(_)) => {}
    }
    let mut ancestor = path.parent();
    let mut missing_parent = None;
    while let Some(parent) = ancestor {
        match store.get_resource(&parent.key()).await {
            Err(error) => return error.into(),
            Ok(Some(_)) => break,
            Ok(None) => {
                ancestor = parent.parent();
                missing_parent = Some(parent);
            }
        }
    }
    match missing_parent {
        Some(parent) => ServiceError::parent_resource_not_found(&parent.display_name()).into(),
        None => path.resource_not_found().into(),
    }
}

/// Reads a resource, or answers the right 404.
pub async fn get(app: &App, path: &ResourcePath) -> ApiResult<StoredResource> {
    match app.store()?.get_resource(&path.key()).await? {
        Some(resource) => Ok(resource),
        None => Err(not_found(app, path).await),
    }
}

/// The resource a DELETE removes: `None` when only the resource itself is missing (the DELETE
/// answers 204), the right 404 when its resource group or parent is.
pub async fn get_for_delete(app: &App, path: &ResourcePath) -> ApiResult<Option<StoredResource>> {
    if let Some(resource) = app.store()?.get_resource(&path.key()).await? {
        return Ok(Some(resource));
    }
    let error = not_found(app, path).await;
    if error.to_service_error().code == ErrorCode::ResourceNotFound {
        return Ok(None);
    }
    Err(error)
}
