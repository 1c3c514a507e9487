//! Image versions (`Microsoft.Compute/galleries/images/versions`): the disks of one image release and
//! where they are replicated.
//!
//! An image version is a published artifact: its publishing profile, safety rules, replication
//! plan and status and "latest" are the publishing core's ([`crate::publishing`]). What is its own
//! lives here: the sources its disks come from ([`sources`]), its storage profile
//! ([`storage_profile`]), its request and stored shapes ([`request`], [`stored`]), and the decision
//! of a PUT or PATCH ([`put`], [`patch`]) that puts them together.
//!
//! # What the caller does around these decisions
//! The source of a new version (a managed image, snapshot, disk or another gallery image version)
//! lives in the database, which this crate never reads. So a create goes:
//! [`source_reference`] (what to resolve, validated) → the caller resolves it into a
//! [`ResolvedSource`] (region and disks) → [`put`] decides. Updates cannot change the source, so a
//! PATCH ([`patch`]) or a PUT on an existing version needs no resolution (pass `None`).
//! Afterwards the publishing core's `replication_plan` tells the workers which replicas to make,
//! `replication_status` builds `replicationStatus` for a GET with `$expand=ReplicationStatus`,
//! [`check_delete_allowed`] guards DELETE and `publishing::latest::candidate` feeds "latest".
//!
//! # Rules (every error names the property path as `target`)
//! - The name is `Major.Minor.Patch` ([`crate::version_name`]); `storageProfile` is required on
//!   create, with exactly one kind of source (see [`sources`]).
//! - The publishing profile follows the core's rules (target regions, replica counts, storage
//!   account types, Shallow replication, end of life); the source must live in the version's
//!   location, and the disks fit [`VersionRules::max_total_size_gb`] (see [`storage_profile`]).
//! - After creation the target regions (added, removed, replica counts, `excludeFromLatest`),
//!   `replicaCount`, `excludeFromLatest`, `endOfLifeDate`, the safety flags and tags may change;
//!   anything else is 409 `PropertyChangeNotAllowed`. Removing a target region needs
//!   `safetyProfile.allowDeletionOfReplicatedLocations` (in the request or already stored).
//!
//! # Choices where Azure's sources are silent
//! - On a PUT to an existing version, absent immutable members and absent safety flags keep their
//!   stored values (defaulting them would drop deletion safeguards); the publishing profile's own
//!   choices are the core's.
//! - `blockDeletionBeforeEndOfLife` without an end-of-life date blocks deletion until the flag is
//!   cleared.

mod compatibility;
mod request;
mod sources;
mod storage_profile;
mod stored;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ErrorCode;
use crate::ServiceError;
use crate::ids;
use crate::models::common::{
    PatchRequest, ProvisioningState, WriteContext, location_for_put, missing_property,
    name_and_system_data, patched_properties, tags_for_patch, validate_tags,
};
use crate::publishing::{PublishingRules, profile, safety};
use crate::regions;
use crate::tags::Tags;
use crate::version_name::VersionName;

use request::{KIND, parse_properties, target};
use storage_profile::{check_resolved_source, check_storage_unchanged, new_storage_profile};

pub use compatibility::{SourceTraits, check_source_fits_definition};
pub use request::GalleryImageVersionRequest;
pub use sources::{
    ResolvedSource, SourceDisk, SourceItem, SourceKind, SourceLocation, SourceReference,
    source_reference,
};
pub use stored::{
    ArtifactSource, DataDiskImage, DiskImageSource, GalleryImageVersion,
    GalleryImageVersionProperties, HostCaching, OsDiskImage, PolicyViolation,
    PolicyViolationCategory, SafetyProfile, StorageProfile,
};

/// Service limits and defaults for image versions (configurable for tests and load work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRules {
    /// The limits every published artifact shares (replicas per region, default storage type).
    pub publishing: PublishingRules,
    /// Highest total size of a version's disks, in GB (default 1024).
    pub max_total_size_gb: u64,
}

