//! Resource groups (`Microsoft.Resources/resourceGroups`): ARM's container every gallery lives in.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;
use crate::ServiceError;
use crate::identity::Subscription;
use crate::ids;
use crate::models::common::{PatchRequest, validate_tags};
use crate::regions;
use crate::tags::Tags;

crate::string_enum! {
    /// A resource group is `Succeeded` or, while its contents are removed, `Deleting`.
    pub enum ResourceGroupState {
        Succeeded = "Succeeded",
        Deleting = "Deleting",
    }
}

/// `properties` of a resource group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupProperties {
    pub provisioning_state: ResourceGroupState,
}

/// A resource group as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    pub properties: ResourceGroupProperties,
}

/// The body of a resource group PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupRequest {
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub managed_by: Option<String>,
}

fn resolve_group_location(
    requested: Option<&str>,
    subscription: &Subscription,
) -> Result<&'static regions::Region, ServiceError> {
    let requested = requested
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(ServiceError::location_required)?;
    match regions::find(requested) {
        Some(region) if subscription.may_use_region(region) => Ok(region),
        _ => {
            let available: Vec<&str> = regions::REGIONS
                .iter()
                .filter(|region| subscription.may_use_region(region))
                .map(|region| region.name)
                .collect();
            Err(ServiceError::new(
                400,
                ErrorCode::LocationNotAvailableForResourceGroup,
                format!(
                    "The provided location '{requested}' is not available for resource group. List of available regions is '{}'.",
                    available.join(",")
                ),
            )
            .with_target("location"))
        }
    }
}

/// Decides a resource group PUT. `existing` is the stored group, if any; `name` is the path's name.
pub fn put(
    existing: Option<&ResourceGroup>,
    request: ResourceGroupRequest,
    subscription: &Subscription,
    name: &str,
) -> Result<ResourceGroup, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let region = resolve_group_location(request.location.as_deref(), subscription)?;
    match existing {
        Some(existing) => {
            if existing.location != region.name {
                return Err(ServiceError::new(
                    409,
                    ErrorCode::InvalidResourceGroupLocation,
                    format!(
                        "Invalid resource group location '{}'. The Resource group already exists in location '{}'.",
                        region.name, existing.location
                    ),
                )
                .with_target("location"));
            }
            Ok(ResourceGroup {
                tags,
                managed_by: request.managed_by,
                ..existing.clone()
            })
        }
        None => Ok(ResourceGroup {
            id: ids::resource_group_id(&subscription.subscription_id, name),
            name: name.to_string(),
            resource_type: ids::RESOURCE_GROUP_TYPE.to_string(),
            location: region.name.to_string(),
            managed_by: request.managed_by,
            tags,
            properties: ResourceGroupProperties {
                provisioning_state: ResourceGroupState::Succeeded,
            },
        }),
    }
}

/// The body of a resource group PATCH: tags replace the set, `managedBy` replaces when given.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupPatch {
    #[serde(flatten)]
    pub envelope: PatchRequest,
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// Decides a resource group PATCH.
pub fn patch(
    existing: &ResourceGroup,
    request: ResourceGroupPatch,
) -> Result<ResourceGroup, ServiceError> {
    let mut updated = existing.clone();
    if let Some(tags) = request.envelope.tags {
        updated.tags = validate_tags(Some(tags))?;
    }
    if let Some(managed_by) = request.managed_by {
        updated.managed_by = Some(managed_by);
    }
    Ok(updated)
}
