//! Tenants, subscriptions and principals, and how a caller becomes `systemData`.
//!
//! galleryd works with zero setup: a well-known development tenant and subscription exist, a
//! well-known development user (Owner of that subscription) is the caller whenever a request
//! carries no bearer token, and a well-known development service principal (with a well-known
//! secret) and managed identity can obtain tokens from galleryd's token endpoints. These values are
//! part of galleryd's public contract (the README documents them), like Azurite's well-known
//! account key. More tenants, subscriptions and principals come from configuration
//! ([`Directory`]).

use serde::{Deserialize, Serialize};

/// The well-known development tenant.
pub const DEVELOPMENT_TENANT_ID: &str = "6a11e2d0-0000-4000-8000-000000000001";
/// The well-known development subscription (in the development tenant).
pub const DEVELOPMENT_SUBSCRIPTION_ID: &str = "6a11e2d0-0000-4000-8000-000000000002";
/// Object id of the well-known development principal.
pub const DEVELOPMENT_PRINCIPAL_OBJECT_ID: &str = "6a11e2d0-0000-4000-8000-000000000003";
/// Display name (user principal name) of the well-known development principal.
pub const DEVELOPMENT_PRINCIPAL_NAME: &str = "developer@galleryd.local";
/// Application (client) id of the well-known development service principal.
pub const DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID: &str = "6a11e2d0-0000-4000-8000-000000000004";
/// Object id of the well-known development service principal.
pub const DEVELOPMENT_SERVICE_PRINCIPAL_OBJECT_ID: &str = "6a11e2d0-0000-4000-8000-000000000005";
/// The well-known secret of the development service principal (not a secret: it only opens
/// galleryd, like Azurite's published account key).
pub const DEVELOPMENT_SERVICE_PRINCIPAL_SECRET: &str = "galleryd-development-secret";
/// Client id of the well-known development managed identity (what the managed identity endpoints
/// issue tokens for unless asked for another).
pub const DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID: &str = "6a11e2d0-0000-4000-8000-000000000006";
/// Object id of the well-known development managed identity.
pub const DEVELOPMENT_MANAGED_IDENTITY_OBJECT_ID: &str = "6a11e2d0-0000-4000-8000-000000000007";

/// A subscription galleryd serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// Restricted-access regions (like Australia Central) this subscription is allow-listed for.
    #[serde(default)]
    pub allowed_restricted_regions: Vec<String>,
}

impl Subscription {
    /// The well-known development subscription.
    pub fn development() -> Self {
        Subscription {
            subscription_id: DEVELOPMENT_SUBSCRIPTION_ID.to_string(),
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            display_name: "galleryd development subscription".to_string(),
            allowed_restricted_regions: Vec::new(),
        }
    }

    /// Whether resources of this subscription may live in `region`.
    pub fn may_use_region(&self, region: &crate::regions::Region) -> bool {
        !region.restricted
            || self
                .allowed_restricted_regions
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(region.name))
    }
}

crate::string_enum! {
    /// Who a principal is, as `systemData.createdByType` reports it.
    pub enum PrincipalKind {
        User = "User",
        Application = "Application",
        ManagedIdentity = "ManagedIdentity",
        Key = "Key",
    }
}

/// A tenant (an Entra ID directory) galleryd knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: String,
}

impl Tenant {
    /// The well-known development tenant.
    pub fn development() -> Self {
        Tenant {
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            display_name: "galleryd development tenant".to_string(),
        }
    }
}

/// A principal that can sign in: a user, a service principal (an application with a client
/// secret) or a managed identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// `User`, `ServicePrincipal` (also spelled `Application`) or `ManagedIdentity`.
    #[serde(with = "principal_kind_name")]
    pub kind: PrincipalKind,
    pub object_id: String,
    /// The application (client) id of a service principal or managed identity.
    #[serde(default)]
    pub client_id: Option<String>,
    pub tenant_id: String,
    /// A user's principal name (`ann@contoso.com`).
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: String,
    /// A service principal's client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A user-assigned managed identity's resource id (`xms_mirid` in its tokens).
    #[serde(default)]
    pub resource_id: Option<String>,
}

/// `Principal::kind` in configuration files: `ServicePrincipal` is accepted for `Application`.
mod principal_kind_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::PrincipalKind;

    pub fn serialize<S: Serializer>(
        kind: &PrincipalKind,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match kind {
            PrincipalKind::Application => "ServicePrincipal",
            other => other.as_str(),
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PrincipalKind, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.eq_ignore_ascii_case("ServicePrincipal") {
            return Ok(PrincipalKind::Application);
        }
        PrincipalKind::from_wire(&name)
            .filter(|kind| *kind != PrincipalKind::Key)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown principal kind '{name}' (User, ServicePrincipal or ManagedIdentity)"
                ))
            })
    }
}

