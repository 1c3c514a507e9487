//! The flows every tracked Compute resource shares: read with ARM's three kinds of 404,
//! create-or-replace and update as long-running operations, delete, and keyset-paginated lists (in
//! a resource group, a subscription or below a parent). Resource modules (`galleries`,
//! `gallery_images`, `gallery_image_versions`, `images`, `disks`) bring the rules; this module
//! brings the ARM contract, so every resource follows it the same way.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::common::{PatchRequest, parse_body, set_provisioning_state};
use gallery_domain::names::name_key;
use gallery_store::{
    Ancestry, Decision, ListScope, NewOperation, OperationStatus, ParentTarget, ResourceTarget,
    StoredResource,
};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::error::{ApiError, ApiResult};

/// A resource path of the Compute provider: subscription, resource group and the chain of
/// `(collection segment, name)` pairs, e.g. `[("galleries", "g1"), ("images", "i1")]`.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    pub subscription_id: String,
    pub resource_group: String,
    pub names: Vec<(&'static str, String)>,
    pub resource_type: &'static str,
}

impl ResourcePath {
    /// The path of `request` for a resource `resource_type`, reading `parameters` in order.
    pub fn from_request(
        request: &ArmRequest,
        resource_type: &'static str,
        chain: &[(&'static str, &str)],
    ) -> ResourcePath {
        ResourcePath {
            subscription_id: request.subscription().subscription_id.clone(),
            resource_group: request.parameters.get("resourceGroupName").to_string(),
            names: chain
                .iter()
                .map(|(segment, parameter)| {
                    (*segment, request.parameters.get(parameter).to_string())
                })
                .collect(),
            resource_type,
        }
    }

    /// The resource's own name.
    pub fn name(&self) -> &str {
        &self.names[self.names.len() - 1].1
    }

    fn id_with(&self, resource_group: &str, names: &[(&'static str, String)]) -> String {
        let mut id = format!(
            "{}/providers/{}",
            ids::resource_group_id(&self.subscription_id, resource_group),
            ids::COMPUTE_NAMESPACE
        );
        for (segment, name) in names {
            id.push('/');
            id.push_str(segment);
            id.push('/');
            id.push_str(name);
        }
        id
    }

    /// The canonical id, with names as the request spells them.
    pub fn id(&self) -> String {
        self.id_with(&self.resource_group, &self.names)
    }

    /// The canonical id with the stored casing of the resource group and parent (for new resources).
    pub fn id_with_ancestry(&self, ancestry: &Ancestry) -> String {
        let mut names = self.names.clone();
        if let (Some(parent_name), Some(parent)) = (
            &ancestry.parent_name,
            names.len().checked_sub(2).map(|index| &mut names[index]),
        ) {
            parent.1 = parent_name.clone();
        }
        self.id_with(&ancestry.resource_group_name, &names)
    }

    /// The lower-cased id the store finds it by.
    pub fn key(&self) -> String {
        ids::resource_key(&self.id())
    }

    /// The parent's path, for nested resources.
    pub fn parent(&self) -> Option<ResourcePath> {
        (self.names.len() > 1).then(|| ResourcePath {
            subscription_id: self.subscription_id.clone(),
            resource_group: self.resource_group.clone(),
            names: self.names[..self.names.len() - 1].to_vec(),
            resource_type: parent_type(self.resource_type),
        })
    }

    /// `Microsoft.Compute/galleries/g1/images/i1`: how `ResourceNotFound` names the resource.
    pub fn type_and_names(&self) -> String {
        ids::provider_path(&self.id()).to_string()
    }

    /// 404 `ResourceNotFound` naming this resource (whose resource group and parent exist).
    pub fn resource_not_found(&self) -> ServiceError {
        ServiceError::resource_not_found(&self.type_and_names(), &self.resource_group)
    }

    /// The path of a resource of `resource_type` in this one's `segment` collection, named `name`.
    fn child(
        &self,
        segment: &'static str,
        name: &str,
        resource_type: &'static str,
    ) -> ResourcePath {
        let mut child = self.clone();
        child.names.push((segment, name.to_string()));
        child.resource_type = resource_type;
        child
    }

    /// How `ParentResourceNotFound` names this resource when it is the missing parent: `g1`, `g1/i1`.
    pub fn display_name(&self) -> String {
        self.names
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn parent_type(resource_type: &'static str) -> &'static str {
    match resource_type {
        ids::GALLERY_IMAGE_VERSION_TYPE => ids::GALLERY_IMAGE_TYPE,
        _ => ids::GALLERY_TYPE,
    }
}

/// A finished operation, recorded with the write it describes (the work is done within the request,
/// so the first poll already reads a terminal status).
pub fn finished_operation(request: &ArmRequest, final_status: u16) -> NewOperation {
    let now = gallery_domain::time::format(chrono::Utc::now());
    NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: request.operation.action().to_string(),
        status: OperationStatus::Succeeded,
        started_at: now.clone(),
        ended_at: Some(now),
        final_status,
    }
}

/// An operation a background job finishes (replication, deletion of replicas, a content copy).
pub fn running_operation(request: &ArmRequest, final_status: u16) -> NewOperation {
    NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: request.operation.action().to_string(),
        status: OperationStatus::InProgress,
        started_at: gallery_domain::time::format(chrono::Utc::now()),
        ended_at: None,
        final_status,
    }
}

/// Background work a write hands to the workers; its operation stays in progress until the job
/// ends it.
pub struct JobPlan {
    pub kind: gallery_store::JobKind,
    pub payload: String,
}

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

/// Parses a stored document.
pub fn parse_stored<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ServiceError> {
    serde_json::from_str(body).map_err(|error| {
        tracing::error!(%error, "a stored document does not parse");
        ServiceError::new(
            500,
            ErrorCode::InternalServerError,
            "A stored document could not be read.",
        )
    })
}

/// Parses a stored resource's internal data (galleryd's own, never served); a resource without any
/// has the default.
pub fn parse_internal<T: serde::de::DeserializeOwned + Default>(
    resource: &StoredResource,
) -> Result<T, ServiceError> {
    match &resource.internal {
        Some(text) => parse_stored(text),
        None => Ok(T::default()),
    }
}

/// What a write request says: a PUT's body (create or replace) or a PATCH's (update).
pub enum WriteBody<Put, Patch = PatchRequest> {
    Put(Put),
    Patch(Patch),
}

impl<Put: serde::de::DeserializeOwned, Patch: serde::de::DeserializeOwned> WriteBody<Put, Patch> {
    /// Parses the request's body: a PATCH's when the resource must exist already, else a PUT's.
    pub fn parse(request: &ArmRequest, must_exist: bool) -> Result<Self, ServiceError> {
        Ok(if must_exist {
            WriteBody::Patch(parse_body(&request.body)?)
        } else {
            WriteBody::Put(parse_body(&request.body)?)
        })
    }
}

/// A fresh GUID (principal ids of managed identities and alike).
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The context a resource's rules decide a write in: who asks, when, where, under which id.
pub fn write_context<'a>(
    request: &'a ArmRequest,
    id: &'a str,
    ancestry: &'a Ancestry,
    name: &'a str,
    now: chrono::DateTime<chrono::Utc>,
    new_guid: &'a mut dyn FnMut() -> String,
) -> gallery_domain::models::WriteContext<'a> {
    gallery_domain::models::WriteContext {
        subscription: request.subscription(),
        resource_group: &ancestry.resource_group_name,
        id,
        name,
        caller: &request.caller,
        now,
        api_version: &request.api_version,
        new_guid,
    }
}

/// How a PUT writes: where, what it counts against, and what it claims.
pub struct PutPlan<'a> {
    pub path: &'a ResourcePath,
    pub quota: Option<QuotaKind>,
    /// Whether the resource must exist already (PATCH).
    pub must_exist: bool,
    /// Background work the write starts (its operation then ends when the job ends it).
    pub job: Option<JobPlan>,
}

/// Creates, replaces or updates a resource as a long-running operation. `decide` gets the canonical
/// id, the enclosing names and the current resource, and returns what to store; `view` shapes the
/// stored document for the response.
pub async fn put(
    app: &App,
    request: &ArmRequest,
    plan: PutPlan<'_>,
    decide: impl Fn(&str, &Ancestry, Option<&StoredResource>) -> Result<Decision, ServiceError>,
    view: impl Fn(Value) -> Value,
) -> ApiResult<Response> {
    let path = plan.path;
    let id = path.id();
    let key = path.key();
    let parent = path.parent();
    let parent_key = parent.as_ref().map(ResourcePath::key);
    let parent_display_name = parent.as_ref().map(ResourcePath::display_name);
    let target = ResourceTarget {
        resource_id: &id,
        resource_key: &key,
        subscription_id: &path.subscription_id,
        resource_group_key: &name_key(&path.resource_group),
        resource_group_name: &path.resource_group,
        resource_type: path.resource_type,
        parent: parent_key
            .as_deref()
            .zip(parent_display_name.as_deref())
            .map(|(resource_key, display_name)| ParentTarget {
                resource_key,
                display_name,
            }),
        quota: plan
            .quota
            .map(|kind| (kind, app.settings.limits.for_kind(kind))),
    };
    let operation = match plan.job {
        Some(_) => running_operation(request, 200),
        None => finished_operation(request, 200),
    };
    let outcome = app
        .store()?
        .put_resource(&target, &operation, |ancestry, existing| {
            if plan.must_exist && existing.is_none() {
                return Err(path.resource_not_found());
            }
            let id = match existing {
                Some(_) => id.clone(),
                None => path.id_with_ancestry(ancestry),
            };
            let mut decision = decide(&id, ancestry, existing)?;
            if let Some(job) = &plan.job {
                decision.jobs.push(gallery_store::NewJob {
                    kind: job.kind,
                    resource_key: key.clone(),
                    operation_id: Some(operation.operation_id.clone()),
                    payload: job.payload.clone(),
                });
            }
            Ok(decision)
        })
        .await?;
    if plan.job.is_some() {
        app.wake_workers();
    }
    let mut document: Value = parse_stored(&outcome.resource.body)?;
    let state = if outcome.created {
        ProvisioningState::Creating
    } else {
        ProvisioningState::Updating
    };
    set_provisioning_state(&mut document, state);
    let body = view(document).to_string();
    Ok(response::accepted_put(
        request,
        outcome.created,
        body,
        &outcome.resource.location,
        &operation.operation_id,
    ))
}

/// Deletes a resource: 202 with the operation's URLs when it existed, 204 when it did not.
pub async fn delete(app: &App, request: &ArmRequest, path: &ResourcePath) -> ApiResult<Response> {
    let id = path.id();
    let key = path.key();
    let target = ResourceTarget {
        resource_id: &id,
        resource_key: &key,
        subscription_id: &path.subscription_id,
        resource_group_key: &name_key(&path.resource_group),
        resource_group_name: &path.resource_group,
        resource_type: path.resource_type,
        parent: None,
        quota: None,
    };
    let operation = finished_operation(request, 204);
    match app.store()?.delete_resource(&target, &operation).await? {
        Some(deleted) => Ok(response::accepted_delete(
            request,
            &deleted.location,
            &operation.operation_id,
        )),
        None => Ok(response::empty(StatusCode::NO_CONTENT)),
    }
}

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
