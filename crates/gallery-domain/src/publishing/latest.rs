//! Resolving "latest": which version a VM asking for `versions/latest` gets.
//!
//! Azure picks the version with the highest `Major.Minor.Patch` among those not excluded from
//! latest. A version may be excluded globally (`publishingProfile.excludeFromLatest`) or per target
//! region (`publishingProfile.targetRegions[].excludeFromLatest`): a version is out of "latest" in a
//! region when either flag excludes it. A regional `false` never brings back a globally excluded
//! version, since clients that read a version and write it back (SDKs, `az`) echo `false` for every
//! region they did not mean to set. When a region is
//! asked for, only versions replicated to that region count. Versions that are not usable (still
//! being created, failed, being deleted, soft-deleted) never count.
//!
//! The resolver is a pure function over [`LatestCandidate`]s so the store can feed it whatever rows
//! it read ([`candidate`] makes one of any published version); [`no_latest_version`] is the error
//! callers answer with when nothing is eligible.

use crate::ErrorCode;
use crate::ServiceError;
use crate::models::ProvisioningState;
use crate::publishing::PublishingProfile;
use crate::version_name::VersionName;

/// A target region of a candidate version and its own `excludeFromLatest`, if it sets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRegion {
    /// The region, in any spelling (`West US`, `westus`).
    pub name: String,
    /// `targetRegions[].excludeFromLatest`; `None` when the region does not set it.
    pub exclude_from_latest: Option<bool>,
}

/// What the resolver needs to know about one image version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCandidate {
    /// The version's resource name as stored (`1.0.0`; may differ from `version.to_string()` when
    /// the name has leading zeros).
    pub name: String,
    /// The parsed name.
    pub version: VersionName,
    /// `publishingProfile.excludeFromLatest`.
    pub exclude_from_latest: bool,
    /// `publishingProfile.targetRegions`.
    pub target_regions: Vec<CandidateRegion>,
    /// Whether the version can be deployed at all: false while it is being created or deleted, when
    /// it failed, or when it is soft-deleted.
    pub usable: bool,
}

impl LatestCandidate {
    /// Whether the version counts as a candidate for "latest" in `region` (or anywhere when `None`).
    pub fn eligible(&self, region: Option<&str>) -> bool {
        if !self.usable {
            return false;
        }
        let Some(region) = region else {
            return !self.exclude_from_latest;
        };
        let wanted = region_key(region);
        let Some(target) = self
            .target_regions
            .iter()
            .find(|target| region_key(&target.name) == wanted)
        else {
            return false;
        };
        !self.exclude_from_latest && target.exclude_from_latest != Some(true)
    }
}

/// Whether a version in `state` can be deployed (and so counts for "latest").
pub fn is_usable(state: ProvisioningState) -> bool {
    matches!(
        state,
        ProvisioningState::Succeeded | ProvisioningState::Updating | ProvisioningState::Migrating
    )
}

/// A published version named `name` as [`resolve`] sees it; `None` if its name is not a version
/// number (never true of a version galleryd created).
pub fn candidate(
    name: &str,
    profile: &PublishingProfile,
    state: ProvisioningState,
) -> Option<LatestCandidate> {
    Some(LatestCandidate {
        name: name.to_string(),
        version: VersionName::parse(name).ok()?,
        exclude_from_latest: profile.exclude_from_latest,
        target_regions: profile
            .target_regions
            .iter()
            .map(|region| CandidateRegion {
                name: region.name.clone(),
                exclude_from_latest: region.exclude_from_latest,
            })
            .collect(),
        usable: is_usable(state),
    })
}

