//! VM application versions (`Microsoft.Compute/galleries/applications/versions`): one release of an
//! application package and where it is replicated.
//!
//! An application version is a published artifact: its publishing profile's shared members, safety
//! rules, replication plan and status and "latest" are the publishing core's
//! ([`crate::publishing`]). What is its own lives here: the package source
//! (`source.mediaLink`, `defaultConfigurationLink`), `manageActions`, `settings`,
//! `advancedSettings`, `enableHealthCheck` and `customActions` ([`stored`], [`request`]), and the
//! decision of a PUT or PATCH ([`put`], [`patch`]).
//!
//! # What the caller does around these decisions
//! The package lives behind URLs this crate never reads. A create is decided first (so a bad
//! request reads nothing); the caller then reads [`PackageLinks`] of the decided version into
//! contents, one part per link ([`PACKAGE_PART`], [`CONFIGURATION_PART`]), refusing packages larger
//! than [`ApplicationVersionRules::max_package_bytes`] ([`package_too_large`]) and links it cannot
//! read ([`package_unreadable`]); the workers replicate those parts like any version's.
//!
//! # Rules (every error names the property path as `target`)
//! - The name is `Major.Minor.Patch` ([`crate::version_name`]); `publishingProfile` is required,
//!   with `source.mediaLink` (an absolute http or https URL, as is `defaultConfigurationLink`) and
//!   `manageActions.install` and `.remove`.
//! - `manageActions.install`, `.remove` and `.update`, `settings.packageFileName` and
//!   `.configFileName` are "limited to 4096 characters" (the spec's words).
//! - `customActions` follow [`crate::models::custom_actions`].
//! - The shared publishing profile follows the core's rules (target regions, replica counts,
//!   storage account types, end of life, exclude-from-latest).
//! - After creation the target regions, `replicaCount`, `excludeFromLatest`, `endOfLifeDate`, the
//!   safety flag and tags may change; a different source, manage actions, settings, advanced
//!   settings, health check or custom actions is 409 `PropertyChangeNotAllowed` (absent on a PUT:
//!   kept). Removing a target region needs `safetyProfile.allowDeletionOfReplicatedLocations`.
//!
//! # Choices where Azure's sources are silent
//! - A link galleryd cannot read (unreachable, not found, refused) is 400 `InvalidParameter` on the
//!   link's property; the real service's code and words are unverified.
//! - Packages are limited to 1 GiB by default ([`ApplicationVersionRules`]), the size Azure's VM
//!   Applications documentation has named; configurable.

mod request;
mod stored;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, WriteContext, missing_property, name_and_system_data,
};
use crate::models::{custom_actions, published_version};
use crate::publishing::{PublishingRules, profile, safety};
use crate::regions;
use crate::tags::Tags;

use request::{
    ApplicationPublishingProfileInput, KIND, UserArtifactManageInput, UserArtifactSettingsInput,
    parse_properties,
};

pub use request::{GalleryApplicationVersionRequest, target};
pub use stored::{
    ApplicationPublishingProfile, ApplicationSafetyProfile, GalleryApplicationVersion,
    GalleryApplicationVersionProperties, ScriptBehaviorAfterReboot, UserArtifactManage,
    UserArtifactSettings, UserArtifactSource,
};

/// The part of a version's contents that holds its package.
pub const PACKAGE_PART: &str = "package";
/// The part that holds its default configuration (when it has one).
pub const CONFIGURATION_PART: &str = "configuration";
/// The longest manage action or file name ("limited to 4096 characters").
pub const MAX_TEXT_CHARACTERS: usize = 4096;

/// Service limits and defaults for application versions (configurable for tests and load work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationVersionRules {
    /// The limits every published artifact shares.
    pub publishing: PublishingRules,
    /// The largest package (and default configuration) in bytes (default 1 GiB).
    pub max_package_bytes: u64,
}

