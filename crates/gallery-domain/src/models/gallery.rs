//! Galleries (`Microsoft.Compute/galleries`): the container of image definitions.
//!
//! Rules: the name is unique within the subscription (the store enforces it; see
//! [`name_not_unique`]); the location never changes; `identifier.uniqueName` is
//! `{subscriptionId}-{NAME IN UPPER CASE}`; after creation only the description, tags, identity,
//! soft-delete policy and the sharing profile's writable members may change, and a gallery cannot be
//! turned into, or out of, a community gallery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, from_value_at,
    location_for_put, name_and_system_data, patched_properties, tags_for_patch, validate_tags,
};
use crate::tags::Tags;

crate::string_enum! {
    /// GallerySharingPermissionTypes.
    pub enum SharingPermission {
        Private = "Private",
        Groups = "Groups",
        Community = "Community",
    }
}

crate::string_enum! {
    /// SharingProfileGroupTypes.
    pub enum SharingGroupType {
        Subscriptions = "Subscriptions",
        AadTenants = "AADTenants",
    }
}

crate::string_enum! {
    /// ResourceIdentityType of a gallery's managed identity.
    pub enum IdentityType {
        SystemAssigned = "SystemAssigned",
        UserAssigned = "UserAssigned",
        SystemAndUserAssigned = "SystemAssigned, UserAssigned",
        None = "None",
    }
}

/// `identifier` of a gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryIdentifier {
    pub unique_name: String,
}

/// One group a gallery is shared with (read-only; changed through the `/share` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharingProfileGroup {
    #[serde(rename = "type")]
    pub group_type: SharingGroupType,
    pub ids: Vec<String>,
}

/// `sharingProfile.communityGalleryInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityGalleryInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_name_prefix: Option<String>,
    /// Read-only: true once `/share` `EnableCommunity` ran.
    #[serde(default)]
    pub community_gallery_enabled: bool,
    /// Read-only: the public names, once enabled.
    #[serde(default)]
    pub public_names: Vec<String>,
}

/// `sharingProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharingProfile {
    pub permissions: SharingPermission,
    /// Read-only; served only with `$expand=SharingProfile/Groups` or `$select=Permissions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SharingProfileGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_info: Option<CommunityGalleryInfo>,
}

/// `softDeletePolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftDeletePolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_soft_delete_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_period_in_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_in_days: Option<i32>,
}

/// `properties` of a gallery, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub identifier: GalleryIdentifier,
    pub provisioning_state: ProvisioningState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_profile: Option<SharingProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete_policy: Option<SoftDeletePolicy>,
}

/// A gallery as stored and served.
pub type Gallery = TrackedResource<GalleryProperties>;

// ----- request shapes -----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommunityGalleryInfoInput {
    publisher_uri: Option<String>,
    publisher_contact: Option<String>,
    eula: Option<String>,
    public_name_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SharingProfileInput {
    permissions: Option<String>,
    community_gallery_info: Option<CommunityGalleryInfoInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryPropertiesInput {
    description: Option<String>,
    sharing_profile: Option<SharingProfileInput>,
    soft_delete_policy: Option<SoftDeletePolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryIdentityInput {
    #[serde(rename = "type")]
    identity_type: Option<String>,
    user_assigned_identities: Option<BTreeMap<String, Value>>,
}

/// The body of a gallery PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
    #[serde(default)]
    identity: Option<Value>,
}

const TARGET: &str = "gallery.properties";

/// The `uniqueName` Azure gives a gallery.
pub fn unique_name(subscription_id: &str, gallery_name: &str) -> String {
    format!("{subscription_id}-{}", gallery_name.to_uppercase())
}

/// The error for a gallery name already taken in the subscription (by a gallery in another group).
pub fn name_not_unique(gallery_name: &str, subscription_id: &str) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!("The gallery name '{gallery_name}' is not unique within the subscription '{subscription_id}'. Please pick another gallery name."),
    )
    .with_target("galleryName")
}