/// A region compared the way ARM compares locations: lower case, no whitespace.
fn region_key(region: &str) -> String {
    region
        .chars()
        .filter(|character| !character.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The highest eligible version, or `None` when no version is eligible. Among versions with equal
/// numbers (`1.0.0` and `01.0.0`) the one whose stored name sorts last wins, so the answer never
/// depends on the order of the input.
pub fn resolve<I>(candidates: I, region: Option<&str>) -> Option<LatestCandidate>
where
    I: IntoIterator<Item = LatestCandidate>,
{
    candidates
        .into_iter()
        .filter(|candidate| candidate.eligible(region))
        .max_by(|left, right| {
            left.version
                .cmp(&right.version)
                .then_with(|| left.name.cmp(&right.name))
        })
}

/// The error for an image definition with no eligible version: 404 `NotFound`, with Azure's
/// message ("There is no latest image version exists for …", sic). `image_definition_id` is the
/// definition's resource id.
pub fn no_latest_version(image_definition_id: &str) -> ServiceError {
    ServiceError::new(
        404,
        ErrorCode::NotFound,
        format!("There is no latest image version exists for \"{image_definition_id}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(
        name: &str,
        global_exclude: bool,
        regions: &[(&str, Option<bool>)],
    ) -> LatestCandidate {
        LatestCandidate {
            name: name.to_string(),
            version: VersionName::parse(name).unwrap(),
            exclude_from_latest: global_exclude,
            target_regions: regions
                .iter()
                .map(|(region, exclude)| CandidateRegion {
                    name: region.to_string(),
                    exclude_from_latest: *exclude,
                })
                .collect(),
            usable: true,
        }
    }

    fn latest(candidates: &[LatestCandidate], region: Option<&str>) -> Option<String> {
        resolve(candidates.to_vec(), region).map(|winner| winner.name)
    }

    #[test]
    fn the_highest_version_wins_numerically() {
        let candidates = [
            candidate("1.9.0", false, &[("West US", None)]),
            candidate("1.10.0", false, &[("West US", None)]),
            candidate("1.2.0", false, &[("West US", None)]),
        ];
        assert_eq!(latest(&candidates, None).as_deref(), Some("1.10.0"));
        assert_eq!(
            latest(&candidates, Some("westus")).as_deref(),
            Some("1.10.0")
        );
    }

    #[test]
    fn globally_excluded_versions_are_skipped() {
        let candidates = [
            candidate("1.0.0", false, &[("West US", None)]),
            candidate("2.0.0", true, &[("West US", None)]),
        ];
        assert_eq!(latest(&candidates, None).as_deref(), Some("1.0.0"));
        assert_eq!(
            latest(&candidates, Some("West US")).as_deref(),
            Some("1.0.0")
        );
    }

    #[test]
    fn a_regional_true_hides_a_globally_included_version_in_that_region_only() {
        let candidates = [
            candidate("1.0.0", false, &[("West US", None), ("East US", None)]),
            candidate(
                "2.0.0",
                false,
                &[("West US", Some(true)), ("East US", None)],
            ),
        ];
        assert_eq!(
            latest(&candidates, Some("westus")).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(
            latest(&candidates, Some("East US")).as_deref(),
            Some("2.0.0")
        );
        // Without a region only the global flag matters.
        assert_eq!(latest(&candidates, None).as_deref(), Some("2.0.0"));
    }

    #[test]
    fn a_regional_false_does_not_bring_back_a_globally_excluded_version() {
        let candidates = [
            candidate("1.0.0", false, &[("West US", None), ("East US", None)]),
            candidate(
                "2.0.0",
                true,
                &[("West US", Some(false)), ("East US", None)],
            ),
        ];
        assert_eq!(
            latest(&candidates, Some("West US")).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(
            latest(&candidates, Some("eastus")).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(latest(&candidates, None).as_deref(), Some("1.0.0"));
    }

    #[test]
    fn a_region_needs_the_version_replicated_there() {
        let candidates = [
            candidate("1.0.0", false, &[("West US", None), ("East US", None)]),
            candidate("2.0.0", false, &[("West US", None)]),
        ];
        assert_eq!(
            latest(&candidates, Some("East US")).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(latest(&candidates, Some("North Europe")), None);
    }

    #[test]
    fn unusable_versions_never_count() {
        let mut creating = candidate("3.0.0", false, &[("West US", None)]);
        creating.usable = false;
        let candidates = [candidate("1.0.0", false, &[("West US", None)]), creating];
        assert_eq!(latest(&candidates, None).as_deref(), Some("1.0.0"));
        assert_eq!(
            latest(&candidates, Some("West US")).as_deref(),
            Some("1.0.0")
        );
    }

    #[test]
    fn nothing_eligible_is_none_and_the_caller_has_an_error_for_it() {
        assert_eq!(latest(&[], None), None);
        let candidates = [candidate("1.0.0", true, &[("West US", None)])];
        assert_eq!(latest(&candidates, None), None);
        let error = no_latest_version(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i",
        );
        assert_eq!(error.status, 404);
        assert!(
            error
                .message
                .starts_with("There is no latest image version exists for")
        );
    }

    #[test]
    fn equal_numbers_resolve_the_same_whatever_the_input_order() {
        let forward = [
            candidate("1.0.0", false, &[("West US", None)]),
            candidate("01.0.0", false, &[("West US", None)]),
        ];
        let mut backward = forward.clone();
        backward.reverse();
        assert_eq!(latest(&forward, None), latest(&backward, None));
    }
}
