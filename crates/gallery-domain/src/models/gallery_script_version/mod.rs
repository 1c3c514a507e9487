//! Gallery script versions (`Microsoft.Compute/galleries/scripts/versions`, api-version
//! 2025-03-03): one release of a script and where it is replicated.
//!
//! A script version is a published artifact like an application version: its publishing profile's
//! shared members, safety rules, replication plan and status are the publishing core's
//! ([`crate::publishing`]); its own member is `source` (`scriptLink`, `parameters`). The caller
//! reads [`script_link`] of a decided new version into a content (part [`SCRIPT_PART`]) with the
//! same reader as application packages; the workers replicate it.
//!
//! # Rules (every error names the property path as `target`)
//! - The name is `Major.Minor.Patch`; `publishingProfile.source.scriptLink` (an absolute http or
//!   https URL) is required.
//! - `parameters[].name` is required and unique (ignoring case); `type` is `String`, `Int`,
//!   `Double`, `Boolean` or `Enum`; an `Enum` lists its `enumValues`, which only an `Enum` may;
//!   `minValue`/`maxValue` are numbers of an `Int` or `Double` and `minValue` ≤ `maxValue`.
//! - After creation the source never changes (409 `PropertyChangeNotAllowed`); the shared members,
//!   the safety flag and tags follow the image and application versions' rules.

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, from_value_at,
    missing_property, name_and_system_data, without_nulls,
};
use crate::models::gallery_application_version::{ApplicationSafetyProfile, PackageLink};
use crate::models::published_version;
use crate::publishing::{ArtifactKind, PublishingProfile, PublishingProfileInput, PublishingRules};
use crate::publishing::{profile, safety};
use crate::regions;
use crate::tags::Tags;

/// Script versions in the publishing core's terms.
const KIND: ArtifactKind = ArtifactKind::SCRIPT_VERSION;
/// The part of a version's contents that holds its script.
pub const SCRIPT_PART: &str = "script";

fn target(member: &str) -> String {
    KIND.target(member)
}

crate::string_enum! {
    /// GalleryScriptParameterType.
    pub enum ScriptParameterType {
        String = "String",
        Int = "Int",
        Double = "Double",
        Boolean = "Boolean",
        Enum = "Enum",
    }
}

/// One parameter of a script, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptParameter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub parameter_type: Option<ScriptParameterType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<String>>,
}

/// `publishingProfile.source` (ScriptSource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptSource {
    pub script_link: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<ScriptParameter>>,
}

/// `publishingProfile` of a script version, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptPublishingProfile {
    pub source: ScriptSource,
    #[serde(flatten)]
    pub shared: PublishingProfile,
}

/// `properties` of a script version, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryScriptVersionProperties {
    pub publishing_profile: ScriptPublishingProfile,
    pub safety_profile: ApplicationSafetyProfile,
    pub provisioning_state: ProvisioningState,
}

