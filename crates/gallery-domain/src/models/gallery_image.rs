//! Image definitions (`Microsoft.Compute/galleries/images`): the publisher/offer/SKU a line of image
//! versions is published under.
//!
//! Rules: `osType`, `osState` and `identifier{publisher,offer,sku}` are required; the identifier is
//! unique within the gallery ignoring case (the store enforces it with [`identifier_key`]; see
//! [`identifier_taken`]); after creation only the description, EULA, privacy and release-note URIs,
//! end-of-life date, recommended configuration, features (with `allowUpdateImage`) and tags may
//! change; anything else is 409 `PropertyChangeNotAllowed` naming the property. From api-version
//! 2025-03-03 a new definition defaults to Hyper-V generation V2 and the `TrustedLaunchSupported`
//! security type.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, TrackedResource, WriteContext, check_unchanged, from_value_at,
    future_date, location_for_put, missing_property, name_and_system_data, patched_properties,
    tags_for_patch, validate_tags, without_nulls,
};
use crate::names::validate_identifier_part;
use crate::tags::Tags;

crate::string_enum! {
    /// OperatingSystemTypes.
    pub enum OperatingSystemType { Windows = "Windows", Linux = "Linux" }
}

crate::string_enum! {
    /// OperatingSystemStateTypes.
    pub enum OperatingSystemState { Generalized = "Generalized", Specialized = "Specialized" }
}

crate::string_enum! {
    /// HyperVGeneration.
    pub enum HyperVGeneration { V1 = "V1", V2 = "V2" }
}

crate::string_enum! {
    /// Architecture.
    pub enum Architecture { X64 = "x64", Arm64 = "Arm64" }
}

crate::string_enum! {
    /// Disk types that `disallowed.diskTypes` may name.
    pub enum DiskType {
        StandardLrs = "Standard_LRS",
        StandardSsdLrs = "StandardSSD_LRS",
        PremiumLrs = "Premium_LRS",
        PremiumV2Lrs = "PremiumV2_LRS",
        UltraSsdLrs = "UltraSSD_LRS",
        PremiumZrs = "Premium_ZRS",
        StandardSsdZrs = "StandardSSD_ZRS",
    }
}

crate::string_enum! {
    /// Values of the `SecurityType` feature.
    pub enum SecurityType {
        Standard = "Standard",
        TrustedLaunch = "TrustedLaunch",
        TrustedLaunchSupported = "TrustedLaunchSupported",
        ConfidentialVm = "ConfidentialVM",
        ConfidentialVmSupported = "ConfidentialVMSupported",
        TrustedLaunchAndConfidentialVmSupported = "TrustedLaunchAndConfidentialVmSupported",
    }
}

/// `identifier`: publisher, offer and SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageIdentifier {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
}

/// ResourceRange (`recommended.vCPUs`, `recommended.memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
}

/// RecommendedMachineConfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedMachineConfiguration {
    #[serde(rename = "vCPUs", default, skip_serializing_if = "Option::is_none")]
    pub v_cpus: Option<ResourceRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourceRange>,
}

/// Disallowed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disallowed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_types: Option<Vec<String>>,
}

/// ImagePurchasePlan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePurchasePlan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

/// GalleryImageFeature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageFeature {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at_version: Option<String>,
}

/// `properties` of an image definition, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_statement_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_note_uri: Option<String>,
    pub os_type: OperatingSystemType,
    pub os_state: OperatingSystemState,
    pub hyper_v_generation: HyperVGeneration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    pub identifier: GalleryImageIdentifier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended: Option<RecommendedMachineConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed: Option<Disallowed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_plan: Option<ImagePurchasePlan>,
    pub provisioning_state: ProvisioningState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<GalleryImageFeature>>,
    pub architecture: Architecture,
}

/// An image definition as stored and served.
pub type GalleryImage = TrackedResource<GalleryImageProperties>;

