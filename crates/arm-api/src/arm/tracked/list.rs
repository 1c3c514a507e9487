//! Keyset-paginated lists of resources: in a resource group, in a subscription, or below a parent.

use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::names::name_key;
use gallery_store::ListScope;
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{ResourcePath, not_found, parse_stored};
use crate::error::ApiResult;

/// Lists one page of the `resource_type` resources in the request's resource group (404 when the
/// group does not exist), shaping each document with `view` when given.
pub async fn list_in_resource_group(
    app: &App,
    request: &ArmRequest,
    resource_type: &str,
    view: Option<&(dyn Fn(Value) -> Value + Sync)>,
) -> ApiResult<Response> {
    let subscription_id = &request.subscription().subscription_id;
    let resource_group = request.parameters.get("resourceGroupName");
    let resource_group_key = name_key(resource_group);
    if app
        .store()?
        .get_resource_group(subscription_id, &resource_group_key)
        .await?
        .is_none()
    {
        return Err(ServiceError::resource_group_not_found(resource_group).into());
    }
    let scope = ListScope::InResourceGroup {
        subscription_id,
        resource_group_key: &resource_group_key,
        resource_type,
    };
    list(app, request, scope, view).await
}

/// Lists one page of the `resource_type` resources in the request's subscription, shaping each
/// document with `view` when given.
pub async fn list_in_subscription(
    app: &App,
    request: &ArmRequest,
    resource_type: &str,
    view: Option<&(dyn Fn(Value) -> Value + Sync)>,
) -> ApiResult<Response> {
    let scope = ListScope::InSubscription {
        subscription_id: &request.subscription().subscription_id,
        resource_type,
    };
    list(app, request, scope, view).await
}

/// Lists one page of the `resource_type` resources in the `segment` collection of `parent`. When
/// the parent is missing, the 404 says whether its resource group or which ancestor is.
pub async fn list_below(
    app: &App,
    request: &ArmRequest,
    parent: &ResourcePath,
    segment: &'static str,
    resource_type: &'static str,
) -> ApiResult<Response> {
    let Some(parent_resource) = app.store()?.get_resource(&parent.key()).await? else {
        return Err(not_found(app, &parent.child(segment, "", resource_type)).await);
    };
    let scope = ListScope::UnderParent {
        parent_seq: parent_resource.seq,
        resource_type,
    };
    list(app, request, scope, None).await
}

/// Lists one page of resources in `scope`, shaping each document with `view` when given.
pub async fn list(
    app: &App,
    request: &ArmRequest,
    scope: ListScope<'_>,
    view: Option<&(dyn Fn(Value) -> Value + Sync)>,
) -> ApiResult<Response> {
    let limit = response::page_size(request, app.settings.page_size)?;
    let after = response::skip_token(request)?;
    let page = app.store()?.list_resources(scope, after, limit).await?;
    let items = page
        .items
        .into_iter()
        .map(|resource| match view {
            Some(view) => {
                parse_stored::<Value>(&resource.body).map(|document| view(document).to_string())
            }
            None => Ok(resource.body),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(response::list_page(request, items, page.next_cursor))
}
