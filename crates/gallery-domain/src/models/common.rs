//! What every tracked resource shares: the ARM envelope, provisioning states, body parsing,
//! locations, tags and the name and `systemData` a decision gives it.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::api_version::AcceptedApiVersion;
use crate::identity::{Caller, Subscription, SystemData};
use crate::regions::{self, Region};
use crate::tags::{self, Tags};

crate::string_enum! {
    /// GalleryProvisioningState.
    pub enum ProvisioningState {
        Creating = "Creating",
        Updating = "Updating",
        Failed = "Failed",
        Succeeded = "Succeeded",
        Deleting = "Deleting",
        Migrating = "Migrating",
    }
}

/// The ARM envelope of a tracked resource, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedResource<P> {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Managed identity (galleries only); already validated and filled in by the resource's module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    pub properties: P,
    pub system_data: SystemData,
}

/// What a decision needs to know besides the request: where the resource lives, who asks, and when.
pub struct WriteContext<'a> {
    pub subscription: &'a Subscription,
    /// The resource group's name in its stored casing.
    pub resource_group: &'a str,
    /// The canonical id the resource has (or will have).
    pub id: &'a str,
    /// The resource's name as the request path spells it (used when creating).
    pub name: &'a str,
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    pub api_version: &'a AcceptedApiVersion,
    /// Makes fresh GUIDs (principal ids of managed identities and alike).
    pub new_guid: &'a mut dyn FnMut() -> String,
}

impl WriteContext<'_> {
    /// `now` formatted for `systemData`.
    pub fn timestamp(&self) -> String {
        crate::time::format(self.now)
    }
}

fn deserialization_error(
    error: serde_path_to_error::Error<serde_json::Error>,
    prefix: &str,
) -> ServiceError {
    let path = match (prefix, error.path().to_string()) {
        ("", path) => path,
        (prefix, path) if path == "." => prefix.to_string(),
        (prefix, path) => format!("{prefix}.{path}"),
    };
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() || path == "." || path.is_empty() {
        return ServiceError::invalid_request_content(inner);
    }
    let message = inner.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    ServiceError::invalid_request_content(format!("{message}. Path '{path}'")).with_target(path)
}

/// Parses a request body. An empty body, malformed JSON or a value of the wrong JSON type is a 400
/// `InvalidRequestContent` (with the property path as target when one is known).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ServiceError::invalid_request_content(
            "The request content was empty",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| deserialization_error(error, ""))?;
    deserializer
        .end()
        .map_err(ServiceError::invalid_request_content)?;
    Ok(value)
}

/// Reads a typed value out of an already parsed JSON document (used after a merge-patch).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ServiceError> {
    from_value_at(value, "")
}

/// Like [`from_value`] for a member of the request body: error paths start with `prefix`
/// (`properties.description`).
pub fn from_value_at<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(value).map_err(|error| deserialization_error(error, prefix))
}

/// Resolves the `location` of a create request against the region catalog and the subscription's
/// access to restricted regions.
pub fn resolve_location(
    requested: Option<&str>,
    resource_type: &str,
    subscription: &Subscription,
) -> Result<&'static Region, ServiceError> {
    let requested = requested
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(ServiceError::location_required)?;
    let available = || -> Vec<&'static str> {
        regions::REGIONS
            .iter()
            .filter(|region| !region.restricted || subscription.may_use_region(region))
            .map(|region| region.display_name)
            .collect()
    };
    match regions::find(requested) {
        Some(region) if !region.restricted || subscription.may_use_region(region) => Ok(region),
        _ => Err(ServiceError::location_not_available(
            requested,
            resource_type,
            &available(),
        )),
    }
}

/// A PUT on an existing resource may not move it: the location must name the region it lives in.
pub fn check_location_unchanged(
    existing_location: &str,
    requested: Option<&str>,
    name: &str,
    resource_group: &str,
) -> Result<(), ServiceError> {
    let Some(requested) = requested.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(());
    };
    match regions::find(requested) {
        Some(region) if region.name == existing_location => Ok(()),
        _ => Err(ServiceError::invalid_resource_location(
            name,
            existing_location,
            resource_group,
            requested,
        )),
    }
}

/// The location of a resource being PUT: a new resource's requested region (resolved against the
/// catalog), or the region an existing one lives in (which the request may not change).
pub fn location_for_put<P>(
    existing: Option<&TrackedResource<P>>,
    requested: Option<&str>,
    resource_type: &str,
    context: &WriteContext<'_>,
) -> Result<String, ServiceError> {
    match existing {
        Some(resource) => {
            check_location_unchanged(
                &resource.location,
                requested,
                &resource.name,
                context.resource_group,
            )?;
            Ok(resource.location.clone())
        }
        None => Ok(
            resolve_location(requested, resource_type, context.subscription)?
                .name
                .to_string(),
        ),
    }
}