// ----- request shapes -----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentifierInput {
    publisher: Option<String>,
    offer: Option<String>,
    sku: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DisallowedInput {
    disk_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureInput {
    name: Option<String>,
    value: Option<String>,
    starts_at_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GalleryImagePropertiesInput {
    description: Option<String>,
    eula: Option<String>,
    privacy_statement_uri: Option<String>,
    release_note_uri: Option<String>,
    os_type: Option<String>,
    os_state: Option<String>,
    hyper_v_generation: Option<String>,
    end_of_life_date: Option<String>,
    identifier: Option<IdentifierInput>,
    recommended: Option<RecommendedMachineConfiguration>,
    disallowed: Option<DisallowedInput>,
    purchase_plan: Option<ImagePurchasePlan>,
    features: Option<Vec<FeatureInput>>,
    architecture: Option<String>,
    allow_update_image: Option<bool>,
}

/// The body of an image definition PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

const TARGET: &str = "galleryImage.properties";

fn target(member: &str) -> String {
    format!("{TARGET}.{member}")
}

/// The key the store enforces publisher/offer/SKU uniqueness with (case-insensitive).
pub fn identifier_key(identifier: &GalleryImageIdentifier) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        identifier.publisher, identifier.offer, identifier.sku
    )
    .to_lowercase()
}

/// The error for a publisher/offer/SKU already used by another definition of the gallery.
pub fn identifier_taken(
    existing_definition: &str,
    identifier: &GalleryImageIdentifier,
) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "Gallery image: {existing_definition} identified by (publisher:{}, offer:{}, sku:{}) already exists. Choose a \
             different publisher, offer, sku combination.",
            identifier.publisher, identifier.offer, identifier.sku
        ),
    )
    .with_target(target("identifier"))
}

fn required<'a>(value: Option<&'a String>, member: &str) -> Result<&'a str, ServiceError> {
    value
        .map(String::as_str)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| missing_property(&target(member)))
}

fn parse_identifier(
    input: Option<IdentifierInput>,
) -> Result<GalleryImageIdentifier, ServiceError> {
    let input = input.ok_or_else(|| missing_property(&target("identifier")))?;
    let mut parts = Vec::with_capacity(3);
    for (value, member, max_length) in [
        (&input.publisher, "publisher", 128),
        (&input.offer, "offer", 64),
        (&input.sku, "sku", 64),
    ] {
        let member_target = target(&format!("identifier.{member}"));
        let value = value
            .as_deref()
            .ok_or_else(|| missing_property(&member_target))?;
        validate_identifier_part(value, &member_target, max_length)?;
        parts.push(value.to_string());
    }
    let sku = parts.pop().unwrap_or_default();
    let offer = parts.pop().unwrap_or_default();
    let publisher = parts.pop().unwrap_or_default();
    Ok(GalleryImageIdentifier {
        publisher,
        offer,
        sku,
    })
}

fn validate_recommended(recommended: &RecommendedMachineConfiguration) -> Result<(), ServiceError> {
    for (range, member) in [
        (recommended.v_cpus, "vCPUs"),
        (recommended.memory, "memory"),
    ] {
        let Some(range) = range else { continue };
        for (value, bound) in [(range.min, "min"), (range.max, "max")] {
            if let Some(value) = value.filter(|value| *value < 0) {
                let parameter = target(&format!("recommended.{member}.{bound}"));
                return Err(ServiceError::invalid_parameter(
                    &parameter,
                    format!(
                        "The value {value} of parameter '{parameter}' is out of range. The value must be between 0 and 2147483647, inclusive."
                    ),
                ));
            }
        }
        if let (Some(min), Some(max)) = (range.min, range.max)
            && min > max
        {
            return Err(ServiceError::invalid_parameter(
                target(&format!("recommended.{member}")),
                format!(
                    "The minimum value of {member} must not be greater than the maximum value of {member}."
                ),
            ));
        }
    }
    Ok(())
}