impl Default for VersionRules {
    fn default() -> Self {
        VersionRules {
            publishing: PublishingRules::default(),
            max_total_size_gb: 1024,
        }
    }
}

/// A version's document with `properties.validationsProfile`, for `$expand=ValidationProfile`:
/// galleryd runs no image validations, so `executedValidations` is empty; the platform attributes
/// name the image definition's publisher, offer and SKU (`identifier`) and the version, and the
/// etag is the publishing time, as the spec describes them.
pub fn with_validations_profile(mut document: Value, identifier: &Value) -> Value {
    let attribute = |name: &str, value: &Value| serde_json::json!({"name": name, "value": value});
    let version_name = document["name"].clone();
    let published = document
        .pointer("/properties/publishingProfile/publishedDate")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "validationsProfile".to_string(),
            serde_json::json!({
                "validationEtag": published,
                "executedValidations": [],
                "platformAttributes": [
                    attribute("source_image_publisher", &identifier["publisher"]),
                    attribute("source_image_offer", &identifier["offer"]),
                    attribute("source_image_sku", &identifier["sku"]),
                    attribute("source_image_version", &version_name),
                ],
            }),
        );
    }
    document
}

/// Everything `put` and `patch` need besides the request.
struct Inputs<'a, 'b> {
    existing: Option<&'a GalleryImageVersion>,
    location: String,
    tags: Option<Tags>,
    context: &'a WriteContext<'b>,
    resolved_source: Option<&'a ResolvedSource>,
    rules: &'a VersionRules,
}

fn decide(inputs: Inputs<'_, '_>, properties: Value) -> Result<GalleryImageVersion, ServiceError> {
    let Inputs {
        existing,
        location,
        tags,
        context,
        resolved_source,
        rules,
    } = inputs;
    if let Some(version) = existing {
        safety::check_updatable(&KIND, &version.name, version.properties.provisioning_state)?;
    }
    let input = parse_properties(properties)?;
    let location_region = regions::find(&location)
        .ok_or_else(|| ServiceError::location_required().with_target("location"))?;
    let stored = existing.map(|version| &version.properties);
    let (storage_profile, sources) = match stored {
        None => {
            let storage = input
                .storage_profile
                .as_ref()
                .ok_or_else(|| missing_property(&target("storageProfile")))?;
            let sources = sources::parse_sources(storage)?;
            (
                new_storage_profile(storage, resolved_source)?,
                Some(sources),
            )
        }
        Some(stored) => {
            if let Some(storage) = &input.storage_profile {
                check_storage_unchanged(storage, &stored.storage_profile)?;
            }
            (stored.storage_profile.clone(), None)
        }
    };
    let publishing_profile = profile::decide(
        &KIND,
        stored.map(|stored| &stored.publishing_profile),
        input.publishing_profile.unwrap_or_default(),
        location_region,
        context,
        &rules.publishing,
    )?;
    if let (Some(sources), Some(resolved)) = (&sources, resolved_source) {
        check_resolved_source(
            sources,
            resolved,
            location_region,
            publishing_profile.replication_mode,
            rules,
        )?;
    }
    let safety_input = input.safety_profile.unwrap_or_default();
    let stored_safety = stored.map(|stored| &stored.safety_profile);
    let allow_deletion_of_replicated_locations = safety::decide_allow_deletion(
        &KIND,
        stored.map(|stored| {
            (
                &stored.publishing_profile,
                stored.safety_profile.allow_deletion_of_replicated_locations,
            )
        }),
        &publishing_profile,
        safety_input.allow_deletion_of_replicated_locations,
    )?;
    let safety_profile = SafetyProfile {
        allow_deletion_of_replicated_locations,
        reported_for_policy_violation: stored_safety
            .is_some_and(|safety| safety.reported_for_policy_violation),
        policy_violations: stored_safety
            .map(|safety| safety.policy_violations.clone())
            .unwrap_or_default(),
        block_deletion_before_end_of_life: safety_input
            .block_deletion_before_end_of_life
            .unwrap_or_else(|| {
                stored_safety.is_some_and(|safety| safety.block_deletion_before_end_of_life)
            }),
    };
    let security_profile = match stored {
        None => input.security_profile,
        Some(stored) => {
            if input
                .security_profile
                .as_ref()
                .is_some_and(|requested| Some(requested) != stored.security_profile.as_ref())
            {
                return Err(ServiceError::property_change_not_allowed(target(
                    "securityProfile",
                )));
            }
            stored.security_profile.clone()
        }
    };
    let (name, system_data) = name_and_system_data(existing, context);
    Ok(GalleryImageVersion {
        id: context.id.to_string(),
        name,
        resource_type: ids::GALLERY_IMAGE_VERSION_TYPE.to_string(),
        location,
        tags,
        identity: None,
        properties: GalleryImageVersionProperties {
            publishing_profile,
            storage_profile,
            safety_profile,
            security_profile,
            provisioning_state: ProvisioningState::Succeeded,
        },
        system_data,
    })
}

