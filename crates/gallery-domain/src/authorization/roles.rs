//! Role definitions: the built-in roles that matter for galleries, with Azure's ids, actions,
//! notActions and dataActions, and custom roles (created with `PUT …/roleDefinitions/{guid}`).
//!
//! A role permits an action when one of its permission blocks lists a pattern matching it in
//! `actions` and none in that block's `notActions`. `notActions` subtracts, it does not deny: a
//! Contributor that also holds Compute Gallery Sharing Admin may share.

use serde::{Deserialize, Serialize};

use crate::authorization::actions;

/// Owner: everything.
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// Contributor: everything but access management (and sharing galleries).
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
/// Reader: every read.
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
/// User Access Administrator.
pub const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
/// Role Based Access Control Administrator.
pub const ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR: &str = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";
/// Virtual Machine Contributor.
pub const VIRTUAL_MACHINE_CONTRIBUTOR: &str = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";
/// Compute Gallery Sharing Admin.
pub const COMPUTE_GALLERY_SHARING_ADMIN: &str = "1ef6a3be-d0ac-425d-8c01-acb62866290b";
/// Compute Gallery Artifacts Publisher.
pub const COMPUTE_GALLERY_ARTIFACTS_PUBLISHER: &str = "85a2d0d9-2eba-4c9c-b355-11c2cc0788ab";
/// Compute Gallery Image Reader.
pub const COMPUTE_GALLERY_IMAGE_READER: &str = "cf7c76d2-98a3-4358-a134-615aa78bf44d";

/// `BuiltInRole` or `CustomRole` (`properties.type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleType {
    BuiltInRole,
    CustomRole,
}

/// One permission block of a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

impl Permission {
    /// Whether this block grants `action`.
    pub fn permits(&self, action: &str) -> bool {
        actions::any_matches(&self.actions, action)
            && !actions::any_matches(&self.not_actions, action)
    }
}

/// A role definition (built-in or custom).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    /// The role's GUID (its `name`).
    pub name: String,
    pub role_name: String,
    pub role_type: RoleType,
    pub description: String,
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub created_on: Option<String>,
    #[serde(default)]
    pub updated_on: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

impl RoleDefinition {
    /// Whether the role grants `action`.
    pub fn permits(&self, action: &str) -> bool {
        self.permissions
            .iter()
            .any(|permission| permission.permits(action))
    }

