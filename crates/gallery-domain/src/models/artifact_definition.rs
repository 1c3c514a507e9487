//! The rules every published artifact definition shares (VM applications, gallery scripts): the
//! named line whose versions are published to regions. Written once, parametrised by the kind
//! ([`ArtifactDefinitionKind`]); each kind's module keeps its own properties and extra members.
//!
//! # Rules (every error names the property path as `target`)
//! - `supportedOSType` is required (`Windows` or `Linux`) and never changes after creation (409
//!   `PropertyChangeNotAllowed`).
//! - `endOfLifeDate` must lie in the future when set or changed.
//! - A PATCH replaces the tags when given and merges its properties (RFC 7396) over the stored
//!   ones; then the rules of a PUT apply.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{
    PatchRequest, TrackedResource, WriteContext, check_unchanged, from_value_at, future_date,
    location_for_put, missing_property, name_and_system_data, patched_properties, tags_for_patch,
    validate_tags, without_nulls,
};
use crate::models::gallery_image::OperatingSystemType;
use crate::tags::Tags;

/// The body of a definition PUT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionRequest {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<Tags>,
    #[serde(default)]
    properties: Option<Value>,
}

/// The members every definition decides the same way, once decided.
pub(crate) struct DecidedTerms {
    pub supported_os_type: OperatingSystemType,
    pub end_of_life_date: Option<String>,
}

/// What sets one artifact kind's definitions apart.
pub(crate) trait ArtifactDefinitionKind {
    /// `properties` as stored and served.
    type Properties: Serialize;
    /// `properties` as requested.
    type Input: DeserializeOwned;

    /// The resource type (`Microsoft.Compute/galleries/scripts`).
    const RESOURCE_TYPE: &'static str;
    /// The target of `properties` in errors (`galleryScript.properties`).
    const PROPERTIES_TARGET: &'static str;
    /// The stored members a PATCH cannot set.
    const READ_ONLY_PROPERTIES: &'static [&'static str];

    /// The requested `supportedOSType` and `endOfLifeDate`.
    fn requested_terms(input: &Self::Input) -> (Option<&str>, Option<&str>);
    /// The stored `supportedOSType` and `endOfLifeDate`.
    fn stored_terms(properties: &Self::Properties) -> (OperatingSystemType, Option<&str>);
    /// The properties to store, from the request and the decided shared members.
    fn properties(
        input: Self::Input,
        terms: DecidedTerms,
    ) -> Result<Self::Properties, ServiceError>;
}

/// The target of a member of `properties` in errors.
pub(crate) fn target<K: ArtifactDefinitionKind>(member: &str) -> String {
    format!("{}.{member}", K::PROPERTIES_TARGET)
}

fn decide<K: ArtifactDefinitionKind>(
    existing: Option<&TrackedResource<K::Properties>>,
    location: String,
    tags: Option<Tags>,
    properties: Value,
    context: &WriteContext<'_>,
) -> Result<TrackedResource<K::Properties>, ServiceError> {
    let input: K::Input = match properties {
        Value::Null => return Err(missing_property(K::PROPERTIES_TARGET)),
        value => from_value_at(without_nulls(value), "properties")?,
    };
    let (requested_os, requested_end_of_life) = K::requested_terms(&input);
    let stored = existing.map(|stored| K::stored_terms(&stored.properties));
    let os_target = target::<K>("supportedOSType");
    let requested_os = requested_os
        .map(|value| OperatingSystemType::parse(value, &os_target))
        .transpose()?;
    let supported_os_type = match stored {
        None => requested_os.ok_or_else(|| missing_property(&os_target))?,
        Some((stored_os, _)) => check_unchanged(stored_os, requested_os, &os_target)?,
    };
    let end_of_life_date = match requested_end_of_life {
        None => None,
        Some(value) => {
            let end_target = target::<K>("endOfLifeDate");
            let canonical =
                crate::time::format_date_time(crate::time::parse_date_time(value, &end_target)?);
            let unchanged = stored
                .and_then(|(_, stored_end)| stored_end)
                .is_some_and(|stored_end| stored_end == canonical);
            if unchanged {
                Some(canonical)
            } else {
                Some(future_date(value, &end_target, context.now)?)
            }
        }
    };
    let properties = K::properties(
        input,
        DecidedTerms {
            supported_os_type,
            end_of_life_date,
        },
    )?;
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(TrackedResource {
        id: context.id.to_string(),
        name,
        resource_type: K::RESOURCE_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties,
        system_data,
    })
}

/// Decides a definition PUT (create or replace).
pub(crate) fn put<K: ArtifactDefinitionKind>(
    existing: Option<&TrackedResource<K::Properties>>,
    request: DefinitionRequest,
    context: &WriteContext<'_>,
) -> Result<TrackedResource<K::Properties>, ServiceError> {
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        K::RESOURCE_TYPE,
        context,
    )?;
    decide::<K>(
        existing,
        location,
        tags,
        request.properties.unwrap_or(Value::Null),
        context,
    )
}

/// Decides a definition PATCH: tags replace the set when given, properties merge (RFC 7396) over
/// the stored ones, then the rules of [`put`] apply.
pub(crate) fn patch<K: ArtifactDefinitionKind>(
    existing: &TrackedResource<K::Properties>,
    request: PatchRequest,
    context: &WriteContext<'_>,
) -> Result<TrackedResource<K::Properties>, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        K::READ_ONLY_PROPERTIES,
        request.properties.as_ref(),
    );
    decide::<K>(
        Some(existing),
        existing.location.clone(),
        tags,
        properties,
        context,
    )
}