impl Principal {
    /// The well-known development user, the caller of requests without a bearer token.
    pub fn development_user() -> Self {
        Principal {
            kind: PrincipalKind::User,
            object_id: DEVELOPMENT_PRINCIPAL_OBJECT_ID.to_string(),
            client_id: None,
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            user_principal_name: Some(DEVELOPMENT_PRINCIPAL_NAME.to_string()),
            display_name: "galleryd developer".to_string(),
            client_secret: None,
            resource_id: None,
        }
    }

    /// The well-known development service principal.
    pub fn development_service_principal() -> Self {
        Principal {
            kind: PrincipalKind::Application,
            object_id: DEVELOPMENT_SERVICE_PRINCIPAL_OBJECT_ID.to_string(),
            client_id: Some(DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID.to_string()),
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            user_principal_name: None,
            display_name: "galleryd development service principal".to_string(),
            client_secret: Some(DEVELOPMENT_SERVICE_PRINCIPAL_SECRET.to_string()),
            resource_id: None,
        }
    }

    /// The well-known development managed identity.
    pub fn development_managed_identity() -> Self {
        Principal {
            kind: PrincipalKind::ManagedIdentity,
            object_id: DEVELOPMENT_MANAGED_IDENTITY_OBJECT_ID.to_string(),
            client_id: Some(DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID.to_string()),
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            user_principal_name: None,
            display_name: "galleryd development managed identity".to_string(),
            client_secret: None,
            resource_id: None,
        }
    }

    /// Whether this is one of the well-known development principals (user, service principal,
    /// managed identity): the implicit Owners of every subscription nobody is given a role on.
    pub fn is_development(&self) -> bool {
        [
            DEVELOPMENT_PRINCIPAL_OBJECT_ID,
            DEVELOPMENT_SERVICE_PRINCIPAL_OBJECT_ID,
            DEVELOPMENT_MANAGED_IDENTITY_OBJECT_ID,
        ]
        .iter()
        .any(|id| id.eq_ignore_ascii_case(&self.object_id))
    }

    /// Whether `name` names this principal: its object id, client id or user principal name
    /// (ignoring case).
    pub fn is_named(&self, name: &str) -> bool {
        self.object_id.eq_ignore_ascii_case(name)
            || self
                .client_id
                .as_deref()
                .is_some_and(|client_id| client_id.eq_ignore_ascii_case(name))
            || self
                .user_principal_name
                .as_deref()
                .is_some_and(|user| user.eq_ignore_ascii_case(name))
    }

    /// The caller this principal makes requests as.
    pub fn caller(&self) -> Caller {
        let display_name = match self.kind {
            PrincipalKind::User => self
                .user_principal_name
                .clone()
                .unwrap_or_else(|| self.object_id.clone()),
            _ => self
                .client_id
                .clone()
                .unwrap_or_else(|| self.object_id.clone()),
        };
        Caller {
            tenant_id: self.tenant_id.clone(),
            object_id: self.object_id.clone(),
            display_name,
            kind: self.kind,
        }
    }
}

/// A directory group: users, service principals and other groups (nested) as members. A role
/// assigned to a group applies to its members, transitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub object_id: String,
    #[serde(default)]
    pub display_name: String,
    pub tenant_id: String,
    /// Object ids of the members (principals or groups).
    #[serde(default)]
    pub members: Vec<String>,
}

/// A role assignment the configuration makes at start: `roleDefinitionId` (an id or GUID) or
/// `roleName` (a built-in role's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredRoleAssignment {
    pub scope: String,
    pub principal_id: String,
    #[serde(default)]
    pub role_definition_id: Option<String>,
    #[serde(default)]
    pub role_name: Option<String>,
}

impl ConfiguredRoleAssignment {
    /// The GUID of the built-in role this assignment names, if it names one.
    pub fn role(&self) -> Option<&'static str> {
        let roles = crate::authorization::roles::built_in_roles();
        let found = match (&self.role_definition_id, &self.role_name) {
            (Some(id), _) => {
                crate::authorization::roles::role_definition_guid(id).and_then(|guid| {
                    roles
                        .iter()
                        .find(|role| role.name.eq_ignore_ascii_case(guid))
                })
            }
            (None, Some(name)) => roles
                .iter()
                .find(|role| role.role_name.eq_ignore_ascii_case(name)),
            (None, None) => None,
        };
        found.map(|role| role.name.as_str())
    }
}

/// Every tenant, subscription and principal galleryd knows: the development ones first, then the
/// configured ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Who may do what from the start (a subscription named here has no implicit Owner).
    #[serde(default)]
    pub role_assignments: Vec<ConfiguredRoleAssignment>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            tenants: vec![Tenant::development()],
            subscriptions: vec![Subscription::development()],
            principals: vec![
                Principal::development_user(),
                Principal::development_service_principal(),
                Principal::development_managed_identity(),
            ],
            groups: Vec::new(),
            role_assignments: Vec::new(),
        }
    }
}

