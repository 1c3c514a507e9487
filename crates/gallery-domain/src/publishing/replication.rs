//! Where a published version's replicas must be, and how far their copies got.
//!
//! [`replication_plan`] turns a publishing profile into every (region, replica index) the version
//! must have; the replication workers copy each of the version's contents (an image's disks, an
//! application's package, …) into every one of them. [`replication_status`] turns the progress of
//! those copies into the `replicationStatus` a GET with `$expand=ReplicationStatus` serves.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::publishing::profile::{PublishingProfile, ReplicationMode};
use crate::publishing::storage::StorageAccountType;
use crate::publishing::target_regions::TargetRegion;

crate::string_enum! {
    /// AggregatedReplicationState.
    pub enum AggregatedReplicationState {
        Unknown = "Unknown",
        InProgress = "InProgress",
        Completed = "Completed",
        Failed = "Failed",
    }
}

crate::string_enum! {
    /// ReplicationState of one region.
    pub enum ReplicationState {
        Unknown = "Unknown",
        Replicating = "Replicating",
        Completed = "Completed",
        Failed = "Failed",
    }
}

crate::string_enum! {
    /// Where one replica copy is in its life (galleryd's own; the store keeps one row per replica
    /// of each content).
    pub enum ReplicaState {
        /// Planned, not copied yet.
        Pending = "Pending",
        /// Being copied by the worker holding the lease.
        Replicating = "Replicating",
        Completed = "Completed",
        Failed = "Failed",
        /// Its region left the publishing profile: its blobs are being deleted.
        Removing = "Removing",
    }
}

/// One replica a version must have in one region (of each of its contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReplica {
    /// Short name (`westus`).
    pub region: String,
    /// 0-based, below the region's `regionalReplicaCount`.
    pub replica_index: u32,
    pub storage_account_type: StorageAccountType,
}

/// Every (region, index) replica a version must have, in target-region order. A Shallow version
/// plans none: it is served from its source, nothing is copied. `additionalReplicaSets` plan none
/// either (stored only).
pub fn replication_plan(profile: &PublishingProfile) -> Vec<PlannedReplica> {
    if profile.replication_mode == ReplicationMode::Shallow {
        return Vec::new();
    }
    profile
        .target_regions
        .iter()
        .flat_map(|region| {
            let short_name = region.short_name();
            (0..region.regional_replica_count).map(move |replica_index| PlannedReplica {
                region: short_name.clone(),
                replica_index,
                storage_account_type: region.storage_account_type,
            })
        })
        .collect()
}

/// A target region whose replica count an update changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaCountChange {
    /// Short name (`westus`).
    pub region: String,
    pub previous: u32,
    pub current: u32,
}

/// What an update changed in where the version is replicated; regions by short name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicationChanges {
    pub added_regions: Vec<String>,
    pub removed_regions: Vec<String>,
    pub replica_count_changes: Vec<ReplicaCountChange>,
}

impl ReplicationChanges {
    /// Whether the update changed nothing about replication.
    pub fn is_empty(&self) -> bool {
        self.added_regions.is_empty()
            && self.removed_regions.is_empty()
            && self.replica_count_changes.is_empty()
    }
}

/// The difference in target regions between two decisions about the same version.
pub fn replication_changes(old: &PublishingProfile, new: &PublishingProfile) -> ReplicationChanges {
    let find = |regions: &[TargetRegion], short_name: &str| {
        regions
            .iter()
            .find(|region| region.short_name() == short_name)
            .map(|region| region.regional_replica_count)
    };
    let mut changes = ReplicationChanges::default();
    for region in &new.target_regions {
        let short_name = region.short_name();
        match find(&old.target_regions, &short_name) {
            None => changes.added_regions.push(short_name),
            Some(previous) if previous != region.regional_replica_count => {
                changes.replica_count_changes.push(ReplicaCountChange {
                    region: short_name,
                    previous,
                    current: region.regional_replica_count,
                });
            }
            Some(_) => {}
        }
    }
    for region in &old.target_regions {
        let short_name = region.short_name();
        if find(&new.target_regions, &short_name).is_none() {
            changes.removed_regions.push(short_name);
        }
    }
    changes
}

/// RegionalReplicationStatus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionalReplicationStatus {
    /// The region's display name (`West US`).
    pub region: String,
    pub state: ReplicationState,
    #[serde(default)]
    pub details: String,
    /// 0 to 100.
    #[serde(default)]
    pub progress: u32,
}

/// ReplicationStatus: served only with `$expand=ReplicationStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationStatus {
    pub aggregated_state: AggregatedReplicationState,
    pub summary: Vec<RegionalReplicationStatus>,
}

impl ReplicationStatus {
    /// A status whose aggregated state is computed from `summary` with [`aggregate`].
    pub fn from_summary(summary: Vec<RegionalReplicationStatus>) -> Self {
        ReplicationStatus {
            aggregated_state: aggregate(&summary),
            summary,
        }
    }
}

/// The aggregated state of regional states: `Failed` if any region failed, `Completed` if every
/// region completed, `Unknown` if nothing is known (no regions, or every region `Unknown`), else
/// `InProgress`.
pub fn aggregate(summary: &[RegionalReplicationStatus]) -> AggregatedReplicationState {
    let states = || summary.iter().map(|regional| regional.state);
    if states().any(|state| state == ReplicationState::Failed) {
        AggregatedReplicationState::Failed
    } else if summary.is_empty() || states().all(|state| state == ReplicationState::Unknown) {
        AggregatedReplicationState::Unknown
    } else if states().all(|state| state == ReplicationState::Completed) {
        AggregatedReplicationState::Completed
    } else {
        AggregatedReplicationState::InProgress
    }
}

