//! Microsoft.Authorization role assignments at any scope: `RoleAssignments_Create`, `_Get`,
//! `_Delete` and `_ListForScope` (with `$filter` as `az` sends it).
//!
//! The scope must exist (its subscription, resource group or resource); the role must exist; the
//! principal must be one the directory knows, unless the request names its `principalType` (Azure's
//! way round replication delays, and how tokens galleryd did not issue get roles). Every write
//! drops this process's cached access policy.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::authorization::assignments::{
    self, AssignmentFilter, PrincipalType, RoleAssignment, parse_filter, parse_request,
};
use gallery_domain::authorization::scope::covers;
use gallery_domain::authorization::{Scope, ScopeKind};
use gallery_domain::identity::{PrincipalKind, is_guid};
use gallery_domain::names::name_key;
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::{AssignmentWrite, StoredRoleAssignment};

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::parse_stored;
use crate::error::ApiResult;

/// The scope the request path names.
pub(crate) fn request_scope(request: &ArmRequest) -> Result<Scope, ServiceError> {
    let raw = request.parameters.get("scope");
    let segments: Vec<String> = if raw.is_empty() {
        Vec::new()
    } else {
        raw.split('/').map(str::to_string).collect()
    };
    Scope::parse(&segments)
}

/// Answers the 404 when the scope does not exist.
async fn check_scope_exists(app: &App, scope: &Scope) -> ApiResult<()> {
    match &scope.kind {
        ScopeKind::Root | ScopeKind::ManagementGroup(_) => Ok(()),
        ScopeKind::Subscription { .. } => Ok(()), // the pipeline answered 404 for unknown ones
        ScopeKind::ResourceGroup {
            subscription_id,
            resource_group,
        } => {
            if app
                .store()?
                .get_resource_group(subscription_id, &name_key(resource_group))
                .await?
                .is_none()
            {
                return Err(ServiceError::resource_group_not_found(resource_group).into());
            }
            Ok(())
        }
        ScopeKind::Resource {
            subscription_id,
            resource_group,
            resource_id,
        } => {
            if app
                .store()?
                .get_resource_group(subscription_id, &name_key(resource_group))
                .await?
                .is_none()
            {
                return Err(ServiceError::resource_group_not_found(resource_group).into());
            }
            if app
                .store()?
                .get_resource(&gallery_domain::ids::resource_key(resource_id))
                .await?
                .is_none()
            {
                return Err(ServiceError::resource_not_found(
                    gallery_domain::ids::provider_path(resource_id),
                    resource_group,
                )
                .into());
            }
            Ok(())
        }
    }
}