impl Directory {
    /// Adds configured entries after the development ones; a tenant that a subscription or
    /// principal names but no entry declares is added with an empty name.
    pub fn extend(&mut self, other: Directory) {
        self.tenants.extend(other.tenants);
        self.subscriptions.extend(other.subscriptions);
        self.principals.extend(other.principals);
        self.groups.extend(other.groups);
        self.role_assignments.extend(other.role_assignments);
        let named: Vec<String> = self
            .subscriptions
            .iter()
            .map(|subscription| subscription.tenant_id.clone())
            .chain(
                self.principals
                    .iter()
                    .map(|principal| principal.tenant_id.clone()),
            )
            .collect();
        for tenant_id in named {
            if self.tenant(&tenant_id).is_none() {
                self.tenants.push(Tenant {
                    tenant_id,
                    display_name: String::new(),
                });
            }
        }
    }

    /// A tenant by id (ignoring case).
    pub fn tenant(&self, tenant_id: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|tenant| tenant.tenant_id.eq_ignore_ascii_case(tenant_id))
    }

    /// The principal `name` names (object id, client id or user principal name).
    pub fn principal(&self, name: &str) -> Option<&Principal> {
        self.principals
            .iter()
            .find(|principal| principal.is_named(name))
    }

    /// A group by object id (ignoring case).
    pub fn group(&self, object_id: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|group| group.object_id.eq_ignore_ascii_case(object_id))
    }

    /// Whether `object_id` names a principal or a group.
    fn knows_object(&self, object_id: &str) -> bool {
        self.group(object_id).is_some()
            || self
                .principals
                .iter()
                .any(|principal| principal.object_id.eq_ignore_ascii_case(object_id))
    }

    /// The first principal of `kind`.
    pub fn first_of_kind(&self, kind: PrincipalKind) -> Option<&Principal> {
        self.principals
            .iter()
            .find(|principal| principal.kind == kind)
    }

    /// Checks the configured entries hang together: ids are GUIDs and unique, principals have
    /// what their kind needs.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for principal in &self.principals {
            for id in [Some(&principal.object_id), principal.client_id.as_ref()]
                .into_iter()
                .flatten()
            {
                if !is_guid(id) {
                    return Err(format!("principal id '{id}' is not a GUID"));
                }
                if !seen.insert(id.to_ascii_lowercase()) {
                    return Err(format!("principal id '{id}' is used twice"));
                }
            }
            match principal.kind {
                PrincipalKind::Application
                    if principal.client_id.is_none() || principal.client_secret.is_none() =>
                {
                    return Err(format!(
                        "service principal {} needs a clientId and a clientSecret",
                        principal.object_id
                    ));
                }
                PrincipalKind::ManagedIdentity if principal.client_id.is_none() => {
                    return Err(format!(
                        "managed identity {} needs a clientId",
                        principal.object_id
                    ));
                }
                _ => {}
            }
        }
        for id in self.tenants.iter().map(|tenant| &tenant.tenant_id).chain(
            self.subscriptions
                .iter()
                .map(|subscription| &subscription.subscription_id),
        ) {
            if !is_guid(id) {
                return Err(format!("'{id}' is not a GUID"));
            }
        }
        for group in &self.groups {
            if !is_guid(&group.object_id) {
                return Err(format!("group id '{}' is not a GUID", group.object_id));
            }
            if !seen.insert(group.object_id.to_ascii_lowercase()) {
                return Err(format!("group id '{}' is used twice", group.object_id));
            }
        }
        for group in &self.groups {
            if let Some(member) = group
                .members
                .iter()
                .find(|member| !self.knows_object(member))
            {
                return Err(format!(
                    "member '{member}' of group {} is no principal or group",
                    group.object_id
                ));
            }
        }
        for assignment in &self.role_assignments {
            if assignment.role().is_none() {
                return Err(format!(
                    "the role assignment of {} at '{}' names no built-in role (roleName or roleDefinitionId)",
                    assignment.principal_id, assignment.scope
                ));
            }
            if !self.knows_object(&assignment.principal_id) {
                return Err(format!(
                    "the role assignment at '{}' names '{}', which is no principal or group",
                    assignment.scope, assignment.principal_id
                ));
            }
            if !assignment.scope.starts_with('/') {
                return Err(format!(
                    "role assignment scope '{}' does not start with '/'",
                    assignment.scope
                ));
            }
        }
        let mut subscriptions = std::collections::HashSet::new();
        for subscription in &self.subscriptions {
            if !subscriptions.insert(subscription.subscription_id.to_ascii_lowercase()) {
                return Err(format!(
                    "subscription '{}' is configured twice",
                    subscription.subscription_id
                ));
            }
        }
        Ok(())
    }
}

