//! Role assignments: the request body, the stored document Azure serves, the `$filter` values `az`
//! and the SDKs send, and the errors of Microsoft.Authorization.

use serde::{Deserialize, Serialize};

use crate::authorization::roles::role_definition_guid;
use crate::identity::is_guid;
use crate::{ErrorCode, ServiceError};

/// `principalType` of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
    ForeignGroup,
    Device,
}

impl PrincipalType {
    fn parse(value: &str) -> Option<PrincipalType> {
        [
            PrincipalType::User,
            PrincipalType::Group,
            PrincipalType::ServicePrincipal,
            PrincipalType::ForeignGroup,
            PrincipalType::Device,
        ]
        .into_iter()
        .find(|kind| format!("{kind:?}").eq_ignore_ascii_case(value))
    }
}

/// The members of a PUT body galleryd reads (every member optional, as sent).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestProperties {
    role_definition_id: Option<String>,
    principal_id: Option<String>,
    principal_type: Option<String>,
    description: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
    delegated_managed_identity_resource_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Request {
    properties: Option<RequestProperties>,
}

/// A role assignment as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub scope: String,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub created_on: String,
    pub updated_on: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub delegated_managed_identity_resource_id: Option<String>,
    pub description: Option<String>,
}

/// `{id, name, type, properties}` of a role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: RoleAssignmentProperties,
}

/// What a PUT asks for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRequest {
    /// As sent (Azure echoes it).
    pub role_definition_id: String,
    /// The role's GUID.
    pub role: String,
    pub principal_id: String,
    pub principal_type: Option<PrincipalType>,
    pub description: Option<String>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub delegated_managed_identity_resource_id: Option<String>,
}

fn missing(property: &str) -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::InvalidRequestContent,
        format!("The request content is missing the required property '{property}'."),
    )
    .with_target(format!("properties.{property}"))
}

/// Parses and validates a role assignment PUT body.
pub fn parse_request(body: &[u8]) -> Result<AssignmentRequest, ServiceError> {
    let request: Request =
        serde_json::from_slice(body).map_err(ServiceError::invalid_request_content)?;
    let properties = request
        .properties
        .ok_or_else(|| missing("roleDefinitionId"))?;
    let role_definition_id = properties
        .role_definition_id
        .ok_or_else(|| missing("roleDefinitionId"))?;
    let principal_id = properties
        .principal_id
        .ok_or_else(|| missing("principalId"))?;
    let role = role_definition_guid(&role_definition_id)
        .ok_or_else(|| {
            ServiceError::new(
                400,
                ErrorCode::InvalidRoleDefinitionId,
                format!("The role definition ID '{role_definition_id}' is not valid."),
            )
            .with_target("properties.roleDefinitionId")
        })?
        .to_string();
    if !is_guid(&principal_id) {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidPrincipalId,
            format!("A valid principal ID must be provided for role assignment. The principal ID '{principal_id}' is not a GUID."),
        )
        .with_target("properties.principalId"));
    }
    let principal_type = match properties.principal_type.as_deref() {
        None => None,
        Some(value) => Some(PrincipalType::parse(value).ok_or_else(|| {
            ServiceError::invalid_parameter(
                "properties.principalType",
                format!("The value '{value}' is not a valid principal type: User, Group, ServicePrincipal, ForeignGroup or Device."),
            )
        })?),
    };
    if let Some(version) = properties.condition_version.as_deref()
        && version != "2.0"
    {
        return Err(ServiceError::invalid_parameter(
            "properties.conditionVersion",
            format!(
                "The condition version '{version}' is not supported: the only supported version is '2.0'."
            ),
        ));
    }
    Ok(AssignmentRequest {
        role_definition_id,
        role,
        principal_id,
        principal_type,
        description: properties.description,
        condition: properties.condition,
        condition_version: properties.condition_version,
        delegated_managed_identity_resource_id: properties.delegated_managed_identity_resource_id,
    })
}

