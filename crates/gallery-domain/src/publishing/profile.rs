//! `publishingProfile`: the members every published artifact shares
//! (`GalleryArtifactPublishingProfileBase`), stored and requested, and the decision of a PUT or
//! PATCH over them.
//!
//! # Rules (every error names the property path as `target`)
//! - Target regions default to the version's location with `replicaCount` replicas (see
//!   [`super::target_regions`]); the version's location must be one of them.
//! - Replica counts are 1 to [`PublishingRules::max_replicas_per_region`].
//! - `replicationMode: Shallow` allows only the source region as target region.
//! - `endOfLifeDate` must be in the future when set or changed.
//! - `storageAccountType` and `storageAccountStrategy` are exclusive, and neither nor
//!   `replicationMode` changes after creation (409 `PropertyChangeNotAllowed`).
//!
//! # Choices where Azure's sources are silent
//! - The version's own `storageAccountType` is stored as given or as the default type (as the
//!   spec's examples serve it), and left out when a strategy was given. A region added by an update
//!   without its own type takes the version's stored type (or its stored strategy).
//! - On a PUT to an existing version, absent `targetRegions`, `replicaCount` and
//!   `targetExtendedLocations` keep their stored values (defaulting them would drop replicas);
//!   `excludeFromLatest` and `endOfLifeDate` are replaced like any ARM PUT (absent = not set).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{WriteContext, future_date, given};
use crate::publishing::storage::{RegionalDefault, StorageAccountStrategy, StorageAccountType};
use crate::publishing::target_regions::{self, TargetRegion, TargetRegionInput};
use crate::publishing::{ArtifactKind, PublishingRules};
use crate::regions::{Region, same_region};

crate::string_enum! {
    /// ReplicationMode: `Shallow` versions are served from the source and copy nothing.
    pub enum ReplicationMode { Full = "Full", Shallow = "Shallow" }
}

/// `publishingProfile` (its shared members), as stored and served. An artifact whose profile has
/// members of its own (an application version's `source`, `manageActions`, …) stores them next to
/// these with `#[serde(flatten)]`, so every kind's stored profile reads as this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishingProfile {
    pub target_regions: Vec<TargetRegion>,
    pub replica_count: u32,
    pub exclude_from_latest: bool,
    /// Read-only: when the version was created.
    pub published_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    /// Absent only when `storageAccountStrategy` was given instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_type: Option<StorageAccountType>,
    pub replication_mode: ReplicationMode,
    /// Stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_extended_locations: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_strategy: Option<StorageAccountStrategy>,
}

impl PublishingProfile {
    /// Whether the end-of-life date is set and has passed at `now`.
    pub fn end_of_life_passed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.end_of_life_date
            .as_deref()
            .and_then(|value| crate::time::parse_date_time(value, "endOfLifeDate").ok())
            .is_some_and(|instant| instant <= now)
    }
}

/// The shared members of `publishingProfile` as a request sends them (every member optional,
/// enums as free text). An artifact with members of its own flattens this into its input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishingProfileInput {
    pub target_regions: Option<Vec<TargetRegionInput>>,
    pub replica_count: Option<i64>,
    pub exclude_from_latest: Option<bool>,
    pub end_of_life_date: Option<String>,
    pub storage_account_type: Option<String>,
    pub replication_mode: Option<String>,
    pub target_extended_locations: Option<Value>,
    pub storage_account_strategy: Option<String>,
}

/// The mode, strategy and version type a decision keeps, and how regions without a type get one.
struct StorageChoice {
    replication_mode: ReplicationMode,
    storage_account_strategy: Option<StorageAccountStrategy>,
    storage_account_type: Option<StorageAccountType>,
    regional_default: RegionalDefault,
}

/// The storage choices of a new version (`existing` is `None`) or an update (which may repeat,
/// never change them).
fn decide_storage(
    kind: &ArtifactKind,
    existing: Option<&PublishingProfile>,
    input: &PublishingProfileInput,
    context: &WriteContext<'_>,
    rules: &PublishingRules,
) -> Result<StorageChoice, ServiceError> {
    let mode_target = kind.target("publishingProfile.replicationMode");
    let requested_mode = given(&input.replication_mode)
        .map(|value| ReplicationMode::parse(value, &mode_target))
        .transpose()?;
    let strategy_target = kind.target("publishingProfile.storageAccountStrategy");
    let requested_strategy = given(&input.storage_account_strategy)
        .map(|value| StorageAccountStrategy::parse(value, &strategy_target))
        .transpose()?;
    let type_target = kind.target("publishingProfile.storageAccountType");
    let requested_type = given(&input.storage_account_type)
        .map(|value| StorageAccountType::parse(value, &type_target))
        .transpose()?;
    let Some(stored) = existing else {
        if requested_type.is_some() && requested_strategy.is_some() {
            return Err(ServiceError::invalid_parameter(
                strategy_target,
                "storageAccountStrategy cannot be specified along with storageAccountType.",
            ));
        }
        let regional_default = match requested_type {
            Some(storage_type) => RegionalDefault::Version(storage_type),
            None => RegionalDefault::from_strategy(
                requested_strategy,
                context.api_version.at_least("2025-03-03"),
                rules,
            ),
        };
        let storage_account_type = match requested_strategy {
            Some(_) => None,
            None => Some(requested_type.unwrap_or(rules.default_storage_account_type)),
        };
        return Ok(StorageChoice {
            replication_mode: requested_mode.unwrap_or(ReplicationMode::Full),
            storage_account_strategy: requested_strategy,
            storage_account_type,
            regional_default,
        });
    };
    let replication_mode = match requested_mode {
        Some(mode) if mode != stored.replication_mode => {
            return Err(ServiceError::property_change_not_allowed(mode_target));
        }
        _ => stored.replication_mode,
    };
    if requested_strategy.is_some() && requested_strategy != stored.storage_account_strategy {
        return Err(ServiceError::property_change_not_allowed(strategy_target));
    }
    if requested_type.is_some() && requested_type != stored.storage_account_type {
        return Err(ServiceError::property_change_not_allowed(type_target));
    }
    let regional_default = match stored.storage_account_type {
        Some(storage_type) => RegionalDefault::Version(storage_type),
        None => RegionalDefault::from_strategy(stored.storage_account_strategy, false, rules),
    };
    Ok(StorageChoice {
        replication_mode,
        storage_account_strategy: stored.storage_account_strategy,
        storage_account_type: stored.storage_account_type,
        regional_default,
    })
}