/// Whether `value` is a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hexadecimal).
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

/// The principal a request is made by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    /// What `systemData.createdBy` shows: a user's name, an application's client id.
    pub display_name: String,
    pub kind: PrincipalKind,
}

impl Caller {
    /// The well-known development principal, used when a request carries no bearer token.
    pub fn development() -> Self {
        Principal::development_user().caller()
    }
}

/// ARM's read-only `systemData` on every resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    pub created_by: String,
    pub created_by_type: PrincipalKind,
    pub created_at: String,
    pub last_modified_by: String,
    pub last_modified_by_type: PrincipalKind,
    pub last_modified_at: String,
}

impl SystemData {
    /// `systemData` of a resource `caller` creates at `now`.
    pub fn created(caller: &Caller, now: &str) -> Self {
        SystemData {
            created_by: caller.display_name.clone(),
            created_by_type: caller.kind,
            created_at: now.to_string(),
            last_modified_by: caller.display_name.clone(),
            last_modified_by_type: caller.kind,
            last_modified_at: now.to_string(),
        }
    }

    /// The same `systemData` after `caller` modifies the resource at `now`.
    pub fn modified(&self, caller: &Caller, now: &str) -> Self {
        SystemData {
            last_modified_by: caller.display_name.clone(),
            last_modified_by_type: caller.kind,
            last_modified_at: now.to_string(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_principals_are_found_by_any_of_their_names() {
        let mut directory = Directory::default();
        let configured: Directory = serde_json::from_value(serde_json::json!({
            "subscriptions": [{"subscriptionId": "11111111-1111-1111-1111-111111111111", "tenantId": "22222222-2222-2222-2222-222222222222", "displayName": "Contoso"}],
            "principals": [
                {"kind": "ServicePrincipal", "objectId": "33333333-3333-3333-3333-333333333333", "clientId": "44444444-4444-4444-4444-444444444444", "tenantId": "22222222-2222-2222-2222-222222222222", "clientSecret": "s"},
                {"kind": "User", "objectId": "55555555-5555-5555-5555-555555555555", "userPrincipalName": "ann@contoso.com", "tenantId": "22222222-2222-2222-2222-222222222222"}
            ]
        }))
        .unwrap();
        directory.extend(configured);
        assert!(directory.validate().is_ok());
        assert!(
            directory
                .tenant("22222222-2222-2222-2222-222222222222")
                .is_some()
        );
        let application = directory
            .principal("44444444-4444-4444-4444-444444444444")
            .unwrap();
        assert_eq!(application.kind, PrincipalKind::Application);
        assert_eq!(
            application.caller().display_name,
            "44444444-4444-4444-4444-444444444444"
        );
        let user = directory.principal("ANN@contoso.com").unwrap();
        assert_eq!(user.caller().display_name, "ann@contoso.com");
        assert_eq!(
            directory
                .principal(DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID)
                .unwrap()
                .client_secret
                .as_deref(),
            Some(DEVELOPMENT_SERVICE_PRINCIPAL_SECRET)
        );
        assert_eq!(
            Caller::development().display_name,
            DEVELOPMENT_PRINCIPAL_NAME
        );
    }

    #[test]
    fn inconsistent_configuration_is_refused() {
        let mut directory = Directory::default();
        directory.principals.push(Principal {
            client_secret: None,
            ..Principal::development_service_principal()
        });
        assert!(
            directory.validate().is_err(),
            "duplicate ids and a missing secret"
        );
        let mut twice = Directory::default();
        twice.subscriptions.push(Subscription::development());
        assert!(twice.validate().is_err(), "a subscription configured twice");
        let mut groups = Directory::default();
        groups.groups.push(Group {
            object_id: "88888888-8888-4888-8888-888888888888".to_string(),
            display_name: "g".to_string(),
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            members: vec!["99999999-9999-4999-8999-999999999999".to_string()],
        });
        assert!(groups.validate().is_err(), "a member nobody knows");
        groups.groups[0].members = vec![DEVELOPMENT_PRINCIPAL_OBJECT_ID.to_string()];
        assert!(groups.validate().is_ok());
        groups.role_assignments.push(ConfiguredRoleAssignment {
            scope: "/subscriptions/x".to_string(),
            principal_id: "88888888-8888-4888-8888-888888888888".to_string(),
            role_definition_id: None,
            role_name: Some("Chief".to_string()),
        });
        assert!(groups.validate().is_err(), "a role nobody knows");
        groups.role_assignments[0].role_name = Some("compute gallery image reader".to_string());
        assert!(groups.validate().is_ok());
        let unknown: Result<Principal, _> = serde_json::from_value(
            serde_json::json!({"kind": "Robot", "objectId": "x", "tenantId": "t"}),
        );
        assert!(unknown.is_err());
    }
}