/// How far one replica copy got, as the store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaProgress<'a> {
    /// Short name (`westus`).
    pub region: &'a str,
    pub state: ReplicaState,
    pub bytes_total: i64,
    pub bytes_copied: i64,
    /// Why a failed copy failed.
    pub details: &'a str,
}

/// The replication status of a version: per target region of `profile`, from the progress of its
/// replicas there (`Removing` ones do not count). A region without replicas (a Shallow version)
/// is complete once the version is `settled` (its provisioning state `Succeeded`).
pub fn replication_status(
    profile: &PublishingProfile,
    settled: bool,
    replicas: &[ReplicaProgress<'_>],
) -> ReplicationStatus {
    let summary = profile
        .target_regions
        .iter()
        .map(|target| {
            let region = target.short_name();
            let rows: Vec<&ReplicaProgress<'_>> = replicas
                .iter()
                .filter(|replica| {
                    replica.region == region && replica.state != ReplicaState::Removing
                })
                .collect();
            let total: i64 = rows.iter().map(|replica| replica.bytes_total).sum();
            let copied: i64 = rows
                .iter()
                .map(|replica| replica.bytes_copied.min(replica.bytes_total))
                .sum();
            let failed = rows
                .iter()
                .find(|replica| replica.state == ReplicaState::Failed);
            let completed = if rows.is_empty() {
                settled
            } else {
                rows.iter()
                    .all(|replica| replica.state == ReplicaState::Completed)
            };
            let state = if failed.is_some() {
                ReplicationState::Failed
            } else if completed {
                ReplicationState::Completed
            } else {
                ReplicationState::Replicating
            };
            let progress = if completed {
                100
            } else if total > 0 {
                u32::try_from(copied.saturating_mul(100) / total)
                    .unwrap_or(0)
                    .min(99)
            } else {
                0
            };
            RegionalReplicationStatus {
                region: target.name.clone(),
                state,
                details: failed
                    .map(|replica| replica.details.to_string())
                    .unwrap_or_default(),
                progress,
            }
        })
        .collect();
    ReplicationStatus::from_summary(summary)
}

/// A served version document with `properties.replicationStatus` added (for
/// `$expand=ReplicationStatus`).
pub fn with_replication_status(mut document: Value, status: &ReplicationStatus) -> Value {
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "replicationStatus".to_string(),
            serde_json::to_value(status).unwrap_or(Value::Null),
        );
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(regions: &[(&str, u32)], mode: ReplicationMode) -> PublishingProfile {
        PublishingProfile {
            target_regions: regions
                .iter()
                .map(|(name, count)| TargetRegion {
                    name: name.to_string(),
                    regional_replica_count: *count,
                    storage_account_type: StorageAccountType::StandardLrs,
                    encryption: None,
                    exclude_from_latest: None,
                    additional_replica_sets: None,
                })
                .collect(),
            replica_count: 1,
            exclude_from_latest: false,
            published_date: "2026-01-01T00:00:00Z".to_string(),
            end_of_life_date: None,
            storage_account_type: Some(StorageAccountType::StandardLrs),
            replication_mode: mode,
            target_extended_locations: None,
            storage_account_strategy: None,
        }
    }

    fn replica(region: &str, state: ReplicaState, total: i64, copied: i64) -> ReplicaProgress<'_> {
        ReplicaProgress {
            region,
            state,
            bytes_total: total,
            bytes_copied: copied,
            details: if state == ReplicaState::Failed {
                "disk full"
            } else {
                ""
            },
        }
    }

    #[test]
    fn the_plan_is_every_region_times_its_replica_count() {
        let full = profile(&[("West US", 1), ("East US", 2)], ReplicationMode::Full);
        let planned: Vec<(String, u32)> = replication_plan(&full)
            .into_iter()
            .map(|replica| (replica.region, replica.replica_index))
            .collect();
        assert_eq!(
            planned,
            [
                ("westus".to_string(), 0),
                ("eastus".to_string(), 0),
                ("eastus".to_string(), 1)
            ]
        );
        let shallow = profile(&[("West US", 1)], ReplicationMode::Shallow);
        assert!(replication_plan(&shallow).is_empty());
    }

    #[test]
    fn the_status_of_each_region_comes_from_its_replicas() {
        let profile = profile(
            &[("West US", 1), ("East US", 2), ("North Europe", 1)],
            ReplicationMode::Full,
        );
        let replicas = [
            replica("westus", ReplicaState::Completed, 100, 100),
            replica("eastus", ReplicaState::Completed, 100, 100),
            replica("eastus", ReplicaState::Replicating, 100, 50),
            replica("northeurope", ReplicaState::Failed, 100, 10),
            // A replica of a region being removed does not count.
            replica("westus", ReplicaState::Removing, 100, 0),
        ];
        let status = replication_status(&profile, false, &replicas);
        let summary: Vec<(&str, ReplicationState, u32, &str)> = status
            .summary
            .iter()
            .map(|region| {
                (
                    region.region.as_str(),
                    region.state,
                    region.progress,
                    region.details.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("West US", ReplicationState::Completed, 100, ""),
                ("East US", ReplicationState::Replicating, 75, ""),
                ("North Europe", ReplicationState::Failed, 10, "disk full"),
            ]
        );
        assert_eq!(status.aggregated_state, AggregatedReplicationState::Failed);
        // Without replicas (a Shallow version) a region is complete once the version settled.
        let shallow = replication_status(&profile, true, &[]);
        assert_eq!(
            shallow.aggregated_state,
            AggregatedReplicationState::Completed
        );
        let unsettled = replication_status(&profile, false, &[]);
        assert_eq!(
            unsettled.aggregated_state,
            AggregatedReplicationState::InProgress
        );
    }
}