/// The id of an assignment `name` at `scope_path` (`/` for the root).
pub fn assignment_id(scope_path: &str, name: &str) -> String {
    let prefix = scope_path.trim_end_matches('/');
    format!("{prefix}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

impl RoleAssignment {
    /// A new assignment (or the replacement of `existing`, keeping its creation) decided now.
    pub fn decide(
        scope_path: &str,
        name: &str,
        request: &AssignmentRequest,
        principal_type: PrincipalType,
        caller_object_id: &str,
        existing: Option<&RoleAssignment>,
        now: &str,
    ) -> RoleAssignment {
        RoleAssignment {
            id: assignment_id(scope_path, name),
            name: name.to_string(),
            resource_type: "Microsoft.Authorization/roleAssignments".to_string(),
            properties: RoleAssignmentProperties {
                role_definition_id: request.role_definition_id.clone(),
                principal_id: request.principal_id.clone(),
                principal_type,
                scope: scope_path.to_string(),
                condition: request.condition.clone(),
                condition_version: request.condition_version.clone(),
                created_on: existing.map_or_else(
                    || now.to_string(),
                    |existing| existing.properties.created_on.clone(),
                ),
                updated_on: now.to_string(),
                created_by: existing.and_then(|existing| existing.properties.created_by.clone()),
                updated_by: Some(caller_object_id.to_string()),
                delegated_managed_identity_resource_id: request
                    .delegated_managed_identity_resource_id
                    .clone(),
                description: request.description.clone(),
            },
        }
    }

    /// The role's GUID.
    pub fn role(&self) -> &str {
        role_definition_guid(&self.properties.role_definition_id)
            .unwrap_or(&self.properties.role_definition_id)
    }

    /// Whether a PUT of `request` at `scope_key` would change what cannot change.
    pub fn differs_in_identity(&self, request: &AssignmentRequest, scope_key: &str) -> bool {
        !self
            .properties
            .principal_id
            .eq_ignore_ascii_case(&request.principal_id)
            || !self.role().eq_ignore_ascii_case(&request.role)
            || crate::authorization::scope::scope_key(&self.properties.scope) != scope_key
    }

    /// The document as a list under `subscription_id` shows it: `roleDefinitionId`
    /// subscription-qualified, as Azure lists it.
    pub fn listed_under(&self, subscription_id: Option<&str>) -> RoleAssignment {
        let mut listed = self.clone();
        if let Some(subscription_id) = subscription_id {
            listed.properties.role_definition_id = format!(
                "/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{}",
                self.role()
            );
        }
        listed
    }
}

/// `409 RoleAssignmentExists`.
pub fn assignment_exists(existing_name: &str) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::RoleAssignmentExists,
        format!(
            "The role assignment already exists. The ID of the existing role assignment is {}.",
            existing_name.replace('-', "")
        ),
    )
}

/// `400 RoleAssignmentUpdateNotPermitted`.
pub fn update_not_permitted() -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::RoleAssignmentUpdateNotPermitted,
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    )
}

/// `400 PrincipalNotFound`.
pub fn principal_not_found(principal_id: &str, tenant_id: &str) -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::PrincipalNotFound,
        format!(
            "Principal {} does not exist in the directory {tenant_id}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            principal_id.replace('-', "")
        ),
    )
}

/// `400 UnmatchedPrincipalType`.
pub fn unmatched_principal_type(
    principal_id: &str,
    actual: PrincipalType,
    specified: PrincipalType,
) -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::UnmatchedPrincipalType,
        format!(
            "The PrincipalId '{}' has type '{actual:?}' , which is different from specified PrinciaplType '{specified:?}'.",
            principal_id.replace('-', "")
        ),
    )
}

/// `404 RoleDefinitionDoesNotExist`.
pub fn role_definition_does_not_exist(guid: &str) -> ServiceError {
    ServiceError::new(
        404,
        ErrorCode::RoleDefinitionDoesNotExist,
        format!(
            "The specified role definition with ID '{}' does not exist.",
            guid.replace('-', "")
        ),
    )
}

/// `404 RoleAssignmentNotFound`.
pub fn assignment_not_found() -> ServiceError {
    ServiceError::new(
        404,
        ErrorCode::RoleAssignmentNotFound,
        "The role assignment is not found.",
    )
}

