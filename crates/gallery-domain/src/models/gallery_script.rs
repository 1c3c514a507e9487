//! Gallery script definitions (`Microsoft.Compute/galleries/scripts`, api-version 2025-03-03): the
//! named line of scripts whose versions are published to regions.
//!
//! # Rules (every error names the property path as `target`)
//! - `supportedOSType` is required (`Windows` or `Linux`) and never changes after creation (409
//!   `PropertyChangeNotAllowed`).
//! - `endOfLifeDate` must lie in the future when set or changed.
//! - After creation the description, EULA, privacy-statement and release-note URIs, end of life
//!   and tags may change ("This property is updatable" in the spec).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, check_unchanged, from_value_at,
    future_date, location_for_put, missing_property, name_and_system_data, patched_properties,
    tags_for_patch, validate_tags, without_nulls,
};
use crate::models::gallery_image::OperatingSystemType;
use crate::tags::Tags;

/// `properties` of a script definition, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryScriptProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_statement_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_note_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    #[serde(rename = "supportedOSType")]
    pub supported_os_type: OperatingSystemType,
    pub provisioning_state: ProvisioningState,
}

/// A script definition as stored and served.
pub type GalleryScript = TrackedResource<GalleryScriptProperties>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryScriptPropertiesInput {
    description: Option<String>,
    eula: Option<String>,
    privacy_statement_uri: Option<String>,
    release_note_uri: Option<String>,
    end_of_life_date: Option<String>,
    #[serde(rename = "supportedOSType")]
    supported_os_type: Option<String>,
}

/// The body of a script definition PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryScriptRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

fn target(member: &str) -> String {
    format!("galleryScript.properties.{member}")
}

fn decide(
    existing: Option<&GalleryScript>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
) -> Result<GalleryScript, ServiceError> {
    let input: GalleryScriptPropertiesInput = match properties {
        Value::Null => return Err(missing_property("galleryScript.properties")),
        value => from_value_at(without_nulls(value), "properties")?,
    };
    let os_target = target("supportedOSType");
    let requested_os = input
        .supported_os_type
        .as_deref()
        .map(|value| OperatingSystemType::parse(value, &os_target))
        .transpose()?;
    let supported_os_type = match existing {
        None => requested_os.ok_or_else(|| missing_property(&os_target))?,
        Some(stored) => check_unchanged(
            stored.properties.supported_os_type,
            requested_os,
            &os_target,
        )?,
    };
    let end_of_life_date = match input.end_of_life_date.as_deref() {
        None => None,
        Some(value) => {
            let end_target = target("endOfLifeDate");
            let canonical =
                crate::time::format_date_time(crate::time::parse_date_time(value, &end_target)?);
            let unchanged = existing
                .and_then(|stored| stored.properties.end_of_life_date.as_ref())
                .is_some_and(|stored| *stored == canonical);
            if unchanged {
                Some(canonical)
            } else {
                Some(future_date(value, &end_target, context.now)?)
            }
        }
    };
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(GalleryScript {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_SCRIPT_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties: GalleryScriptProperties {
            description: input.description,
            eula: input.eula,
            privacy_statement_uri: input.privacy_statement_uri,
            release_note_uri: input.release_note_uri,
            end_of_life_date,
            supported_os_type,
            provisioning_state: ProvisioningState::Succeeded,
        },
        system_data,
    })
}

/// Decides a script definition PUT (create or replace).
pub fn put(
    existing: Option<&GalleryScript>,
    request: GalleryScriptRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryScript, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        ids::GALLERY_SCRIPT_TYPE,
        context,
    )?;
    decide(
        existing,
        location,
        tags,
        request.properties.unwrap_or(Value::Null),
        context,
    )
}

/// Decides a script definition PATCH: tags replace the set when given, properties merge
/// (RFC 7396) over the stored ones, then the rules of [`put`] apply.
pub fn patch(
    existing: &GalleryScript,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryScript, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["provisioningState"],
        request.properties.as_ref(),
    );
    decide(
        Some(existing),
        existing.location.clone(),
        tags,
        properties,
        context,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::{Caller, Subscription};
    use serde_json::json;

    fn decide_put(
        existing: Option<&GalleryScript>,
        body: Value,
    ) -> Result<GalleryScript, ServiceError> {
        let subscription = Subscription::development();
        let caller = Caller::development();
        let api_version = AcceptedApiVersion {
            requested: "2025-03-03".to_string(),
            warning: None,
        };
        let mut guid = || "guid".to_string();
        let context = WriteContext {
            subscription: &subscription,
            resource_group: "rg",
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/scripts/script",
            name: "script",
            caller: &caller,
            now: chrono::Utc::now(),
            api_version: &api_version,
            new_guid: &mut guid,
        };
        put(existing, serde_json::from_value(body).unwrap(), &context)
    }

    #[test]
    fn supported_os_type_is_required_and_immutable() {
        let created = decide_put(
            None,
            json!({"location": "westus", "properties": {"supportedOSType": "linux", "description": "d"}}),
        )
        .unwrap();
        assert_eq!(
            created.properties.supported_os_type,
            OperatingSystemType::Linux
        );
        assert_eq!(created.resource_type, ids::GALLERY_SCRIPT_TYPE);
        let missing = decide_put(
            None,
            json!({"location": "westus", "properties": {"description": "d"}}),
        )
        .unwrap_err();
        assert_eq!(
            missing.target.as_deref(),
            Some("galleryScript.properties.supportedOSType")
        );
        let changed = decide_put(
            Some(&created),
            json!({"location": "westus", "properties": {"supportedOSType": "Windows"}}),
        )
        .unwrap_err();
        assert_eq!(changed.code, ErrorCode::PropertyChangeNotAllowed);
        let kept = decide_put(
            Some(&created),
            json!({"properties": {"description": "new", "endOfLifeDate": "2099-01-01"}}),
        )
        .unwrap();
        assert_eq!(kept.properties.description.as_deref(), Some("new"));
        assert_eq!(
            kept.properties.end_of_life_date.as_deref(),
            Some("2099-01-01T00:00:00+00:00")
        );
        let past = decide_put(
            None,
            json!({"location": "westus", "properties": {"supportedOSType": "Linux", "endOfLifeDate": "2001-01-01"}}),
        )
        .unwrap_err();
        assert_eq!(
            past.target.as_deref(),
            Some("galleryScript.properties.endOfLifeDate")
        );
    }
}