/// Decides the publishing profile of a PUT or PATCH: `existing` is the stored profile of an update
/// (`None` on create), `location` the version's region.
pub fn decide(
    kind: &ArtifactKind,
    existing: Option<&PublishingProfile>,
    input: PublishingProfileInput,
    location: &'static Region,
    context: &WriteContext<'_>,
    rules: &PublishingRules,
) -> Result<PublishingProfile, ServiceError> {
    let storage = decide_storage(kind, existing, &input, context, rules)?;
    let replica_count = match input.replica_count {
        Some(value) => target_regions::parse_replica_count(
            value,
            &kind.target("publishingProfile.replicaCount"),
            rules,
        )?,
        None => existing.map(|stored| stored.replica_count).unwrap_or(1),
    };
    let target_regions = match (input.target_regions, existing) {
        (None, Some(stored)) => stored.target_regions.clone(),
        (requested, _) => {
            let requested = requested.unwrap_or_else(|| {
                vec![TargetRegionInput {
                    name: Some(location.display_name.to_string()),
                    ..TargetRegionInput::default()
                }]
            });
            target_regions::decide(
                kind,
                requested,
                existing.map(|stored| stored.target_regions.as_slice()),
                replica_count,
                storage.regional_default,
                context,
                rules,
            )?
        }
    };
    if !target_regions
        .iter()
        .any(|region| same_region(&region.name, location.name))
    {
        let names: Vec<&str> = target_regions
            .iter()
            .map(|region| region.name.as_str())
            .collect();
        return Err(ServiceError::invalid_parameter(
            kind.target("publishingProfile.targetRegions"),
            format!(
                "{} publishing profile regions '{}' must contain the location of {} '{}'.",
                kind.sentence_start(),
                names.join(", "),
                kind.noun,
                location.display_name
            ),
        ));
    }
    if storage.replication_mode == ReplicationMode::Shallow && target_regions.len() > 1 {
        return Err(ServiceError::invalid_parameter(
            kind.target("publishingProfile.targetRegions"),
            format!(
                "Shallow replication mode allows only the source region '{}' as a target region.",
                location.display_name
            ),
        ));
    }
    let end_of_life_date = decide_end_of_life(kind, existing, &input.end_of_life_date, context)?;
    Ok(PublishingProfile {
        target_regions,
        replica_count,
        exclude_from_latest: input.exclude_from_latest.unwrap_or(false),
        published_date: existing
            .map(|stored| stored.published_date.clone())
            .unwrap_or_else(|| crate::time::format(context.now)),
        end_of_life_date,
        storage_account_type: storage.storage_account_type,
        replication_mode: storage.replication_mode,
        target_extended_locations: input
            .target_extended_locations
            .or_else(|| existing.and_then(|stored| stored.target_extended_locations.clone())),
        storage_account_strategy: storage.storage_account_strategy,
    })
}

/// `endOfLifeDate` in its canonical form: a new or changed date must lie in the future; repeating
/// the stored one is always allowed.
fn decide_end_of_life(
    kind: &ArtifactKind,
    existing: Option<&PublishingProfile>,
    requested: &Option<String>,
    context: &WriteContext<'_>,
) -> Result<Option<String>, ServiceError> {
    let target = kind.target("publishingProfile.endOfLifeDate");
    let Some(value) = given(requested) else {
        return Ok(None);
    };
    let canonical = crate::time::format_date_time(crate::time::parse_date_time(value, &target)?);
    let unchanged = existing
        .and_then(|stored| stored.end_of_life_date.as_ref())
        .is_some_and(|stored| *stored == canonical);
    if unchanged {
        Ok(Some(canonical))
    } else {
        Ok(Some(future_date(value, &target, context.now)?))
    }
}