/// A script version as stored and served.
pub type GalleryScriptVersion = TrackedResource<GalleryScriptVersionProperties>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScriptParameterInput {
    name: Option<String>,
    required: Option<bool>,
    default_value: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    parameter_type: Option<String>,
    min_value: Option<String>,
    max_value: Option<String>,
    enum_values: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScriptSourceInput {
    script_link: Option<String>,
    parameters: Option<Vec<ScriptParameterInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScriptPublishingProfileInput {
    source: Option<ScriptSourceInput>,
    #[serde(flatten)]
    shared: PublishingProfileInput,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SafetyProfileInput {
    allow_deletion_of_replicated_locations: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertiesInput {
    publishing_profile: Option<ScriptPublishingProfileInput>,
    safety_profile: Option<SafetyProfileInput>,
}

/// The body of a script version PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryScriptVersionRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

/// Service limits for script versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptVersionRules {
    pub publishing: PublishingRules,
    /// The largest script in bytes (default 1 GiB, as application packages).
    pub max_script_bytes: u64,
}

impl Default for ScriptVersionRules {
    fn default() -> Self {
        ScriptVersionRules {
            publishing: PublishingRules::default(),
            max_script_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The link a decided version's script is read from.
pub fn script_link(version: &GalleryScriptVersion) -> PackageLink {
    PackageLink {
        part: SCRIPT_PART,
        url: version
            .properties
            .publishing_profile
            .source
            .script_link
            .clone(),
        target: target("publishingProfile.source.scriptLink"),
    }
}

fn parse_number(value: &Option<String>, member: &str) -> Result<Option<f64>, ServiceError> {
    let Some(text) = value else { return Ok(None) };
    text.trim().parse::<f64>().map(Some).map_err(|_| {
        ServiceError::invalid_parameter(target(member), format!("'{text}' is not a number."))
    })
}

fn parse_parameters(
    input: Vec<ScriptParameterInput>,
) -> Result<Vec<ScriptParameter>, ServiceError> {
    let mut parameters: Vec<ScriptParameter> = Vec::with_capacity(input.len());
    for (index, parameter) in input.into_iter().enumerate() {
        let member = |name: &str| format!("publishingProfile.source.parameters[{index}].{name}");
        let name = parameter
            .name
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| missing_property(&target(&member("name"))))?;
        if parameters
            .iter()
            .any(|existing| existing.name.eq_ignore_ascii_case(&name))
        {
            return Err(ServiceError::invalid_parameter(
                target("publishingProfile.source.parameters"),
                format!(
                    "The parameter name '{name}' is used more than once; parameter names must be unique."
                ),
            ));
        }
        let parameter_type = parameter
            .parameter_type
            .as_deref()
            .map(|value| ScriptParameterType::parse(value, &target(&member("type"))))
            .transpose()?;
        let is_enum = parameter_type == Some(ScriptParameterType::Enum);
        match (&parameter.enum_values, is_enum) {
            (None, true) => return Err(missing_property(&target(&member("enumValues")))),
            (Some(values), true) if values.is_empty() => {
                return Err(missing_property(&target(&member("enumValues"))));
            }
            (Some(_), false) => {
                return Err(ServiceError::invalid_parameter(
                    target(&member("enumValues")),
                    "enumValues only apply to parameters of type 'Enum'.",
                ));
            }
            _ => {}
        }
        let numeric = matches!(
            parameter_type,
            Some(ScriptParameterType::Int | ScriptParameterType::Double)
        );
        if !numeric && (parameter.min_value.is_some() || parameter.max_value.is_some()) {
            let bound = if parameter.min_value.is_some() {
                "minValue"
            } else {
                "maxValue"
            };
            return Err(ServiceError::invalid_parameter(
                target(&member(bound)),
                "minValue and maxValue only apply to parameters of type 'Int' or 'Double'.",
            ));
        }
        let minimum = parse_number(&parameter.min_value, &member("minValue"))?;
        let maximum = parse_number(&parameter.max_value, &member("maxValue"))?;
        if let (Some(minimum), Some(maximum)) = (minimum, maximum)
            && minimum > maximum
        {
            return Err(ServiceError::invalid_parameter(
                target(&member("minValue")),
                "minValue must not be greater than maxValue.",
            ));
        }
        parameters.push(ScriptParameter {
            name,
            required: parameter.required,
            default_value: parameter.default_value,
            description: parameter.description,
            parameter_type,
            min_value: parameter.min_value,
            max_value: parameter.max_value,
            enum_values: parameter.enum_values,
        });
    }
    Ok(parameters)
}

fn parse_source(input: ScriptSourceInput) -> Result<ScriptSource, ServiceError> {
    let link_target = target("publishingProfile.source.scriptLink");
    let link = input
        .script_link
        .map(|link| link.trim().to_string())
        .filter(|link| !link.is_empty())
        .ok_or_else(|| missing_property(&link_target))?;
    let lower = link.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if !rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')) {
        return Err(ServiceError::invalid_parameter(
            &link_target,
            format!(
                "The value '{link}' of '{link_target}' is not an absolute http or https URL of a blob."
            ),
        ));
    }
    Ok(ScriptSource {
        script_link: link,
        parameters: input.parameters.map(parse_parameters).transpose()?,
    })
}

fn decide(
    existing: Option<&GalleryScriptVersion>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
    rules: &ScriptVersionRules,
) -> Result<GalleryScriptVersion, ServiceError> {
    if let Some(version) = existing {
        safety::check_updatable(&KIND, &version.name, version.properties.provisioning_state)?;
    }
    let input: PropertiesInput = match properties {
        Value::Null => PropertiesInput::default(),
        value => from_value_at(without_nulls(value), "properties")?,
    };
    let location_region = regions::find(&location)
        .ok_or_else(|| ServiceError::location_required().with_target("location"))?;
    let stored = existing.map(|version| &version.properties);
    let profile_input = match (input.publishing_profile, stored) {
        (Some(profile), _) => profile,
        (None, Some(_)) => ScriptPublishingProfileInput::default(),
        (None, None) => return Err(missing_property(&target("publishingProfile"))),
    };
    let requested_source = profile_input.source.map(parse_source).transpose()?;
    let source = match (stored, requested_source) {
        (None, None) => return Err(missing_property(&target("publishingProfile.source"))),
        (None, Some(source)) => source,
        (Some(stored), Some(source)) if source != stored.publishing_profile.source => {
            return Err(ServiceError::property_change_not_allowed(target(
                "publishingProfile.source",
            )));
        }
        (Some(stored), _) => stored.publishing_profile.source.clone(),
    };
    let shared = profile::decide(
        &KIND,
        stored.map(|stored| &stored.publishing_profile.shared),
        profile_input.shared,
        location_region,
        context,
        &rules.publishing,
    )?;
    let allow_deletion_of_replicated_locations = safety::decide_allow_deletion(
        &KIND,
        stored.map(|stored| {
            (
                &stored.publishing_profile.shared,
                stored.safety_profile.allow_deletion_of_replicated_locations,
            )
        }),
        &shared,
        input
            .safety_profile
            .and_then(|safety| safety.allow_deletion_of_replicated_locations),
    )?;
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(GalleryScriptVersion {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_SCRIPT_VERSION_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties: GalleryScriptVersionProperties {
            publishing_profile: ScriptPublishingProfile { source, shared },
            safety_profile: ApplicationSafetyProfile {
                allow_deletion_of_replicated_locations,
            },
            provisioning_state: ProvisioningState::Succeeded,
        },
        system_data,
    })
}

/// Decides a script version PUT (create or replace), in the envelope of [`published_version::put`].
pub fn put(
    existing: Option<&GalleryScriptVersion>,
    request: GalleryScriptVersionRequest,
    context: &WriteContext<'_>,
    rules: &ScriptVersionRules,
) -> Result<GalleryScriptVersion, ServiceError> {
    let envelope = published_version::PutEnvelope {
        location: request.location.as_deref(),
        tags: request.tags,
        properties: request.properties,
    };
    published_version::put(
        existing,
        envelope,
        ids::GALLERY_SCRIPT_VERSION_TYPE,
        context,
        |location, tags, properties| decide(existing, location, tags, properties, context, rules),
    )
}

/// Decides a script version PATCH: tags replace the set when given, properties merge (RFC 7396).
pub fn patch(
    existing: &GalleryScriptVersion,
    request: PatchRequest,
    context: &WriteContext<'_>,
    rules: &ScriptVersionRules,
) -> Result<GalleryScriptVersion, ServiceError> {
    published_version::patch(existing, request, |location, tags, properties| {
        decide(Some(existing), location, tags, properties, context, rules)
    })
}