fn community_info(
    input: Option<CommunityGalleryInfoInput>,
    existing: Option<&CommunityGalleryInfo>,
) -> Result<CommunityGalleryInfo, ServiceError> {
    let input = input.unwrap_or_default();
    let info = CommunityGalleryInfo {
        publisher_uri: input.publisher_uri,
        publisher_contact: input.publisher_contact,
        eula: input.eula,
        public_name_prefix: input.public_name_prefix,
        community_gallery_enabled: existing.is_some_and(|info| info.community_gallery_enabled),
        public_names: existing
            .map(|info| info.public_names.clone())
            .unwrap_or_default(),
    };
    for (value, member) in [
        (&info.publisher_uri, "publisherUri"),
        (&info.publisher_contact, "publisherContact"),
        (&info.eula, "eula"),
        (&info.public_name_prefix, "publicNamePrefix"),
    ] {
        if value.as_deref().is_none_or(|text| text.trim().is_empty()) {
            return Err(ServiceError::invalid_parameter(
                format!("{TARGET}.sharingProfile.communityGalleryInfo.{member}"),
                format!("A community gallery needs 'communityGalleryInfo.{member}'."),
            ));
        }
    }
    Ok(info)
}

fn sharing_profile(
    input: Option<SharingProfileInput>,
    existing: Option<&SharingProfile>,
    gallery_exists: bool,
) -> Result<Option<SharingProfile>, ServiceError> {
    let target = format!("{TARGET}.sharingProfile.permissions");
    let Some(input) = input else {
        // Sharing is changed through `/share`; a PUT without a sharing profile keeps the current one.
        return Ok(existing.cloned());
    };
    let permissions = match input.permissions.as_deref() {
        Some(value) => SharingPermission::parse(value, &target)?,
        None => existing
            .map(|profile| profile.permissions)
            .unwrap_or(SharingPermission::Private),
    };
    if gallery_exists {
        let was_community =
            existing.is_some_and(|profile| profile.permissions == SharingPermission::Community);
        if was_community != (permissions == SharingPermission::Community) {
            return Err(
                ServiceError::property_change_not_allowed(target).with_detail_message(
                    "An existing gallery cannot be converted to or from a community gallery.",
                ),
            );
        }
    }
    let community_gallery_info = if permissions == SharingPermission::Community {
        Some(community_info(
            input.community_gallery_info,
            existing.and_then(|profile| profile.community_gallery_info.as_ref()),
        )?)
    } else {
        None
    };
    Ok(Some(SharingProfile {
        permissions,
        groups: existing
            .map(|profile| profile.groups.clone())
            .unwrap_or_default(),
        community_gallery_info,
    }))
}