/// Decides an image version PUT (create or replace). On create, `resolved_source` is what the caller
/// found behind [`source_reference`] (`None` when nothing could be resolved, e.g. VHD sources: then
/// disk sizes are unknown and the source region is not checked); on update it is ignored.
pub fn put(
    existing: Option<&GalleryImageVersion>,
    request: GalleryImageVersionRequest,
    context: &WriteContext<'_>,
    resolved_source: Option<&ResolvedSource>,
    rules: &VersionRules,
) -> Result<GalleryImageVersion, ServiceError> {
    if existing.is_none() {
        VersionName::parse(context.name)?;
    }
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(
        existing,
        request.location.as_deref(),
        ids::GALLERY_IMAGE_VERSION_TYPE,
        context,
    )?;
    decide(
        Inputs {
            existing,
            location,
            tags,
            context,
            resolved_source: resolved_source.filter(|_| existing.is_none()),
            rules,
        },
        request.properties.unwrap_or(Value::Null),
    )
}

/// Decides an image version PATCH: tags replace the set when given, properties merge (RFC 7396)
/// over the stored ones, then the update rules of [`put`] apply.
pub fn patch(
    existing: &GalleryImageVersion,
    request: PatchRequest,
    context: &WriteContext<'_>,
    rules: &VersionRules,
) -> Result<GalleryImageVersion, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["provisioningState", "replicationStatus"],
        request.properties.as_ref(),
    );
    decide(
        Inputs {
            existing: Some(existing),
            location: existing.location.clone(),
            tags,
            context,
            resolved_source: None,
            rules,
        },
        properties,
    )
}

/// DELETE guard: with `safetyProfile.blockDeletionBeforeEndOfLife`, a version cannot be deleted
/// before its end-of-life date has passed (nor at all without one): 409
/// `DeleteGalleryImageVersionBlockedBeforeEndOfLife`.
pub fn check_delete_allowed(
    version: &GalleryImageVersion,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !version
        .properties
        .safety_profile
        .block_deletion_before_end_of_life
    {
        return Ok(());
    }
    let profile = &version.properties.publishing_profile;
    if profile.end_of_life_passed(now) {
        return Ok(());
    }
    let end_of_life = profile.end_of_life_date.as_deref();
    let message = match end_of_life {
        Some(date) => format!(
            "The gallery image version '{}' cannot be deleted before its end of life date '{date}' because \
             safetyProfile.blockDeletionBeforeEndOfLife is set. Wait until the end of life date has passed, \
             or update the version to set safetyProfile.blockDeletionBeforeEndOfLife to false.",
            version.name
        ),
        None => format!(
            "The gallery image version '{}' cannot be deleted because safetyProfile.blockDeletionBeforeEndOfLife \
             is set and it has no end of life date. Update the version to set \
             safetyProfile.blockDeletionBeforeEndOfLife to false first.",
            version.name
        ),
    };
    Err(ServiceError::new(
        409,
        ErrorCode::DeleteGalleryImageVersionBlockedBeforeEndOfLife,
        message,
    ))
}
