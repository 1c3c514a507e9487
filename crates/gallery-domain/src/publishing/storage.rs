//! Storage account types of replicas: the spec's enums, and which type a target region gets when
//! the request does not name one.
//!
//! A target region's own `storageAccountType` wins, then the version's; without either,
//! `storageAccountStrategy: PreferStandard_ZRS` (the spec's default from api-version 2025-03-03)
//! gives `Standard_ZRS` in regions with availability zones and the configured default elsewhere;
//! older api-versions and `DefaultStandard_LRS` give the default type everywhere. `Standard_ZRS`
//! needs a region with availability zones.

use crate::ServiceError;
use crate::publishing::PublishingRules;
use crate::regions::Region;

crate::string_enum! {
    /// StorageAccountType.
    pub enum StorageAccountType {
        StandardLrs = "Standard_LRS",
        StandardZrs = "Standard_ZRS",
        PremiumLrs = "Premium_LRS",
        PremiumV2Lrs = "PremiumV2_LRS",
    }
}

crate::string_enum! {
    /// StorageAccountStrategy.
    pub enum StorageAccountStrategy {
        PreferStandardZrs = "PreferStandard_ZRS",
        DefaultStandardLrs = "DefaultStandard_LRS",
    }
}

/// How a target region without its own `storageAccountType` gets one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RegionalDefault {
    /// The version's `storageAccountType`.
    Version(StorageAccountType),
    /// `Standard_ZRS` where the region has availability zones, else `fallback`.
    PreferZoneRedundant { fallback: StorageAccountType },
    /// Always this type.
    Fixed(StorageAccountType),
}

impl RegionalDefault {
    /// The type a region without its own gets.
    pub(crate) fn for_region(self, region: &Region) -> StorageAccountType {
        match self {
            RegionalDefault::Version(kind) | RegionalDefault::Fixed(kind) => kind,
            RegionalDefault::PreferZoneRedundant { .. } if region.availability_zones => {
                StorageAccountType::StandardZrs
            }
            RegionalDefault::PreferZoneRedundant { fallback } => fallback,
        }
    }

    /// The default a strategy gives; without one, `prefer_zone_redundant_by_default` (api-version
    /// 2025-03-03 and later) decides between `PreferStandard_ZRS` and the configured default.
    pub(crate) fn from_strategy(
        strategy: Option<StorageAccountStrategy>,
        prefer_zone_redundant_by_default: bool,
        rules: &PublishingRules,
    ) -> Self {
        match strategy {
            Some(StorageAccountStrategy::PreferStandardZrs) => {
                RegionalDefault::PreferZoneRedundant {
                    fallback: StorageAccountType::StandardLrs,
                }
            }
            Some(StorageAccountStrategy::DefaultStandardLrs) => {
                RegionalDefault::Fixed(StorageAccountType::StandardLrs)
            }
            None if prefer_zone_redundant_by_default => RegionalDefault::PreferZoneRedundant {
                fallback: rules.default_storage_account_type,
            },
            None => RegionalDefault::Fixed(rules.default_storage_account_type),
        }
    }
}

/// `Standard_ZRS` needs a region with availability zones: 400 `InvalidParameter` on `target`
/// (the target region's index), with Azure's documented sentence naming the region it refers to.
pub(crate) fn check_zone_redundancy(
    kind: StorageAccountType,
    region: &Region,
    target: &str,
) -> Result<(), ServiceError> {
    if kind == StorageAccountType::StandardZrs && !region.availability_zones {
        return Err(ServiceError::invalid_parameter(
            target,
            format!(
                "ZRS storage account type is not supported in this region: '{}' ({}) has no availability \
                 zones. Use Standard_LRS or Premium_LRS there.",
                region.name, region.display_name
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions;

    #[test]
    fn regions_without_their_own_type_follow_the_default() {
        let rules = PublishingRules::default();
        let zoned = regions::find("eastus").unwrap();
        let unzoned = regions::find("westus").unwrap();
        let prefer = RegionalDefault::from_strategy(None, true, &rules);
        assert_eq!(prefer.for_region(zoned), StorageAccountType::StandardZrs);
        assert_eq!(prefer.for_region(unzoned), StorageAccountType::StandardLrs);
        let fixed = RegionalDefault::from_strategy(None, false, &rules);
        assert_eq!(fixed.for_region(zoned), StorageAccountType::StandardLrs);
        let version = RegionalDefault::Version(StorageAccountType::PremiumLrs);
        assert_eq!(version.for_region(zoned), StorageAccountType::PremiumLrs);
        assert!(check_zone_redundancy(StorageAccountType::StandardZrs, unzoned, "t").is_err());
        assert!(check_zone_redundancy(StorageAccountType::StandardZrs, zoned, "t").is_ok());
    }
}
