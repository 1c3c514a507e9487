//! The safety rules every published artifact shares (`GalleryArtifactSafetyProfileBase`): removing
//! a target region needs `safetyProfile.allowDeletionOfReplicatedLocations`, and a version being
//! deleted takes no more updates.
//!
//! Removing a target region without the setting (in the request or already stored) is 409
//! `OperationNotAllowed`: the property may change, the safety setting forbids this change (the
//! real service's code is unverified).

use crate::ServiceError;
use crate::error::ErrorCode;
use crate::models::ProvisioningState;
use crate::publishing::ArtifactKind;
use crate::publishing::profile::PublishingProfile;
use crate::regions::same_region;

/// A version being deleted cannot be updated: 409 `OperationNotAllowed`.
pub fn check_updatable(
    kind: &ArtifactKind,
    name: &str,
    state: ProvisioningState,
) -> Result<(), ServiceError> {
    if state != ProvisioningState::Deleting {
        return Ok(());
    }
    Err(ServiceError::new(
        409,
        ErrorCode::OperationNotAllowed,
        format!(
            "Operation 'Update {}' is not allowed on {name} since it is marked for deletion.",
            kind.title
        ),
    ))
}

/// Decides `safetyProfile.allowDeletionOfReplicatedLocations`: the requested value, else the
/// stored one (false on create). An update (`stored` is the stored profile and setting) that
/// removes target regions must be allowed to, by the request or by the stored setting.
pub fn decide_allow_deletion(
    kind: &ArtifactKind,
    stored: Option<(&PublishingProfile, bool)>,
    decided: &PublishingProfile,
    requested: Option<bool>,
) -> Result<bool, ServiceError> {
    let stored_allows = stored.is_some_and(|(_, allows)| allows);
    if let Some((stored_profile, _)) = stored {
        let removed: Vec<String> = stored_profile
            .target_regions
            .iter()
            .filter(|old| {
                !decided
                    .target_regions
                    .iter()
                    .any(|new| same_region(&new.name, &old.name))
            })
            .map(|old| old.name.clone())
            .collect();
        let allowed = requested == Some(true) || stored_allows;
        if !removed.is_empty() && !allowed {
            return Err(removed_region_refused(kind, &removed));
        }
    }
    Ok(requested.unwrap_or(stored_allows))
}

fn removed_region_refused(kind: &ArtifactKind, removed: &[String]) -> ServiceError {
    ServiceError::new(
        409,
        ErrorCode::OperationNotAllowed,
        format!(
            "Either allowDeletionOfReplicatedLocations is not set as true or the replicated locations are not \
             allowed to be deleted. Set 'safetyProfile.allowDeletionOfReplicatedLocations' to true to remove \
             the target region(s) '{}'.",
            removed.join(", ")
        ),
    )
    .with_target(kind.target("publishingProfile.targetRegions"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publishing::{ReplicationMode, StorageAccountType, TargetRegion};

    fn profile(regions: &[&str]) -> PublishingProfile {
        PublishingProfile {
            target_regions: regions
                .iter()
                .map(|name| TargetRegion {
                    name: name.to_string(),
                    regional_replica_count: 1,
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
            storage_account_type: None,
            replication_mode: ReplicationMode::Full,
            target_extended_locations: None,
            storage_account_strategy: None,
        }
    }

    #[test]
    fn removing_a_region_needs_the_setting_requested_or_stored() {
        let kind = ArtifactKind::IMAGE_VERSION;
        let stored = profile(&["West US", "East US"]);
        let fewer = profile(&["West US"]);
        let refused = decide_allow_deletion(&kind, Some((&stored, false)), &fewer, None)
            .expect_err("removal refused");
        assert_eq!(
            (refused.status, refused.code, refused.target.as_deref()),
            (
                409,
                ErrorCode::OperationNotAllowed,
                Some("galleryImageVersion.properties.publishingProfile.targetRegions")
            )
        );
        assert!(refused.message.contains("'East US'"), "{}", refused.message);
        assert_eq!(
            decide_allow_deletion(&kind, Some((&stored, false)), &fewer, Some(true)),
            Ok(true)
        );
        assert_eq!(
            decide_allow_deletion(&kind, Some((&stored, true)), &fewer, None),
            Ok(true)
        );
        // Keeping every region needs nothing; a create starts from false.
        assert_eq!(
            decide_allow_deletion(&kind, Some((&stored, false)), &stored, None),
            Ok(false)
        );
        assert_eq!(decide_allow_deletion(&kind, None, &fewer, None), Ok(false));
    }

    #[test]
    fn a_version_being_deleted_takes_no_updates() {
        let kind = ArtifactKind::IMAGE_VERSION;
        assert!(check_updatable(&kind, "1.0.0", ProvisioningState::Succeeded).is_ok());
        let refused = check_updatable(&kind, "1.0.0", ProvisioningState::Deleting).unwrap_err();
        assert_eq!(refused.code, ErrorCode::OperationNotAllowed);
        assert_eq!(
            refused.message,
            "Operation 'Update Gallery Image Version' is not allowed on 1.0.0 since it is marked for deletion."
        );
    }
}