/// `403 AuthorizationFailed`, in Azure's words.
pub fn authorization_failed(
    client: &str,
    object_id: &str,
    action: &str,
    scope: &str,
) -> ServiceError {
    ServiceError::new(
        403,
        ErrorCode::AuthorizationFailed,
        format!(
            "The client '{client}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    )
}

/// What a list's `$filter` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssignmentFilter {
    /// `atScope()`: assignments at or above the scope only.
    pub at_scope: bool,
    /// `principalId eq '{id}'`: that principal's own assignments, at, above and below.
    pub principal_id: Option<String>,
    /// `assignedTo('{id}')`: the principal's assignments and its groups'.
    pub assigned_to: Option<String>,
}

fn quoted_argument(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start().strip_prefix('\'')?;
    let end = rest.find('\'')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// Parses a role assignment `$filter` (already percent-decoded).
pub fn parse_filter(filter: &str) -> Result<AssignmentFilter, ServiceError> {
    let invalid = || {
        ServiceError::new(
            400,
            ErrorCode::InvalidFilterInQueryString,
            format!(
                "The filter '{filter}' is not supported. Supported filters are atScope(), principalId eq '{{id}}' and assignedTo('{{id}}'), alone or atScope() and assignedTo('{{id}}')."
            ),
        )
    };
    let mut parsed = AssignmentFilter::default();
    let mut rest = filter.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("atscope()") {
            parsed.at_scope = true;
            rest = &rest["atscope()".len()..];
        } else if lower.starts_with("principalid") {
            let after = rest["principalid".len()..].trim_start();
            let after = after
                .strip_prefix("eq")
                .or_else(|| after.strip_prefix("EQ"))
                .or_else(|| after.strip_prefix("Eq"))
                .ok_or_else(invalid)?;
            let (value, remaining) = quoted_argument(after).ok_or_else(invalid)?;
            parsed.principal_id = Some(value.to_string());
            rest = remaining;
        } else if lower.starts_with("assignedto(") {
            let (value, remaining) =
                quoted_argument(&rest["assignedto(".len()..]).ok_or_else(invalid)?;
            let remaining = remaining
                .trim_start()
                .strip_prefix(')')
                .ok_or_else(invalid)?;
            parsed.assigned_to = Some(value.to_string());
            rest = remaining;
        } else {
            return Err(invalid());
        }
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        let lower = trimmed.to_ascii_lowercase();
        if !lower.starts_with("and ") {
            return Err(invalid());
        }
        rest = trimmed[4..].trim_start();
    }
    if parsed.at_scope && parsed.principal_id.is_some() {
        return Err(invalid());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::roles::READER;

    #[test]
    fn filters_as_az_sends_them() {
        assert_eq!(
            parse_filter("atScope()").unwrap(),
            AssignmentFilter {
                at_scope: true,
                ..Default::default()
            }
        );
        assert_eq!(
            parse_filter("atScope() and assignedTo('abc')").unwrap(),
            AssignmentFilter {
                at_scope: true,
                assigned_to: Some("abc".into()),
                ..Default::default()
            }
        );
        assert_eq!(
            parse_filter("principalId eq 'p'")
                .unwrap()
                .principal_id
                .as_deref(),
            Some("p")
        );
        assert!(parse_filter("atScope() and principalId eq 'p'").is_err());
        assert!(parse_filter("roleName eq 'x'").is_err());
        assert!(parse_filter("atScope() or").is_err());
    }

    #[test]
    fn requests_are_validated() {
        let body = |value: serde_json::Value| parse_request(value.to_string().as_bytes());
        let principal = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
        let request = body(serde_json::json!({"properties": {"roleDefinitionId": format!("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{READER}"), "principalId": principal, "principalType": "user"}})).unwrap();
        assert_eq!(
            (request.role.as_str(), request.principal_type),
            (READER, Some(PrincipalType::User))
        );
        assert_eq!(body(serde_json::json!({"properties": {"roleDefinitionId": "Reader", "principalId": principal}})).unwrap_err().code, ErrorCode::InvalidRoleDefinitionId);
        assert_eq!(body(serde_json::json!({"properties": {"roleDefinitionId": READER, "principalId": "bob"}})).unwrap_err().code, ErrorCode::InvalidPrincipalId);
        assert_eq!(
            body(serde_json::json!({"properties": {"principalId": principal}}))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(body(serde_json::json!({"properties": {"roleDefinitionId": READER, "principalId": principal, "principalType": "Robot"}})).unwrap_err().status, 400);
    }
}
