//! Tenants, subscriptions and principals, and how a caller becomes `systemData`.
//!
//! galleryd works with zero setup: a well-known development tenant and subscription exist, and a
//! well-known development principal (Owner of that subscription) is the caller whenever a request
//! carries no bearer token. These GUIDs are part of galleryd's public contract (the README documents
//! them), like Azurite's well-known account key. More subscriptions come from configuration.

use serde::{Deserialize, Serialize};

/// The well-known development tenant.
pub const DEVELOPMENT_TENANT_ID: &str = "6a11e2d0-0000-4000-8000-000000000001";
/// The well-known development subscription (in the development tenant).
pub const DEVELOPMENT_SUBSCRIPTION_ID: &str = "6a11e2d0-0000-4000-8000-000000000002";
/// Object id of the well-known development principal.
pub const DEVELOPMENT_PRINCIPAL_OBJECT_ID: &str = "6a11e2d0-0000-4000-8000-000000000003";
/// Application (client) id of the well-known development principal.
pub const DEVELOPMENT_PRINCIPAL_CLIENT_ID: &str = "6a11e2d0-0000-4000-8000-000000000004";
/// Display name of the well-known development principal.
pub const DEVELOPMENT_PRINCIPAL_NAME: &str = "developer@galleryd.local";

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
        Caller {
            tenant_id: DEVELOPMENT_TENANT_ID.to_string(),
            object_id: DEVELOPMENT_PRINCIPAL_OBJECT_ID.to_string(),
            display_name: DEVELOPMENT_PRINCIPAL_NAME.to_string(),
            kind: PrincipalKind::User,
        }
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