/// The name and `systemData` of a decided resource: an existing one keeps its name and is marked
/// modified by the caller; a new one takes the name the request path spells and is marked created.
pub fn name_and_system_data<P>(
    existing: Option<&TrackedResource<P>>,
    context: &WriteContext<'_>,
) -> (String, SystemData) {
    let timestamp = context.timestamp();
    match existing {
        Some(resource) => (
            resource.name.clone(),
            resource.system_data.modified(context.caller, &timestamp),
        ),
        None => (
            context.name.to_string(),
            SystemData::created(context.caller, &timestamp),
        ),
    }
}

/// The tags after a PATCH: the PATCH's tags replace the whole set when given.
pub fn tags_for_patch<P>(
    existing: &TrackedResource<P>,
    requested: Option<Tags>,
) -> Result<Option<Tags>, ServiceError> {
    match requested {
        Some(tags) => validate_tags(Some(tags)),
        None => Ok(existing.tags.clone()),
    }
}

/// Validates tags and turns an empty set into "no tags" only if the client sent none at all.
pub fn validate_tags(requested: Option<Tags>) -> Result<Option<Tags>, ServiceError> {
    if let Some(tags) = &requested {
        tags::validate(tags)?;
    }
    Ok(requested)
}

/// A string member that was really given (not empty or blank).
pub fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// A number outside its range: 400 `InvalidParameter` naming the range.
pub fn out_of_range(value: i64, target: &str, min: i64, max: i64) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        format!(
            "The value {value} of parameter '{target}' is out of range. The value must be between {min} and \
             {max}, inclusive."
        ),
    )
}

/// ARM's rule for parents: a resource with nested resources cannot be deleted before them (409
/// `CannotDeleteResource`). The store reports whether children exist; the parent foreign key is
/// the safety net under a child created meanwhile.
pub fn check_no_nested_resources(has_children: bool) -> Result<(), ServiceError> {
    if has_children {
        return Err(ServiceError::cannot_delete_with_children());
    }
    Ok(())
}

/// A required property that was not sent: 400 `InvalidParameter`.
pub fn missing_property(target: &str) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        format!("Required parameter '{target}' is missing (null)."),
    )
}

/// Compares an immutable enum property on update: absent means unchanged.
pub fn check_unchanged<T: PartialEq + Copy>(
    existing: T,
    requested: Option<T>,
    target: &str,
) -> Result<T, ServiceError> {
    match requested {
        Some(value) if value != existing => Err(ServiceError::property_change_not_allowed(target)),
        _ => Ok(existing),
    }
}

/// Removes `null` members from an object, recursively: a PUT's `null` means "not given".
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(_, member)| !member.is_null())
                .map(|(key, member)| (key, without_nulls(member)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// The request view of a stored document's properties for a PATCH: the stored properties with the
/// read-only members removed, then the PATCH's `properties` merged in (RFC 7396).
pub fn patched_properties(
    stored: &impl Serialize,
    read_only: &[&str],
    patch: Option<&Value>,
) -> Value {
    let mut properties = serde_json::to_value(stored).unwrap_or(Value::Null);
    if let Value::Object(members) = &mut properties {
        for member in read_only {
            members.remove(*member);
        }
    }
    if let Some(patch) = patch {
        crate::merge_patch::apply(&mut properties, patch);
    }
    properties
}

/// Sets `properties.provisioningState` of a stored or served document (in progress while a write
/// is being answered, or settled when background work ends).
pub fn set_provisioning_state(document: &mut Value, state: ProvisioningState) {
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "provisioningState".into(),
            Value::String(state.as_str().into()),
        );
    }
}

/// The envelope members of a PATCH body: tags (replace the whole set when present) and properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchRequest {
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: Option<Value>,
    #[serde(default)]
    pub identity: Option<Value>,
}

/// Validates a date-time property and checks it lies in the future ("EndOfLifeDate must be set to a
/// future date."). Returns the canonical form.
pub fn future_date(value: &str, target: &str, now: DateTime<Utc>) -> Result<String, ServiceError> {
    let instant = crate::time::parse_date_time(value, target)?;
    if instant <= now {
        return Err(ServiceError::invalid_parameter(
            target,
            "EndOfLifeDate must be set to a future date.",
        ));
    }
    Ok(crate::time::format_date_time(instant))
}
