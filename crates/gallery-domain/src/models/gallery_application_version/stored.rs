//! The stored shapes of an application version, as stored and served: its publishing profile is
//! its own members (package source, manage actions, settings, …) with the publishing core's shared
//! members flattened in, so the workers read it as any published version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::models::common::{ProvisioningState, TrackedResource};
use crate::models::custom_actions::CustomAction;
use crate::publishing::PublishingProfile;

crate::string_enum! {
    /// GalleryApplicationScriptRebootBehavior.
    pub enum ScriptBehaviorAfterReboot { None = "None", Rerun = "Rerun" }
}

/// `publishingProfile.source` (UserArtifactSource): where the package (and its default
/// configuration) was read from when the version was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserArtifactSource {
    pub media_link: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_configuration_link: Option<String>,
}

/// `publishingProfile.manageActions` (UserArtifactManage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserArtifactManage {
    pub install: String,
    pub remove: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
}

/// `publishingProfile.settings` (UserArtifactSettings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserArtifactSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_behavior_after_reboot: Option<ScriptBehaviorAfterReboot>,
}

/// `publishingProfile` of an application version, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPublishingProfile {
    pub source: UserArtifactSource,
    pub manage_actions: UserArtifactManage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<UserArtifactSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_settings: Option<BTreeMap<String, String>>,
    /// Served always (`false` unless set), as the spec's examples show it.
    pub enable_health_check: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_actions: Option<Vec<CustomAction>>,
    /// The members every published artifact shares.
    #[serde(flatten)]
    pub shared: PublishingProfile,
}

/// `safetyProfile` of an application version (GalleryArtifactSafetyProfileBase).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSafetyProfile {
    pub allow_deletion_of_replicated_locations: bool,
}

/// `properties` of an application version, as stored and served (`replicationStatus` is added
/// per request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryApplicationVersionProperties {
    pub publishing_profile: ApplicationPublishingProfile,
    pub safety_profile: ApplicationSafetyProfile,
    pub provisioning_state: ProvisioningState,
}

/// An application version as stored and served.
pub type GalleryApplicationVersion = TrackedResource<GalleryApplicationVersionProperties>;
