//! VM application definitions (`Microsoft.Compute/galleries/applications`): the named line of
//! application packages whose versions are published to regions.
//!
//! # Rules (every error names the property path as `target`)
//! - `supportedOSType` and `endOfLifeDate` follow [`super::artifact_definition`].
//! - `customActions` follow [`super::custom_actions`].
//! - After creation the description, EULA, privacy-statement and release-note URIs, end of life,
//!   custom actions and tags may change ("This property is updatable" in the spec).
//!
//! # Choices where Azure's sources are silent
//! - The spec's `GalleryApplicationProperties` has no `provisioningState`, and its examples serve
//!   none, so galleryd serves none either (the row still records `Succeeded`).

use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::ids;
use crate::models::TrackedResource;
use crate::models::artifact_definition::{self, ArtifactDefinitionKind, DecidedTerms};
use crate::models::common::{PatchRequest, WriteContext};
use crate::models::custom_actions::{self, CustomAction, CustomActionInput};
use crate::models::gallery_image::OperatingSystemType;

/// `properties` of an application definition, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryApplicationProperties {
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_actions: Option<Vec<CustomAction>>,
}

/// An application definition as stored and served.
pub type GalleryApplication = TrackedResource<GalleryApplicationProperties>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryApplicationPropertiesInput {
    description: Option<String>,
    eula: Option<String>,
    privacy_statement_uri: Option<String>,
    release_note_uri: Option<String>,
    end_of_life_date: Option<String>,
    #[serde(rename = "supportedOSType")]
    supported_os_type: Option<String>,
    custom_actions: Option<Vec<CustomActionInput>>,
}

/// The body of an application definition PUT.
pub type GalleryApplicationRequest = artifact_definition::DefinitionRequest;

/// Application definitions, as a published artifact kind.
struct Applications;

impl ArtifactDefinitionKind for Applications {
    type Properties = GalleryApplicationProperties;
    type Input = GalleryApplicationPropertiesInput;

    const RESOURCE_TYPE: &'static str = ids::GALLERY_APPLICATION_TYPE;
    const PROPERTIES_TARGET: &'static str = "galleryApplication.properties";
    const READ_ONLY_PROPERTIES: &'static [&'static str] = &[];

    fn requested_terms(input: &GalleryApplicationPropertiesInput) -> (Option<&str>, Option<&str>) {
        (
            input.supported_os_type.as_deref(),
            input.end_of_life_date.as_deref(),
        )
    }

    fn stored_terms(
        properties: &GalleryApplicationProperties,
    ) -> (OperatingSystemType, Option<&str>) {
        (
            properties.supported_os_type,
            properties.end_of_life_date.as_deref(),
        )
    }

    fn properties(
        input: GalleryApplicationPropertiesInput,
        terms: DecidedTerms,
    ) -> Result<GalleryApplicationProperties, ServiceError> {
        let custom_actions = custom_actions::parse(
            input.custom_actions,
            &artifact_definition::target::<Self>("customActions"),
        )?;
        Ok(GalleryApplicationProperties {
            description: input.description,
            eula: input.eula,
            privacy_statement_uri: input.privacy_statement_uri,
            release_note_uri: input.release_note_uri,
            end_of_life_date: terms.end_of_life_date,
            supported_os_type: terms.supported_os_type,
            custom_actions,
        })
    }
}

/// Decides an application definition PUT (create or replace), by the rules of
/// [`artifact_definition`].
pub fn put(
    existing: Option<&GalleryApplication>,
    request: GalleryApplicationRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryApplication, ServiceError> {
    artifact_definition::put::<Applications>(existing, request, context)
}

/// Decides an application definition PATCH: tags replace the set when given, properties merge
/// (RFC 7396) over the stored ones, then the rules of [`put`] apply.
pub fn patch(
    existing: &GalleryApplication,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryApplication, ServiceError> {
    artifact_definition::patch::<Applications>(existing, request, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::api_version::AcceptedApiVersion;
    use crate::identity::{Caller, Subscription};
    use serde_json::{Value, json};

    fn decide_put(
        existing: Option<&GalleryApplication>,
        body: Value,
    ) -> Result<GalleryApplication, ServiceError> {
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
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/applications/app",
            name: "app",
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
        assert_eq!(created.resource_type, ids::GALLERY_APPLICATION_TYPE);
        let missing = decide_put(
            None,
            json!({"location": "westus", "properties": {"description": "d"}}),
        )
        .unwrap_err();
        assert_eq!(
            missing.target.as_deref(),
            Some("galleryApplication.properties.supportedOSType")
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
            Some("galleryApplication.properties.endOfLifeDate")
        );
    }
}