fn parse_disallowed(input: Option<DisallowedInput>) -> Result<Option<Disallowed>, ServiceError> {
    let Some(input) = input else { return Ok(None) };
    let disk_types = match input.disk_types {
        Some(types) => Some(
            types
                .iter()
                .map(|value| {
                    DiskType::parse(value, &target("disallowed.diskTypes"))
                        .map(|disk_type| disk_type.as_str().to_string())
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(Some(Disallowed { disk_types }))
}

fn parse_features(
    input: Option<Vec<FeatureInput>>,
) -> Result<Option<Vec<GalleryImageFeature>>, ServiceError> {
    let Some(input) = input else { return Ok(None) };
    let mut features: Vec<GalleryImageFeature> = Vec::with_capacity(input.len());
    for (index, feature) in input.into_iter().enumerate() {
        let name = feature
            .name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| missing_property(&target(&format!("features[{index}].name"))))?;
        let mut value = feature
            .value
            .ok_or_else(|| missing_property(&target(&format!("features[{index}].value"))))?;
        if name.eq_ignore_ascii_case("SecurityType") {
            value = SecurityType::parse(&value, &target(&format!("features[{index}].value")))?
                .as_str()
                .to_string();
        }
        if features
            .iter()
            .any(|existing| existing.name.eq_ignore_ascii_case(&name))
        {
            return Err(ServiceError::invalid_parameter(
                target("features"),
                format!("The feature '{name}' is given more than once."),
            ));
        }
        features.push(GalleryImageFeature {
            name,
            value,
            starts_at_version: feature.starts_at_version,
        });
    }
    Ok(Some(features))
}

fn security_type(features: Option<&Vec<GalleryImageFeature>>) -> Option<SecurityType> {
    features?
        .iter()
        .find(|feature| feature.name.eq_ignore_ascii_case("SecurityType"))
        .and_then(|feature| SecurityType::from_wire(&feature.value))
}

/// Features compared as sets, ignoring the case of names and values.
fn same_features(
    left: Option<&Vec<GalleryImageFeature>>,
    right: Option<&Vec<GalleryImageFeature>>,
) -> bool {
    let normalize = |features: Option<&Vec<GalleryImageFeature>>| {
        let mut normalized: Vec<(String, String, Option<String>)> = features
            .map(|features| {
                features
                    .iter()
                    .map(|feature| {
                        (
                            feature.name.to_lowercase(),
                            feature.value.to_lowercase(),
                            feature.starts_at_version.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        normalized.sort();
        normalized
    };
    normalize(left) == normalize(right)
}

fn check_generation_requirements(properties: &GalleryImageProperties) -> Result<(), ServiceError> {
    if properties.hyper_v_generation == HyperVGeneration::V1 {
        if properties.architecture == Architecture::Arm64 {
            return Err(ServiceError::invalid_parameter(
                target("architecture"),
                "Arm64 images require Hyper-V generation V2 (hyperVGeneration 'V2').",
            ));
        }
        if let Some(security) = security_type(properties.features.as_ref())
            .filter(|security| *security != SecurityType::Standard)
        {
            return Err(ServiceError::invalid_parameter(
                target("features"),
                format!(
                    "The security type '{security}' requires Hyper-V generation V2 (hyperVGeneration 'V2')."
                ),
            ));
        }
    }
    Ok(())
}

fn decide(
    existing: Option<&GalleryImage>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
) -> Result<GalleryImage, ServiceError> {
    let input: GalleryImagePropertiesInput = match properties {
        Value::Null => return Err(missing_property("galleryImage.properties")),
        value => from_value_at(without_nulls(value), "properties")?,
    };
    if let Some(recommended) = &input.recommended {
        validate_recommended(recommended)?;
    }
    let features = parse_features(input.features)?;
    let disallowed = parse_disallowed(input.disallowed)?;
    let parse_end_of_life =
        |existing_value: Option<&String>| -> Result<Option<String>, ServiceError> {
            match input.end_of_life_date.as_deref() {
                None => Ok(None),
                Some(value) => {
                    let canonical = crate::time::format_date_time(crate::time::parse_date_time(
                        value,
                        &target("endOfLifeDate"),
                    )?);
                    if existing_value == Some(&canonical) {
                        Ok(Some(canonical))
                    } else {
                        future_date(value, &target("endOfLifeDate"), context.now).map(Some)
                    }
                }
            }
        };
    let properties = match existing {
        None => {
            let os_type = OperatingSystemType::parse(
                required(input.os_type.as_ref(), "osType")?,
                &target("osType"),
            )?;
            let os_state = OperatingSystemState::parse(
                required(input.os_state.as_ref(), "osState")?,
                &target("osState"),
            )?;
            let identifier = parse_identifier(input.identifier)?;
            let defaults_to_trusted_launch = context.api_version.at_least("2025-03-03");
            let hyper_v_generation = match input.hyper_v_generation.as_deref() {
                Some(value) => HyperVGeneration::parse(value, &target("hyperVGeneration"))?,
                None if defaults_to_trusted_launch => HyperVGeneration::V2,
                None => HyperVGeneration::V1,
            };
            let architecture = match input.architecture.as_deref() {
                Some(value) => Architecture::parse(value, &target("architecture"))?,
                None => Architecture::X64,
            };
            let mut features = features;
            if defaults_to_trusted_launch
                && hyper_v_generation == HyperVGeneration::V2
                && security_type(features.as_ref()).is_none()
            {
                features
                    .get_or_insert_with(Vec::new)
                    .push(GalleryImageFeature {
                        name: "SecurityType".to_string(),
                        value: SecurityType::TrustedLaunchSupported.as_str().to_string(),
                        starts_at_version: None,
                    });
            }
            GalleryImageProperties {
                description: input.description,
                eula: input.eula,
                privacy_statement_uri: input.privacy_statement_uri,
                release_note_uri: input.release_note_uri,
                os_type,
                os_state,
                hyper_v_generation,
                end_of_life_date: parse_end_of_life(None)?,
                identifier,
                recommended: input.recommended,
                disallowed,
                purchase_plan: input.purchase_plan,
                provisioning_state: ProvisioningState::Succeeded,
                features,
                architecture,
            }
        }
        Some(existing) => {
            let stored = &existing.properties;
            let os_type = check_unchanged(
                stored.os_type,
                input
                    .os_type
                    .as_deref()
                    .map(|value| OperatingSystemType::parse(value, &target("osType")))
                    .transpose()?,
                &target("osType"),
            )?;
            let os_state = check_unchanged(
                stored.os_state,
                input
                    .os_state
                    .as_deref()
                    .map(|value| OperatingSystemState::parse(value, &target("osState")))
                    .transpose()?,
                &target("osState"),
            )?;
            let hyper_v_generation = check_unchanged(
                stored.hyper_v_generation,
                input
                    .hyper_v_generation
                    .as_deref()
                    .map(|value| HyperVGeneration::parse(value, &target("hyperVGeneration")))
                    .transpose()?,
                &target("hyperVGeneration"),
            )?;
            let architecture = check_unchanged(
                stored.architecture,
                input
                    .architecture
                    .as_deref()
                    .map(|value| Architecture::parse(value, &target("architecture")))
                    .transpose()?,
                &target("architecture"),
            )?;
            if let Some(identifier) = &input.identifier {
                for (requested, current, member) in [
                    (
                        &identifier.publisher,
                        &stored.identifier.publisher,
                        "publisher",
                    ),
                    (&identifier.offer, &stored.identifier.offer, "offer"),
                    (&identifier.sku, &stored.identifier.sku, "sku"),
                ] {
                    if requested
                        .as_ref()
                        .is_some_and(|requested| !requested.eq_ignore_ascii_case(current))
                    {
                        return Err(ServiceError::property_change_not_allowed(target(&format!(
                            "identifier.{member}"
                        ))));
                    }
                }
            }
            if input
                .purchase_plan
                .as_ref()
                .is_some_and(|plan| Some(plan) != stored.purchase_plan.as_ref())
            {
                return Err(ServiceError::property_change_not_allowed(target(
                    "purchasePlan",
                )));
            }
            if disallowed
                .as_ref()
                .is_some_and(|disallowed| Some(disallowed) != stored.disallowed.as_ref())
            {
                return Err(ServiceError::property_change_not_allowed(target(
                    "disallowed",
                )));
            }
            let features = match features {
                Some(requested) if !same_features(Some(&requested), stored.features.as_ref()) => {
                    if input.allow_update_image != Some(true) {
                        return Err(ServiceError::property_change_not_allowed(target("features"))
                            .with_detail_message("Set 'allowUpdateImage' to true to update the features of an image definition."));
                    }
                    Some(requested)
                }
                _ => stored.features.clone(),
            };
            GalleryImageProperties {
                description: input.description,
                eula: input.eula,
                privacy_statement_uri: input.privacy_statement_uri,
                release_note_uri: input.release_note_uri,
                os_type,
                os_state,
                hyper_v_generation,
                end_of_life_date: parse_end_of_life(stored.end_of_life_date.as_ref())?,
                identifier: stored.identifier.clone(),
                recommended: input.recommended,
                disallowed: stored.disallowed.clone(),
                purchase_plan: stored.purchase_plan.clone(),
                provisioning_state: ProvisioningState::Succeeded,
                features,
                architecture,
            }
        }
    };
    check_generation_requirements(&properties)?;
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(GalleryImage {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_IMAGE_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties,
        system_data,
    })
}

/// Decides an image definition PUT (create or replace).
pub fn put(
    existing: Option<&GalleryImage>,
    request: GalleryImageRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryImage, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        ids::GALLERY_IMAGE_TYPE,
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

/// Decides an image definition PATCH: tags replace the set when given, properties merge.
pub fn patch(
    existing: &GalleryImage,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<GalleryImage, ServiceError> {
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