impl Default for ApplicationVersionRules {
    fn default() -> Self {
        ApplicationVersionRules {
            publishing: PublishingRules::default(),
            max_package_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// A link to read a part of a new version from: the part, the URL, and the property it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLink {
    pub part: &'static str,
    pub url: String,
    pub target: String,
}

/// The links a decided version's contents are read from (the package first).
pub fn package_links(version: &GalleryApplicationVersion) -> Vec<PackageLink> {
    let source = &version.properties.publishing_profile.source;
    let mut links = vec![PackageLink {
        part: PACKAGE_PART,
        url: source.media_link.clone(),
        target: target("publishingProfile.source.mediaLink"),
    }];
    if let Some(configuration) = &source.default_configuration_link {
        links.push(PackageLink {
            part: CONFIGURATION_PART,
            url: configuration.clone(),
            target: target("publishingProfile.source.defaultConfigurationLink"),
        });
    }
    links
}

/// A link that could not be read: 400 `InvalidParameter` on its property, with the reason.
pub fn package_unreadable(link: &PackageLink, reason: &str) -> ServiceError {
    ServiceError::invalid_parameter(
        &link.target,
        format!(
            "The blob '{}' could not be read: {reason}. Make sure it exists and is readable (for example with a SAS \
             granting read access).",
            link.url
        ),
    )
}

/// A package larger than the limit: 400 `InvalidParameter` on its property.
pub fn package_too_large(link: &PackageLink, max_bytes: u64) -> ServiceError {
    ServiceError::invalid_parameter(
        &link.target,
        format!(
            "The blob '{}' is larger than {max_bytes} bytes, the largest package an application version may have.",
            link.url
        ),
    )
}

fn check_link(value: &str, member: &str) -> Result<String, ServiceError> {
    let link_target = target(member);
    let trimmed = value.trim();
    let lower = trimmed.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(trimmed.to_string()),
        _ => Err(ServiceError::invalid_parameter(
            &link_target,
            format!(
                "The value '{value}' of '{link_target}' is not an absolute http or https URL of a blob."
            ),
        )),
    }
}

fn check_text(
    value: Option<String>,
    member: &str,
    required: bool,
) -> Result<Option<String>, ServiceError> {
    let member_target = target(member);
    match value {
        Some(text) if text.chars().count() > MAX_TEXT_CHARACTERS => {
            Err(ServiceError::invalid_parameter(
                &member_target,
                format!("'{member_target}' is limited to {MAX_TEXT_CHARACTERS} characters."),
            ))
        }
        Some(text) if !text.trim().is_empty() => Ok(Some(text)),
        _ if required => Err(missing_property(&member_target)),
        _ => Ok(None),
    }
}

fn parse_manage_actions(
    input: UserArtifactManageInput,
) -> Result<UserArtifactManage, ServiceError> {
    Ok(UserArtifactManage {
        install: check_text(
            input.install,
            "publishingProfile.manageActions.install",
            true,
        )?
        .unwrap_or_default(),
        remove: check_text(input.remove, "publishingProfile.manageActions.remove", true)?
            .unwrap_or_default(),
        update: check_text(
            input.update,
            "publishingProfile.manageActions.update",
            false,
        )?,
    })
}

fn parse_settings(input: UserArtifactSettingsInput) -> Result<UserArtifactSettings, ServiceError> {
    Ok(UserArtifactSettings {
        package_file_name: check_text(
            input.package_file_name,
            "publishingProfile.settings.packageFileName",
            false,
        )?,
        config_file_name: check_text(
            input.config_file_name,
            "publishingProfile.settings.configFileName",
            false,
        )?,
        script_behavior_after_reboot: input
            .script_behavior_after_reboot
            .as_deref()
            .map(|value| {
                ScriptBehaviorAfterReboot::parse(
                    value,
                    &target("publishingProfile.settings.scriptBehaviorAfterReboot"),
                )
            })
            .transpose()?,
    })
}

/// The application's own members of a requested profile, each `None` when not given.
struct OwnMembers {
    source: Option<UserArtifactSource>,
    manage_actions: Option<UserArtifactManage>,
    settings: Option<UserArtifactSettings>,
    advanced_settings: Option<std::collections::BTreeMap<String, String>>,
    enable_health_check: Option<bool>,
    custom_actions: Option<Vec<custom_actions::CustomAction>>,
}

fn parse_own_members(
    input: &mut ApplicationPublishingProfileInput,
) -> Result<OwnMembers, ServiceError> {
    let source = match input.source.take() {
        None => None,
        Some(source) => {
            let media_link = source
                .media_link
                .filter(|link| !link.trim().is_empty())
                .ok_or_else(|| missing_property(&target("publishingProfile.source.mediaLink")))?;
            Some(UserArtifactSource {
                media_link: check_link(&media_link, "publishingProfile.source.mediaLink")?,
                default_configuration_link: source
                    .default_configuration_link
                    .filter(|link| !link.trim().is_empty())
                    .map(|link| {
                        check_link(&link, "publishingProfile.source.defaultConfigurationLink")
                    })
                    .transpose()?,
            })
        }
    };
    Ok(OwnMembers {
        source,
        manage_actions: input
            .manage_actions
            .take()
            .map(parse_manage_actions)
            .transpose()?,
        settings: input.settings.take().map(parse_settings).transpose()?,
        advanced_settings: input.advanced_settings.take(),
        enable_health_check: input.enable_health_check,
        custom_actions: custom_actions::parse(
            input.custom_actions.take(),
            &target("publishingProfile.customActions"),
        )?,
    })
}

/// An immutable member on update: the requested value must equal the stored one (absent: kept).
fn kept<T: PartialEq + Clone>(
    stored: &T,
    requested: Option<T>,
    member: &str,
) -> Result<T, ServiceError> {
    match requested {
        Some(value) if value != *stored => {
            Err(ServiceError::property_change_not_allowed(target(member)))
        }
        _ => Ok(stored.clone()),
    }
}

fn kept_optional<T: PartialEq + Clone>(
    stored: &Option<T>,
    requested: Option<T>,
    member: &str,
) -> Result<Option<T>, ServiceError> {
    match requested {
        Some(value) if Some(&value) != stored.as_ref() => {
            Err(ServiceError::property_change_not_allowed(target(member)))
        }
        _ => Ok(stored.clone()),
    }
}

fn decide_own_members(
    stored: Option<&ApplicationPublishingProfile>,
    own: OwnMembers,
) -> Result<OwnMembers, ServiceError> {
    let Some(stored) = stored else {
        let source = own
            .source
            .ok_or_else(|| missing_property(&target("publishingProfile.source")))?;
        let manage_actions = own
            .manage_actions
            .ok_or_else(|| missing_property(&target("publishingProfile.manageActions")))?;
        return Ok(OwnMembers {
            source: Some(source),
            manage_actions: Some(manage_actions),
            ..own
        });
    };
    Ok(OwnMembers {
        source: Some(kept(
            &stored.source,
            own.source,
            "publishingProfile.source",
        )?),
        manage_actions: Some(kept(
            &stored.manage_actions,
            own.manage_actions,
            "publishingProfile.manageActions",
        )?),
        settings: kept_optional(&stored.settings, own.settings, "publishingProfile.settings")?,
        advanced_settings: kept_optional(
            &stored.advanced_settings,
            own.advanced_settings,
            "publishingProfile.advancedSettings",
        )?,
        enable_health_check: Some(kept(
            &stored.enable_health_check,
            own.enable_health_check,
            "publishingProfile.enableHealthCheck",
        )?),
        custom_actions: kept_optional(
            &stored.custom_actions,
            own.custom_actions,
            "publishingProfile.customActions",
        )?,
    })
}

fn decide(
    existing: Option<&GalleryApplicationVersion>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
    rules: &ApplicationVersionRules,
) -> Result<GalleryApplicationVersion, ServiceError> {
    if let Some(version) = existing {
        safety::check_updatable(&KIND, &version.name, version.properties.provisioning_state)?;
    }
    let input = parse_properties(properties)?;
    let location_region = regions::find(&location)
        .ok_or_else(|| ServiceError::location_required().with_target("location"))?;
    let stored = existing.map(|version| &version.properties);
    let mut profile_input = match (input.publishing_profile, stored) {
        (Some(profile), _) => profile,
        (None, Some(_)) => ApplicationPublishingProfileInput::default(),
        (None, None) => return Err(missing_property(&target("publishingProfile"))),
    };
    let own = parse_own_members(&mut profile_input)?;
    let own = decide_own_members(stored.map(|stored| &stored.publishing_profile), own)?;
    let shared = profile::decide(
        &KIND,
        stored.map(|stored| &stored.publishing_profile.shared),
        profile_input.shared,
        location_region,
        context,
        &rules.publishing,
    )?;
    let requested_safety = input
        .safety_profile
        .and_then(|safety| safety.allow_deletion_of_replicated_locations);
    let allow_deletion_of_replicated_locations = safety::decide_allow_deletion(
        &KIND,
        stored.map(|stored| {
            (
                &stored.publishing_profile.shared,
                stored.safety_profile.allow_deletion_of_replicated_locations,
            )
        }),
        &shared,
        requested_safety,
    )?;
    let (name, system_data) = name_and_system_data(existing, context);
    let (Some(source), Some(manage_actions)) = (own.source, own.manage_actions) else {
        return Err(missing_property(&target("publishingProfile.source")));
    };
    Ok(GalleryApplicationVersion {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_APPLICATION_VERSION_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties: GalleryApplicationVersionProperties {
            publishing_profile: ApplicationPublishingProfile {
                source,
                manage_actions,
                settings: own.settings,
                advanced_settings: own.advanced_settings,
                enable_health_check: own.enable_health_check.unwrap_or(false),
                custom_actions: own.custom_actions,
                shared,
            },
            safety_profile: ApplicationSafetyProfile {
                allow_deletion_of_replicated_locations,
            },
            provisioning_state: ProvisioningState::Succeeded,
        },
        system_data,
    })
}

/// Decides an application version PUT (create or replace), in the envelope of [`published_version::put`].
pub fn put(
    existing: Option<&GalleryApplicationVersion>,
    request: GalleryApplicationVersionRequest,
    context: &WriteContext<'_>,
    rules: &ApplicationVersionRules,
) -> Result<GalleryApplicationVersion, ServiceError> {
    let envelope = published_version::PutEnvelope {
        location: request.location.as_deref(),
        tags: request.tags,
        properties: request.properties,
    };
    published_version::put(
        existing,
        envelope,
        ids::GALLERY_APPLICATION_VERSION_TYPE,
        context,
        |location, tags, properties| decide(existing, location, tags, properties, context, rules),
    )
}

/// Decides an application version PATCH: tags replace the set when given, properties merge
/// (RFC 7396) over the stored ones, then the update rules of [`put`] apply.
pub fn patch(
    existing: &GalleryApplicationVersion,
    request: PatchRequest,
    context: &WriteContext<'_>,
    rules: &ApplicationVersionRules,
) -> Result<GalleryApplicationVersion, ServiceError> {
    published_version::patch(existing, request, |location, tags, properties| {
        decide(Some(existing), location, tags, properties, context, rules)
    })
}
