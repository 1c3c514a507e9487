//! `publishingProfile.targetRegions`: where a version is replicated, how many replicas each region
//! gets, on which storage type, and whether it counts for "latest" there.
//!
//! Each region must be a known region the subscription may use, listed once. `regionalReplicaCount`
//! and `storageAccountType` are stored on every target region (the spec's examples serve them
//! always), so a later change of `replicaCount` only affects regions a request lists without their
//! own count. `targetRegions[].excludeFromLatest` is stored only when given: unset, the global flag
//! applies in that region. A region kept by an update keeps its storage type (which may not change)
//! and its stored `encryption` and `excludeFromLatest` when the request leaves them out (as the
//! spec's Update example shows).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{WriteContext, given, missing_property, out_of_range};
use crate::publishing::storage::{RegionalDefault, StorageAccountType, check_zone_redundancy};
use crate::publishing::{ArtifactKind, PublishingRules};
use crate::regions::{self, Region, same_region};

/// One target region, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRegion {
    /// The region's display name (`West US`).
    pub name: String,
    pub regional_replica_count: u32,
    pub storage_account_type: StorageAccountType,
    /// EncryptionImages, stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    /// Set only when the client set it; otherwise the global flag applies in this region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_from_latest: Option<bool>,
    /// `additionalReplicaSets`, stored as given (galleryd plans no replicas for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_replica_sets: Option<Value>,
}

impl TargetRegion {
    /// The catalog entry of this region (`None` only for a document galleryd did not write).
    pub fn region(&self) -> Option<&'static Region> {
        regions::find(&self.name)
    }

    /// The region's short name (`westus`), the key replicas are planned and compared by.
    pub fn short_name(&self) -> String {
        match self.region() {
            Some(region) => region.name.to_string(),
            None => regions::location_key(&self.name),
        }
    }
}

/// One target region as a request sends it (every member optional, enums as free text).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRegionInput {
    pub name: Option<String>,
    pub regional_replica_count: Option<i64>,
    pub storage_account_type: Option<String>,
    pub encryption: Option<Value>,
    pub exclude_from_latest: Option<bool>,
    pub additional_replica_sets: Option<Value>,
}

/// A replica count (`replicaCount`, `regionalReplicaCount`): 1 to the configured maximum.
pub(crate) fn parse_replica_count(
    value: i64,
    target: &str,
    rules: &PublishingRules,
) -> Result<u32, ServiceError> {
    let max = rules.max_replicas_per_region;
    u32::try_from(value)
        .ok()
        .filter(|count| (1..=max).contains(count))
        .ok_or_else(|| out_of_range(value, target, 1, i64::from(max)))
}

/// Decides the target regions a request lists, against the ones stored (on update).
pub(crate) fn decide(
    kind: &ArtifactKind,
    requested: Vec<TargetRegionInput>,
    stored: Option<&[TargetRegion]>,
    replica_count: u32,
    regional_default: RegionalDefault,
    context: &WriteContext<'_>,
    rules: &PublishingRules,
) -> Result<Vec<TargetRegion>, ServiceError> {
    let mut seen = HashSet::new();
    let mut decided = Vec::with_capacity(requested.len());
    for (index, entry) in requested.into_iter().enumerate() {
        let member =
            |name: &str| kind.target(&format!("publishingProfile.targetRegions[{index}].{name}"));
        let name_target = member("name");
        let name = given(&entry.name).ok_or_else(|| missing_property(&name_target))?;
        let region = regions::find(name).ok_or_else(|| {
            ServiceError::invalid_parameter(
                &name_target,
                format!("The target region '{name}' is not a known Azure region."),
            )
        })?;
        if !seen.insert(region.name) {
            return Err(ServiceError::invalid_parameter(
                kind.target("publishingProfile.targetRegions"),
                "Duplicate regions are not allowed in target publishing regions.",
            ));
        }
        let current = stored
            .into_iter()
            .flatten()
            .find(|current| same_region(&current.name, region.name));
        if current.is_none() && !context.subscription.may_use_region(region) {
            return Err(ServiceError::invalid_parameter(
                &name_target,
                format!(
                    "The target region '{}' is a restricted region that subscription '{}' is not allowed to \
                     use. Request access to the region first.",
                    region.display_name, context.subscription.subscription_id
                ),
            ));
        }
        let regional_replica_count = match entry.regional_replica_count {
            Some(value) => parse_replica_count(value, &member("regionalReplicaCount"), rules)?,
            None => replica_count,
        };
        let type_target = member("storageAccountType");
        let requested_type = given(&entry.storage_account_type)
            .map(|value| StorageAccountType::parse(value, &type_target))
            .transpose()?;
        let storage_account_type = match (current, requested_type) {
            (Some(current), Some(requested)) if requested != current.storage_account_type => {
                return Err(ServiceError::property_change_not_allowed(type_target));
            }
            (Some(current), _) => current.storage_account_type,
            (None, Some(requested)) => {
                check_zone_redundancy(requested, region, &type_target)?;
                requested
            }
            (None, None) => {
                let storage_type = regional_default.for_region(region);
                check_zone_redundancy(
                    storage_type,
                    region,
                    &kind.target("publishingProfile.storageAccountType"),
                )?;
                storage_type
            }
        };
        let encryption = match current {
            Some(current) => {
                if entry
                    .encryption
                    .as_ref()
                    .is_some_and(|encryption| Some(encryption) != current.encryption.as_ref())
                {
                    return Err(ServiceError::property_change_not_allowed(member(
                        "encryption",
                    )));
                }
                current.encryption.clone()
            }
            None => entry.encryption,
        };
        decided.push(TargetRegion {
            name: region.display_name.to_string(),
            regional_replica_count,
            storage_account_type,
            encryption,
            exclude_from_latest: entry
                .exclude_from_latest
                .or_else(|| current.and_then(|current| current.exclude_from_latest)),
            additional_replica_sets: entry.additional_replica_sets,
        });
    }
    Ok(decided)
}