fn identity(
    input: Option<Value>,
    existing: Option<&Value>,
    context: &mut WriteContext<'_>,
) -> Result<Option<Value>, ServiceError> {
    let Some(input) = input.filter(|value| !value.is_null()) else {
        return Ok(existing.cloned());
    };
    let input: GalleryIdentityInput = from_value_at(input, "identity")?;
    let identity_type = match input.identity_type.as_deref() {
        Some(value) => IdentityType::parse(value, "identity.type")?,
        None => {
            return Err(ServiceError::invalid_parameter(
                "identity.type",
                "Required parameter 'identity.type' is missing (null).",
            ));
        }
    };
    let mut result = serde_json::Map::new();
    result.insert("type".into(), Value::String(identity_type.as_str().into()));
    if matches!(
        identity_type,
        IdentityType::SystemAssigned | IdentityType::SystemAndUserAssigned
    ) {
        let existing_principal = existing
            .and_then(|identity| identity.get("principalId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let principal_id = existing_principal.unwrap_or_else(|| (context.new_guid)());
        result.insert("principalId".into(), Value::String(principal_id));
        result.insert(
            "tenantId".into(),
            Value::String(context.subscription.tenant_id.clone()),
        );
    }
    if matches!(
        identity_type,
        IdentityType::UserAssigned | IdentityType::SystemAndUserAssigned
    ) {
        let requested = input.user_assigned_identities.unwrap_or_default();
        if requested.is_empty() {
            return Err(ServiceError::invalid_parameter(
                "identity.userAssignedIdentities",
                "The identity type includes 'UserAssigned' but no user assigned identities were given.",
            ));
        }
        let mut identities = serde_json::Map::new();
        for key in requested.keys() {
            let lower = key.to_lowercase();
            if !lower.starts_with("/subscriptions/")
                || !lower.contains("/providers/microsoft.managedidentity/userassignedidentities/")
            {
                return Err(ServiceError::invalid_parameter(
                    "identity.userAssignedIdentities",
                    format!(
                        "'{key}' is not the resource id of a user assigned identity (Microsoft.ManagedIdentity/userAssignedIdentities)."
                    ),
                ));
            }
            let known = existing
                .and_then(|identity| identity.get("userAssignedIdentities"))
                .and_then(|identities| identities.as_object())
                .and_then(|identities| {
                    identities
                        .iter()
                        .find(|(existing_key, _)| existing_key.eq_ignore_ascii_case(key))
                })
                .map(|(_, value)| value.clone());
            let value = known.unwrap_or_else(|| serde_json::json!({"principalId": (context.new_guid)(), "clientId": (context.new_guid)()}));
            identities.insert(key.clone(), value);
        }
        result.insert("userAssignedIdentities".into(), Value::Object(identities));
    }
    Ok(Some(Value::Object(result)))
}

fn decide(
    existing: Option<&Gallery>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    identity_input: Option<Value>,
    context: &mut WriteContext<'_>,
) -> Result<Gallery, ServiceError> {
    let input: GalleryPropertiesInput = if properties.is_null() {
        GalleryPropertiesInput::default()
    } else {
        from_value_at(properties, "properties")?
    };
    let existing_properties = existing.map(|gallery| &gallery.properties);
    let sharing_profile = sharing_profile(
        input.sharing_profile,
        existing_properties.and_then(|properties| properties.sharing_profile.as_ref()),
        existing.is_some(),
    )?;
    let soft_delete_policy = input.soft_delete_policy.or_else(|| {
        existing_properties.and_then(|properties| properties.soft_delete_policy.clone())
    });
    if let Some(policy) = &soft_delete_policy {
        for (days, member) in [
            (policy.retention_period_in_days, "retentionPeriodInDays"),
            (policy.grace_period_in_days, "gracePeriodInDays"),
        ] {
            if days.is_some_and(|days| !(1..=365).contains(&days)) {
                return Err(ServiceError::invalid_parameter(
                    format!("{TARGET}.softDeletePolicy.{member}"),
                    format!(
                        "The value {} of parameter '{member}' is out of range. The value must be between 1 and 365, inclusive.",
                        days.unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let identity = identity(
        identity_input,
        existing.and_then(|gallery| gallery.identity.as_ref()),
        context,
    )?;
    let identifier = match existing {
        Some(gallery) => gallery.properties.identifier.clone(),
        None => GalleryIdentifier {
            unique_name: unique_name(&context.subscription.subscription_id, context.name),
        },
    };
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(Gallery {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_TYPE.to_string(),
        location,
        tags,
        identity,
        properties: GalleryProperties {
            description: input.description,
            identifier,
            provisioning_state: ProvisioningState::Succeeded,
            sharing_profile,
            soft_delete_policy,
        },
        system_data,
    })
}

/// Decides a gallery PUT (create or replace).
pub fn put(
    existing: Option<&Gallery>,
    request: GalleryRequest,
    context: &mut WriteContext<'_>,
) -> Result<Gallery, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        ids::GALLERY_TYPE,
        context,
    )?;
    decide(
        existing,
        location,
        tags,
        request.properties.unwrap_or(Value::Null),
        request.identity,
        context,
    )
}

/// Decides a gallery PATCH: tags replace the set when given, properties merge.
pub fn patch(
    existing: &Gallery,
    request: PatchRequest,
    context: &mut WriteContext<'_>,
) -> Result<Gallery, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["identifier", "provisioningState", "sharingStatus"],
        request.properties.as_ref(),
    );
    let identity = request.identity.or_else(|| existing.identity.clone());
    decide(
        Some(existing),
        existing.location.clone(),
        tags,
        properties,
        identity,
        context,
    )
}

/// What a GET returns: without `$expand=SharingProfile/Groups` the sharing groups are left out;
/// with `$select=Permissions` only the sharing profile is left in `properties`.
pub fn view(gallery: &Gallery, expand_groups: bool, select_permissions: bool) -> Value {
    let mut document = serde_json::to_value(gallery).unwrap_or(Value::Null);
    let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    else {
        return document;
    };
    if select_permissions {
        properties.retain(|member, _| member == "sharingProfile");
        let profile = properties.entry("sharingProfile").or_insert_with(
            || serde_json::json!({"permissions": SharingPermission::Private.as_str()}),
        );
        if let Some(profile) = profile.as_object_mut() {
            profile.retain(|member, _| member == "permissions" || member == "groups");
            profile
                .entry("groups")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
        return document;
    }
    if let Some(profile) = properties
        .get_mut("sharingProfile")
        .and_then(Value::as_object_mut)
    {
        if expand_groups {
            profile
                .entry("groups")
                .or_insert_with(|| Value::Array(Vec::new()));
        } else {
            profile.remove("groups");
        }
    }
    document
}
