//! Microsoft.Authorization role definitions: `RoleDefinitions_Get` and `RoleDefinitions_List`
//! (with `$filter=roleName eq '…'` and `type eq '…'`), built-in roles and custom roles, and
//! `RoleDefinitions_CreateOrUpdate`/`_Delete` for custom roles.
//!
//! Listed or read under a subscription, a definition's id is subscription-qualified
//! (`/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`), as Azure
//! answers and as `az role assignment list --role` compares byte for byte; at the root it is
//! `/providers/…`.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::authorization::roles::{RoleDefinition, RoleType, role_definition_guid};
use gallery_domain::{ErrorCode, ServiceError};

use crate::App;
use crate::arm::handlers::role_assignments::request_scope;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::error::ApiResult;

fn id_prefix(request: &ArmRequest) -> String {
    request
        .subscription
        .as_ref()
        .map(|subscription| format!("/subscriptions/{}", subscription.subscription_id))
        .unwrap_or_default()
}

/// What `$filter` asks for.
enum DefinitionFilter {
    All,
    RoleName(String),
    Type(RoleType),
}

fn parse_filter(filter: Option<&str>) -> Result<DefinitionFilter, ServiceError> {
    let Some(filter) = filter.map(str::trim).filter(|filter| !filter.is_empty()) else {
        return Ok(DefinitionFilter::All);
    };
    let invalid = || {
        ServiceError::new(
            400,
            ErrorCode::InvalidFilterInQueryString,
            format!(
                "The filter '{filter}' is not supported. Supported filters are roleName eq '{{name}}', type eq 'BuiltInRole'|'CustomRole' and atScopeAndBelow()."
            ),
        )
    };
    let lower = filter.to_ascii_lowercase();
    if lower == "atscopeandbelow()" {
        return Ok(DefinitionFilter::All);
    }
    let quoted = |prefix: &str| -> Option<String> {
        let rest = lower
            .strip_prefix(prefix)?
            .trim_start()
            .strip_prefix("eq")?
            .trim_start();
        let start = filter.len() - rest.len();
        let value = filter[start..].strip_prefix('\'')?.strip_suffix('\'')?;
        Some(value.to_string())
    };
    if let Some(name) = quoted("rolename") {
        return Ok(DefinitionFilter::RoleName(name));
    }
    if let Some(kind) = quoted("type") {
        return match kind.to_ascii_lowercase().as_str() {
            "builtinrole" => Ok(DefinitionFilter::Type(RoleType::BuiltInRole)),
            "customrole" => Ok(DefinitionFilter::Type(RoleType::CustomRole)),
            _ => Err(invalid()),
        };
    }
    Err(invalid())
}

/// RoleDefinitions_List.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    request_scope(request)?;
    let filter = parse_filter(request.query.get("$filter"))?;
    let policy = app.access.policy(app).await?;
    let prefix = id_prefix(request);
    let value: Vec<serde_json::Value> = policy
        .roles()
        .into_iter()
        .filter(|role: &&RoleDefinition| match &filter {
            DefinitionFilter::All => true,
            DefinitionFilter::RoleName(name) => role.role_name.eq_ignore_ascii_case(name),
            DefinitionFilter::Type(kind) => role.role_type == *kind,
        })
        .map(|role| role.to_resource(&prefix))
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &serde_json::json!({ "value": value }),
    ))
}

/// RoleDefinitions_Get.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    request_scope(request)?;
    let requested = request.parameters.get("roleDefinitionId");
    let guid = role_definition_guid(requested).unwrap_or(requested);
    let policy = app.access.policy(app).await?;
    match policy.role(guid) {
        Some(role) => Ok(response::json(
            StatusCode::OK,
            &role.to_resource(&id_prefix(request)),
        )),
        None => Err(ServiceError::new(
            404,
            ErrorCode::RoleDefinitionDoesNotExist,
            format!(
                "The specified role definition with ID '{}' does not exist.",
                guid.replace('-', "")
            ),
        )
        .into()),
    }
}

/// RoleDefinitions_CreateOrUpdate: a custom role (201 new, 200 replaced).
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    request_scope(request)?;
    let name = request
        .parameters
        .get("roleDefinitionId")
        .to_ascii_lowercase();
    let policy = app.access.policy(app).await?;
    let existing = policy
        .role(&name)
        .filter(|role| role.role_type == RoleType::CustomRole);
    let now = gallery_domain::time::format(chrono::Utc::now());
    let role = gallery_domain::authorization::roles::decide_custom_role(
        &name,
        &request.body,
        existing,
        &request.caller.object_id,
        &now,
    )?;
    let row = gallery_store::StoredRoleDefinition {
        name_key: name.clone(),
        role_name_key: role.role_name.to_lowercase(),
        body: serde_json::to_string(&role).map_err(ServiceError::invalid_request_content)?,
    };
    if !app.store()?.put_role_definition(&row).await? {
        return Err(gallery_domain::authorization::roles::role_name_exists(&role.role_name).into());
    }
    app.access.invalidate();
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(response::json(
        status,
        &role.to_resource(&id_prefix(request)),
    ))
}

/// RoleDefinitions_Delete: 200 with the deleted custom role, 204 when there was none.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    request_scope(request)?;
    let name = request
        .parameters
        .get("roleDefinitionId")
        .to_ascii_lowercase();
    match app.store()?.delete_role_definition(&name).await? {
        Some(deleted) => {
            app.access.invalidate();
            let role: RoleDefinition = crate::arm::tracked::parse_stored(&deleted.body)?;
            Ok(response::json(
                StatusCode::OK,
                &role.to_resource(&id_prefix(request)),
            ))
        }
        None => Ok(response::empty(StatusCode::NO_CONTENT)),
    }
}
