//! The request shapes of an application version: what a client may send (every member optional,
//! enums as free text, unknown and read-only members ignored), and where errors about them point.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{from_value_at, without_nulls};
use crate::models::custom_actions::CustomActionInput;
use crate::publishing::{ArtifactKind, PublishingProfileInput};
use crate::tags::Tags;

/// Application versions in the publishing core's terms (error targets, messages).
pub(crate) const KIND: ArtifactKind = ArtifactKind::APPLICATION_VERSION;

/// The error target of a property: `galleryApplicationVersion.properties.{member}`.
pub fn target(member: &str) -> String {
    KIND.target(member)
}

/// `publishingProfile.source` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserArtifactSourceInput {
    pub(crate) media_link: Option<String>,
    pub(crate) default_configuration_link: Option<String>,
}

/// `publishingProfile.manageActions` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserArtifactManageInput {
    pub(crate) install: Option<String>,
    pub(crate) remove: Option<String>,
    pub(crate) update: Option<String>,
}

/// `publishingProfile.settings` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserArtifactSettingsInput {
    pub(crate) package_file_name: Option<String>,
    pub(crate) config_file_name: Option<String>,
    pub(crate) script_behavior_after_reboot: Option<String>,
}

/// `publishingProfile` as requested: the application's own members and the shared ones.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationPublishingProfileInput {
    pub(crate) source: Option<UserArtifactSourceInput>,
    pub(crate) manage_actions: Option<UserArtifactManageInput>,
    pub(crate) settings: Option<UserArtifactSettingsInput>,
    pub(crate) advanced_settings: Option<BTreeMap<String, String>>,
    pub(crate) enable_health_check: Option<bool>,
    pub(crate) custom_actions: Option<Vec<CustomActionInput>>,
    #[serde(flatten)]
    pub(crate) shared: PublishingProfileInput,
}

/// `safetyProfile` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SafetyProfileInput {
    pub(crate) allow_deletion_of_replicated_locations: Option<bool>,
}

/// `properties` as requested.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GalleryApplicationVersionPropertiesInput {
    pub(crate) publishing_profile: Option<ApplicationPublishingProfileInput>,
    pub(crate) safety_profile: Option<SafetyProfileInput>,
}

/// The body of an application version PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryApplicationVersionRequest {
    #[serde(default)]
    pub(crate) location: Option<String>,
    #[serde(default)]
    pub(crate) tags: Option<Tags>,
    #[serde(default)]
    pub(crate) properties: Option<Value>,
}

/// Parses a request's `properties` (`null` members count as not given).
pub(crate) fn parse_properties(
    properties: Value,
) -> Result<GalleryApplicationVersionPropertiesInput, ServiceError> {
    match properties {
        Value::Null => Ok(GalleryApplicationVersionPropertiesInput::default()),
        value => from_value_at(without_nulls(value), "properties"),
    }
}