fn assignment_name(request: &ArmRequest) -> Result<String, ServiceError> {
    let name = request.parameters.get("roleAssignmentName");
    if !is_guid(name) {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidRoleAssignmentId,
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    Ok(name.to_string())
}

/// The principal type the directory knows `principal_id` as, if it knows it.
fn directory_type(app: &App, principal_id: &str) -> Option<PrincipalType> {
    if app.settings.directory.group(principal_id).is_some() {
        return Some(PrincipalType::Group);
    }
    app.settings
        .directory
        .principals
        .iter()
        .find(|principal| principal.object_id.eq_ignore_ascii_case(principal_id))
        .map(|principal| match principal.kind {
            PrincipalKind::User => PrincipalType::User,
            _ => PrincipalType::ServicePrincipal,
        })
}

/// The tenant a scope belongs to (for `PrincipalNotFound`'s message).
fn scope_tenant(request: &ArmRequest) -> &str {
    request
        .subscription
        .as_ref()
        .map_or(request.caller.tenant_id.as_str(), |subscription| {
            subscription.tenant_id.as_str()
        })
}

/// RoleAssignments_Create.
pub async fn create(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let scope = request_scope(request)?;
    let name = assignment_name(request)?;
    let wanted = parse_request(&request.body)?;
    check_scope_exists(app, &scope).await?;
    let policy = app.access.policy(app).await?;
    if policy.role(&wanted.role).is_none() {
        return Err(assignments::role_definition_does_not_exist(&wanted.role).into());
    }
    let principal_type = match (
        directory_type(app, &wanted.principal_id),
        wanted.principal_type,
    ) {
        (Some(actual), Some(specified)) if actual != specified => {
            return Err(assignments::unmatched_principal_type(
                &wanted.principal_id,
                actual,
                specified,
            )
            .into());
        }
        (Some(actual), _) => actual,
        (None, Some(specified)) => specified,
        (None, None) => {
            return Err(assignments::principal_not_found(
                &wanted.principal_id,
                scope_tenant(request),
            )
            .into());
        }
    };
    let store = app.store()?;
    let key = scope.key();
    for _ in 0..8 {
        let existing = store.role_assignment(&name.to_ascii_lowercase()).await?;
        let existing_document = existing
            .as_ref()
            .map(|row| parse_stored::<RoleAssignment>(&row.body))
            .transpose()?;
        if let Some(document) = &existing_document
            && document.differs_in_identity(&wanted, &key)
        {
            return Err(assignments::update_not_permitted().into());
        }
        let now = gallery_domain::time::format(chrono::Utc::now());
        let decided = RoleAssignment::decide(
            &scope.path,
            &name,
            &wanted,
            principal_type,
            &request.caller.object_id,
            existing_document.as_ref(),
            &now,
        );
        let row = StoredRoleAssignment {
            name_key: name.to_ascii_lowercase(),
            scope_key: key.clone(),
            principal_key: wanted.principal_id.to_ascii_lowercase(),
            role_definition_key: wanted.role.to_ascii_lowercase(),
            body: serde_json::to_string(&decided).map_err(ServiceError::invalid_request_content)?,
        };
        let written = store
            .put_role_assignment(&row, existing.as_ref().map(|row| row.body.as_str()))
            .await?;
        let status = match written {
            AssignmentWrite::Created => StatusCode::CREATED,
            AssignmentWrite::Replaced => StatusCode::OK,
            AssignmentWrite::GrantTaken { holder_name } => {
                return Err(assignments::assignment_exists(&holder_name).into());
            }
            AssignmentWrite::LostRace => continue,
        };
        app.access.invalidate();
        return Ok(response::json_text(status, row.body));
    }
    Err(ServiceError::new(
        409,
        ErrorCode::Conflict,
        "The role assignment changed while it was being written; try again.",
    )
    .into())
}

/// The assignment `name` if it lies at the request's scope.
async fn find_at_scope(app: &App, request: &ArmRequest) -> ApiResult<Option<StoredRoleAssignment>> {
    let scope = request_scope(request)?;
    let name = assignment_name(request)?;
    let found = app
        .store()?
        .role_assignment(&name.to_ascii_lowercase())
        .await?;
    Ok(found.filter(|row| row.scope_key == scope.key()))
}

/// RoleAssignments_Get.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    match find_at_scope(app, request).await? {
        Some(row) => Ok(response::json_text(StatusCode::OK, row.body)),
        None => Err(assignments::assignment_not_found().into()),
    }
}

/// RoleAssignments_Delete: 200 with the deleted assignment, 204 when there was none.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let Some(row) = find_at_scope(app, request).await? else {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    };
    match app.store()?.delete_role_assignment(&row.name_key).await? {
        Some(deleted) => {
            app.access.invalidate();
            Ok(response::json_text(StatusCode::OK, deleted.body))
        }
        None => Ok(response::empty(StatusCode::NO_CONTENT)),
    }
}

/// RoleAssignments_ListForScope: at, above and below the scope; `atScope()` at and above only;
/// `principalId eq` one principal's own; `assignedTo()` a principal's and its groups'.
pub async fn list_for_scope(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let scope = request_scope(request)?;
    let filter = match request.query.get("$filter") {
        Some(filter) if !filter.trim().is_empty() => parse_filter(filter)?,
        _ => AssignmentFilter::default(),
    };
    let key = scope.key();
    let policy = app.access.policy(app).await?;
    let assigned_to = filter
        .assigned_to
        .as_deref()
        .map(|principal| policy.identities_of(principal));
    let rows = app.store()?.load_access().await?;
    let subscription_id = request
        .subscription
        .as_ref()
        .map(|subscription| subscription.subscription_id.as_str());
    let mut items = Vec::new();
    for row in rows.assignments {
        let above = covers(&row.scope_key, &key);
        let below = covers(&key, &row.scope_key);
        if !(above || (below && !filter.at_scope)) {
            continue;
        }
        if let Some(principal) = &filter.principal_id
            && !row.principal_key.eq_ignore_ascii_case(principal)
        {
            continue;
        }
        if let Some(identities) = &assigned_to
            && !identities.contains(&row.principal_key)
        {
            continue;
        }
        let document: RoleAssignment = parse_stored(&row.body)?;
        items
            .push(serde_json::to_value(document.listed_under(subscription_id)).unwrap_or_default());
    }
    Ok(response::json(
        StatusCode::OK,
        &serde_json::json!({ "value": items }),
    ))
}
