//! Gallery script definitions (`Microsoft.Compute/galleries/scripts`, api-version 2025-03-03): the
//! named line of scripts whose versions are published to regions.
//!
//! # Rules (every error names the property path as `target`)
//! - `supportedOSType` and `endOfLifeDate` follow [`super::artifact_definition`].
//! - After creation the description, EULA, privacy-statement and release-note URIs, end of life
//!   and tags may change ("This property is updatable" in the spec).

use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::ids;
use crate::models::TrackedResource;
use crate::models::artifact_definition::{self, ArtifactDefinitionKind, DecidedTerms};
use crate::models::common::{PatchRequest, ProvisioningState, WriteContext};
use crate::models::gallery_image::OperatingSystemType;

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
pub type GalleryScriptRequest = artifact_definition::DefinitionRequest;

/// Script definitions, as a published artifact kind.
struct Scripts;

impl ArtifactDefinitionKind for Scripts {
    type Properties = GalleryScriptProperties;
    type Input = GalleryScriptPropertiesInput;

    const RESOURCE_TYPE: &'static str = ids::GALLERY_SCRIPT_TYPE;
    const PROPERTIES_TARGET: &'static str = "galleryScript.properties";
    const READ_ONLY_PROPERTIES: &'static [&'static str] = &["provisioningState"];

    fn requested_terms(input: &GalleryScriptPropertiesInput) -> (Option<&str>, Option<&str>) {
        (
            input.supported_os_type.as_deref(),
            input.end_of_life_date.as_deref(),
        )
    }

    fn stored_terms(properties: &GalleryScriptProperties) -> (OperatingSystemType, Option<&str>) {
        (
            properties.supported_os_type,
            properties.end_of_life_date.as_deref(),
        )
    }

    fn properties(
        input: GalleryScriptPropertiesInput,
        terms: DecidedTerms,
    ) -> Result<GalleryScriptProperties, ServiceError> {
        Ok(GalleryScriptProperties {
            description: input.description,
            eula: input.eula,
            privacy_statement_uri: input.privacy_statement_uri,
            release_note_uri: input.release_note_uri,
            end_of_life_date: terms.end_of_life_date,
            supported_os_type: terms.supported_os_type,
            provisioning_state: ProvisioningState::Succeeded,
        })
    }
}

/// Decides a script definition PUT (create or replace), by the rules of [`artifact_definition`].
pub fn put(
    existing: Option<&GalleryScript>,
    request: GalleryScriptRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryScript, ServiceError> {
    artifact_definition::put::<Scripts>(existing, request, context)
}

/// Decides a script definition PATCH: tags replace the set when given, properties merge
/// (RFC 7396) over the stored ones, then the rules of [`put`] apply.
pub fn patch(
    existing: &GalleryScript,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryScript, ServiceError> {
    artifact_definition::patch::<Scripts>(existing, request, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::{Caller, Subscription};
    use serde_json::{Value, json};

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
