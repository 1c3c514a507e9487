//! What the runner tells the engine about the deployment, and what it has read from the deployed world.
//!
//! The engine never reads a clock, draws a random number or performs I/O: the time `utcNow()` sees,
//! the seed `newGuid()` draws from, the subscription, resource group, tenant, deployment name and
//! location arrive in a [`DeploymentContext`]; values of deployed resources (`reference()`,
//! `list*()`) come from a [`DeployedState`] the runner fills as it reads them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The subscription a deployment runs in (`subscription()`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionInfo {
    pub subscription_id: String,
    pub display_name: String,
    pub tenant_id: String,
}

/// The resource group a deployment targets (`resourceGroup()`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGroupInfo {
    pub name: String,
    pub location: String,
    pub tags: Map<String, Value>,
    pub managed_by: Option<String>,
}

/// Everything about the deployment the engine cannot know by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentContext {
    pub tenant_id: String,
    /// Set for resource group and subscription deployments.
    pub subscription: Option<SubscriptionInfo>,
    /// Set for resource group deployments.
    pub resource_group: Option<ResourceGroupInfo>,
    /// The management group name, for management group deployments.
    pub management_group: Option<String>,
    /// The deployment's name (`deployment().name`).
    pub deployment_name: String,
    /// The deployment's `location` (subscription, management group and tenant deployments).
    pub location: Option<String>,
    /// The request's `templateLink` (`{uri}` or `{id}`, `relativePath`…), if the template was linked.
    pub template_link: Option<Value>,
    /// `Incremental` or `Complete` (`deployment().properties.mode`).
    pub mode: String,
    /// The time `utcNow()` returns.
    pub now: DateTime<Utc>,
    /// The seed `newGuid()` draws from: the same seed gives the same GUIDs. The runner passes a
    /// random value per deployment.
    pub guid_seed: u128,
}

/// The scope a deployment runs at, from the endpoint (and the template's `$schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentScope {
    ResourceGroup,
    Subscription,
    ManagementGroup,
    Tenant,
}

impl DeploymentScope {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentScope::ResourceGroup => "resourceGroup",
            DeploymentScope::Subscription => "subscription",
            DeploymentScope::ManagementGroup => "managementGroup",
            DeploymentScope::Tenant => "tenant",
        }
    }
}

impl DeploymentContext {
    /// A resource group deployment context with galleryd's defaults for the rest.
    pub fn resource_group(
        subscription_id: &str,
        resource_group: &str,
        location: &str,
        deployment_name: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string();
        DeploymentContext {
            tenant_id: tenant_id.clone(),
            subscription: Some(SubscriptionInfo {
                subscription_id: subscription_id.to_string(),
                display_name: "galleryd".to_string(),
                tenant_id,
            }),
            resource_group: Some(ResourceGroupInfo {
                name: resource_group.to_string(),
                location: location.to_string(),
                tags: Map::new(),
                managed_by: None,
            }),
            management_group: None,
            deployment_name: deployment_name.to_string(),
            location: None,
            template_link: None,
            mode: "Incremental".to_string(),
            now,
            guid_seed: 0,
        }
    }

    /// The scope the context describes.
    pub fn scope(&self) -> DeploymentScope {
        if self.resource_group.is_some() {
            DeploymentScope::ResourceGroup
        } else if self.subscription.is_some() {
            DeploymentScope::Subscription
        } else if self.management_group.is_some() {
            DeploymentScope::ManagementGroup
        } else {
            DeploymentScope::Tenant
        }
    }

    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription
            .as_ref()
            .map(|subscription| subscription.subscription_id.as_str())
    }

    pub fn resource_group_name(&self) -> Option<&str> {
        self.resource_group
            .as_ref()
            .map(|group| group.name.as_str())
    }

    /// The id of the scope itself (`/subscriptions/s/resourceGroups/rg`, `/subscriptions/s`, …).
    pub fn scope_id(&self) -> String {
        match (
            self.subscription_id(),
            self.resource_group_name(),
            &self.management_group,
        ) {
            (Some(subscription), Some(group), _) => {
                format!("/subscriptions/{subscription}/resourceGroups/{group}")
            }
            (Some(subscription), None, _) => format!("/subscriptions/{subscription}"),
            (None, _, Some(group)) => {
                format!("/providers/Microsoft.Management/managementGroups/{group}")
            }
            _ => String::new(),
        }
    }

    /// `resourceGroup()`.
    pub fn resource_group_value(&self) -> Option<Value> {
        let subscription = self.subscription_id()?;
        let group = self.resource_group.as_ref()?;
        let mut value = json!({
            "id": format!("/subscriptions/{subscription}/resourceGroups/{}", group.name),
            "name": group.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group.location,
            "tags": group.tags,
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(managed_by) = &group.managed_by {
            value["managedBy"] = json!(managed_by);
        }
        Some(value)
    }

    /// `subscription()`.
    pub fn subscription_value(&self) -> Option<Value> {
        let subscription = self.subscription.as_ref()?;
        Some(json!({
            "id": format!("/subscriptions/{}", subscription.subscription_id),
            "subscriptionId": subscription.subscription_id,
            "tenantId": subscription.tenant_id,
            "displayName": subscription.display_name,
        }))
    }
}

/// What the runner has read from deployed resources, answering `reference()` and `list*()`.
pub trait DeployedState {
    /// The resource as a GET returned it (the whole ARM object: `id`, `name`, `properties`, …), or
    /// `None` when the runner has not read it yet (evaluation then asks for it).
    fn resource(&self, resource_id: &str) -> Option<&Value>;
    /// The response of the POST `{resource_id}/{action}` (`listKeys`, …), or `None` if not called yet.
    fn list_result(&self, resource_id: &str, action: &str) -> Option<&Value>;
}

/// A [`DeployedState`] in memory, keyed by resource id ignoring case.
#[derive(Debug, Clone, Default)]
pub struct DeployedResources {
    resources: HashMap<String, Value>,
    list_results: HashMap<(String, String), Value>,
}

impl DeployedResources {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a resource's GET body.
    pub fn insert_resource(&mut self, resource_id: &str, body: Value) {
        self.resources
            .insert(resource_id.to_ascii_lowercase(), body);
    }

    /// Records a `list*` action's response.
    pub fn insert_list_result(&mut self, resource_id: &str, action: &str, body: Value) {
        self.list_results.insert(
            (
                resource_id.to_ascii_lowercase(),
                action.to_ascii_lowercase(),
            ),
            body,
        );
    }
}

impl DeployedState for DeployedResources {
    fn resource(&self, resource_id: &str) -> Option<&Value> {
        self.resources.get(&resource_id.to_ascii_lowercase())
    }

    fn list_result(&self, resource_id: &str, action: &str) -> Option<&Value> {
        self.list_results.get(&(
            resource_id.to_ascii_lowercase(),
            action.to_ascii_lowercase(),
        ))
    }
}

/// A state that knows nothing (preflight: every runtime value is pending).
pub struct NothingDeployed;

impl DeployedState for NothingDeployed {
    fn resource(&self, _resource_id: &str) -> Option<&Value> {
        None
    }

    fn list_result(&self, _resource_id: &str, _action: &str) -> Option<&Value> {
        None
    }
}