    /// The resource body served under `prefix` (`""` for the tenant form
    /// `/providers/Microsoft.Authorization/roleDefinitions/{guid}`, `/subscriptions/{s}` under a
    /// subscription, as Azure lists built-ins there).
    pub fn to_resource(&self, prefix: &str) -> serde_json::Value {
        serde_json::json!({
            "id": format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{}", self.name),
            "name": self.name,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.role_name,
                "type": self.role_type,
                "description": self.description,
                "assignableScopes": self.assignable_scopes,
                "permissions": self.permissions,
                "createdOn": self.created_on,
                "updatedOn": self.updated_on,
                "createdBy": self.created_by,
                "updatedBy": self.updated_by,
            }
        })
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

fn built_in(
    name: &str,
    role_name: &str,
    description: &str,
    actions: &[&str],
    not_actions: &[&str],
) -> RoleDefinition {
    RoleDefinition {
        name: name.to_string(),
        role_name: role_name.to_string(),
        role_type: RoleType::BuiltInRole,
        description: description.to_string(),
        assignable_scopes: vec!["/".to_string()],
        permissions: vec![Permission {
            actions: strings(actions),
            not_actions: strings(not_actions),
            data_actions: Vec::new(),
            not_data_actions: Vec::new(),
        }],
        created_on: None,
        updated_on: None,
        created_by: None,
        updated_by: None,
    }
}

/// The built-in roles galleryd knows, with Azure's ids and permissions.
pub fn built_in_roles() -> &'static [RoleDefinition] {
    static ROLES: std::sync::OnceLock<Vec<RoleDefinition>> = std::sync::OnceLock::new();
    ROLES.get_or_init(|| {
        vec![
            built_in(OWNER, "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", &["*"], &[]),
            built_in(
                CONTRIBUTOR,
                "Contributor",
                "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
                &["*"],
                &[
                    "Microsoft.Authorization/*/Delete",
                    "Microsoft.Authorization/*/Write",
                    "Microsoft.Authorization/elevateAccess/Action",
                    "Microsoft.Blueprint/blueprintAssignments/write",
                    "Microsoft.Blueprint/blueprintAssignments/delete",
                    "Microsoft.Compute/galleries/share/action",
                    "Microsoft.Purview/consents/write",
                    "Microsoft.Purview/consents/delete",
                    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                    "Microsoft.Subscription/cancel/action",
                    "Microsoft.Subscription/enable/action",
                ],
            ),
            built_in(READER, "Reader", "View all resources, but does not allow you to make any changes.", &["*/read"], &[]),
            built_in(
                USER_ACCESS_ADMINISTRATOR,
                "User Access Administrator",
                "Lets you manage user access to Azure resources.",
                &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
                &[],
            ),
            built_in(
                ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR,
                "Role Based Access Control Administrator",
                "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
                &[
                    "Microsoft.Authorization/roleAssignments/write",
                    "Microsoft.Authorization/roleAssignments/delete",
                    "*/read",
                    "Microsoft.Support/*",
                ],
                &[],
            ),
            built_in(
                VIRTUAL_MACHINE_CONTRIBUTOR,
                "Virtual Machine Contributor",
                "Create and manage virtual machines, manage disks, install and run software, reset password of the root user of the virtual machine using VM extensions, and manage local user accounts using VM extensions. This role does not grant you management access to the virtual network or storage account the virtual machines are connected to. This role does not allow you to assign roles in Azure RBAC.",
                &[
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Compute/availabilitySets/*",
                    "Microsoft.Compute/locations/*",
                    "Microsoft.Compute/virtualMachines/*",
                    "Microsoft.Compute/virtualMachineScaleSets/*",
                    "Microsoft.Compute/cloudServices/*",
                    "Microsoft.Compute/disks/write",
                    "Microsoft.Compute/disks/read",
                    "Microsoft.Compute/disks/delete",
                    "Microsoft.DevTestLab/schedules/*",
                    "Microsoft.Insights/alertRules/*",
                    "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
                    "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
                    "Microsoft.Network/loadBalancers/inboundNatPools/join/action",
                    "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
                    "Microsoft.Network/loadBalancers/probes/join/action",
                    "Microsoft.Network/loadBalancers/read",
                    "Microsoft.Network/locations/*",
                    "Microsoft.Network/networkInterfaces/*",
                    "Microsoft.Network/networkSecurityGroups/join/action",
                    "Microsoft.Network/networkSecurityGroups/read",
                    "Microsoft.Network/publicIPAddresses/join/action",
                    "Microsoft.Network/publicIPAddresses/read",
                    "Microsoft.Network/virtualNetworks/read",
                    "Microsoft.Network/virtualNetworks/subnets/join/action",
                    "Microsoft.RecoveryServices/locations/*",
                    "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write",
                    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
                    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
                    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
                    "Microsoft.RecoveryServices/Vaults/backupPolicies/read",
                    "Microsoft.RecoveryServices/Vaults/backupPolicies/write",
                    "Microsoft.RecoveryServices/Vaults/read",
                    "Microsoft.RecoveryServices/Vaults/usages/read",
                    "Microsoft.RecoveryServices/Vaults/write",
                    "Microsoft.ResourceHealth/availabilityStatuses/read",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "Microsoft.SqlVirtualMachine/*",
                    "Microsoft.Storage/storageAccounts/listKeys/action",
                    "Microsoft.Storage/storageAccounts/read",
                    "Microsoft.Support/*",
                ],
                &[],
            ),
            built_in(
                COMPUTE_GALLERY_SHARING_ADMIN,
                "Compute Gallery Sharing Admin",
                "This role allows user to share gallery to another subscription/tenant or share it to the public.",
                &["Microsoft.Compute/galleries/share/action"],
                &[],
            ),
            built_in(
                COMPUTE_GALLERY_ARTIFACTS_PUBLISHER,
                "Compute Gallery Artifacts Publisher",
                "This is the role for publishing gallery artifacts.",
                &[
                    "Microsoft.Compute/galleries/*",
                    "Microsoft.Compute/locations/capsOperations/read",
                    "Microsoft.Compute/locations/communityGalleries/*",
                    "Microsoft.Compute/locations/sharedGalleries/*",
                    "Microsoft.Compute/images/*",
                    "Microsoft.Compute/virtualMachines/write",
                    "Microsoft.Compute/disks/write",
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Insights/alertRules/*",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                ],
                &["Microsoft.Compute/galleries/share/action"],
            ),
            built_in(
                COMPUTE_GALLERY_IMAGE_READER,
                "Compute Gallery Image Reader",
                "This is the role for reading gallery images.",
                &["Microsoft.Compute/galleries/images/read", "Microsoft.Compute/galleries/images/versions/read"],
                &[],
            ),
        ]
    })
}

/// A built-in role by GUID (ignoring case).
pub fn built_in_role(name: &str) -> Option<&'static RoleDefinition> {
    built_in_roles()
        .iter()
        .find(|role| role.name.eq_ignore_ascii_case(name))
}

/// The GUID at the end of a role definition id (`/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{guid}`,
/// `/providers/…/{guid}` or the bare GUID), when the id has that shape.
pub fn role_definition_guid(id: &str) -> Option<&str> {
    let trimmed = id.trim_end_matches('/');
    let guid = match trimmed.rsplit_once('/') {
        Some((prefix, guid)) => {
            let lower = prefix.to_ascii_lowercase();
            if !lower.ends_with("/providers/microsoft.authorization/roledefinitions") {
                return None;
            }
            guid
        }
        None => trimmed,
    };
    crate::identity::is_guid(guid).then_some(guid)
}

/// The members of a custom role PUT galleryd reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomRoleProperties {
    role_name: Option<String>,
    description: Option<String>,
    permissions: Option<Vec<Permission>>,
    assignable_scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct CustomRoleRequest {
    properties: Option<CustomRoleProperties>,
}

/// Decides a custom role from a PUT body: `name` is the GUID in the path; `existing` the role it
/// replaces. Built-in roles cannot be replaced, nor their names taken.
pub fn decide_custom_role(
    name: &str,
    body: &[u8],
    existing: Option<&RoleDefinition>,
    caller_object_id: &str,
    now: &str,
) -> Result<RoleDefinition, crate::ServiceError> {
    use crate::{ErrorCode, ServiceError};
    if !crate::identity::is_guid(name) || built_in_role(name).is_some() {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidRoleDefinitionId,
            format!(
                "The role definition ID '{name}' is not valid: it must be a new GUID, not a built-in role's."
            ),
        ));
    }
    let request: CustomRoleRequest =
        serde_json::from_slice(body).map_err(ServiceError::invalid_request_content)?;
    let properties = request.properties.unwrap_or_default();
    let missing = |member: &str| {
        ServiceError::new(
            400,
            ErrorCode::InvalidRequestContent,
            format!("The request content is missing the required property '{member}'."),
        )
        .with_target(format!("properties.{member}"))
    };
    let role_name = properties
        .role_name
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| missing("roleName"))?;
    let assignable_scopes = properties
        .assignable_scopes
        .filter(|scopes| !scopes.is_empty())
        .ok_or_else(|| missing("assignableScopes"))?;
    if built_in_roles()
        .iter()
        .any(|role| role.role_name.eq_ignore_ascii_case(&role_name))
    {
        return Err(role_name_exists(&role_name));
    }
    Ok(RoleDefinition {
        name: name.to_ascii_lowercase(),
        role_name,
        role_type: RoleType::CustomRole,
        description: properties.description.unwrap_or_default(),
        assignable_scopes,
        permissions: properties.permissions.unwrap_or_default(),
        created_on: Some(
            existing
                .and_then(|role| role.created_on.clone())
                .unwrap_or_else(|| now.to_string()),
        ),
        updated_on: Some(now.to_string()),
        created_by: Some(
            existing
                .and_then(|role| role.created_by.clone())
                .unwrap_or_else(|| caller_object_id.to_string()),
        ),
        updated_by: Some(caller_object_id.to_string()),
    })
}

/// 409 `RoleDefinitionWithSameNameExists`.
pub fn role_name_exists(role_name: &str) -> crate::ServiceError {
    crate::ServiceError::new(
        409,
        crate::ErrorCode::RoleDefinitionWithSameNameExists,
        format!(
            "A custom role with the same name '{role_name}' already exists in this directory. Use a different name."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_grant_what_the_sharing_matrix_needs() {
        let role = |name| built_in_role(name).unwrap();
        assert!(role(OWNER).permits("Microsoft.Compute/galleries/share/action"));
        assert!(role(CONTRIBUTOR).permits("Microsoft.Compute/galleries/images/write"));
        assert!(!role(CONTRIBUTOR).permits("Microsoft.Compute/galleries/share/action"));
        assert!(!role(CONTRIBUTOR).permits("Microsoft.Authorization/roleAssignments/write"));
        assert!(role(READER).permits("Microsoft.Compute/galleries/read"));
        assert!(!role(READER).permits("Microsoft.Compute/galleries/write"));
        assert!(!role(VIRTUAL_MACHINE_CONTRIBUTOR).permits("Microsoft.Compute/galleries/read"));
        assert!(
            role(VIRTUAL_MACHINE_CONTRIBUTOR)
                .permits("Microsoft.Compute/locations/capsOperations/read")
        );
        assert!(!role(COMPUTE_GALLERY_IMAGE_READER).permits("Microsoft.Compute/galleries/read"));
        assert!(
            role(COMPUTE_GALLERY_IMAGE_READER)
                .permits("Microsoft.Compute/galleries/images/versions/read")
        );
        assert!(
            !role(COMPUTE_GALLERY_ARTIFACTS_PUBLISHER)
                .permits("Microsoft.Compute/galleries/share/action")
        );
        assert!(
            role(COMPUTE_GALLERY_ARTIFACTS_PUBLISHER)
                .permits("Microsoft.Compute/galleries/images/versions/delete")
        );
        assert!(
            role(USER_ACCESS_ADMINISTRATOR)
                .permits("Microsoft.Authorization/roleAssignments/write")
        );
        assert_eq!(built_in_roles().len(), 9);
    }

    #[test]
    fn role_definition_ids_have_three_spellings() {
        assert_eq!(
            role_definition_guid(&format!(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{READER}"
            )),
            Some(READER)
        );
        assert_eq!(
            role_definition_guid(&format!(
                "/providers/microsoft.authorization/roledefinitions/{READER}"
            )),
            Some(READER)
        );
        assert_eq!(role_definition_guid(READER), Some(READER));
        assert_eq!(
            role_definition_guid(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/reader"
            ),
            None
        );
        assert_eq!(
            role_definition_guid(&format!("/subscriptions/s/somewhere/{READER}")),
            None
        );
    }
}
