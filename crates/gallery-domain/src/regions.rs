//! The built-in catalog of Azure public regions.
//!
//! Locations in requests are matched ignoring case and whitespace ("West US", "westus" and "West us"
//! are one region, as ARM requires) and stored and served by their short name. The catalog also
//! drives later rules: availability-zone support (ZRS storage) and restricted-access regions that a
//! subscription must be allow-listed for (Australia Central and others).

use serde::Serialize;

/// One Azure region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// Short name, e.g. `westus`.
    pub name: &'static str,
    /// Display name, e.g. `West US`.
    pub display_name: &'static str,
    /// Geography group, e.g. `US`, `Europe`.
    pub geography_group: &'static str,
    /// City or area the datacenters are in.
    pub physical_location: &'static str,
    /// The paired region's short name, if the region has one.
    pub paired_region: Option<&'static str>,
    /// Whether the region has availability zones (Standard_ZRS storage needs them).
    pub availability_zones: bool,
    /// Whether access needs a request (subscription allow-listing), like Australia Central.
    pub restricted: bool,
}

macro_rules! region {
    ($name:literal, $display:literal, $group:literal, $place:literal, $pair:expr, zones: $zones:literal, restricted: $restricted:literal) => {
        Region {
            name: $name,
            display_name: $display,
            geography_group: $group,
            physical_location: $place,
            paired_region: $pair,
            availability_zones: $zones,
            restricted: $restricted,
        }
    };
}

/// Every region galleryd knows, in the order `GET /subscriptions/{s}/locations` lists them.
pub static REGIONS: &[Region] = &[
    region!("eastus", "East US", "US", "Virginia", Some("westus"), zones: true, restricted: false),
    region!("eastus2", "East US 2", "US", "Virginia", Some("centralus"), zones: true, restricted: false),
    region!("southcentralus", "South Central US", "US", "Texas", Some("northcentralus"), zones: true, restricted: false),
    region!("westus2", "West US 2", "US", "Washington", Some("westcentralus"), zones: true, restricted: false),
    region!("westus3", "West US 3", "US", "Phoenix", Some("eastus"), zones: true, restricted: false),
    region!("centralus", "Central US", "US", "Iowa", Some("eastus2"), zones: true, restricted: false),
    region!("northcentralus", "North Central US", "US", "Illinois", Some("southcentralus"), zones: false, restricted: false),
    region!("westus", "West US", "US", "California", Some("eastus"), zones: false, restricted: false),
    region!("westcentralus", "West Central US", "US", "Wyoming", Some("westus2"), zones: false, restricted: false),
    region!("canadacentral", "Canada Central", "Canada", "Toronto", Some("canadaeast"), zones: true, restricted: false),
    region!("canadaeast", "Canada East", "Canada", "Quebec", Some("canadacentral"), zones: false, restricted: false),
    region!("brazilsouth", "Brazil South", "South America", "Sao Paulo State", Some("southcentralus"), zones: true, restricted: false),
    region!("brazilsoutheast", "Brazil Southeast", "South America", "Rio", Some("brazilsouth"), zones: false, restricted: true),
    region!("mexicocentral", "Mexico Central", "Mexico", "Queretaro State", None, zones: true, restricted: false),
    region!("chilecentral", "Chile Central", "South America", "Santiago", None, zones: true, restricted: false),
    region!("northeurope", "North Europe", "Europe", "Ireland", Some("westeurope"), zones: true, restricted: false),
    region!("westeurope", "West Europe", "Europe", "Netherlands", Some("northeurope"), zones: true, restricted: false),
    region!("uksouth", "UK South", "UK", "London", Some("ukwest"), zones: true, restricted: false),
    region!("ukwest", "UK West", "UK", "Cardiff", Some("uksouth"), zones: false, restricted: false),
    region!("francecentral", "France Central", "Europe", "Paris", Some("francesouth"), zones: true, restricted: false),
    region!("francesouth", "France South", "Europe", "Marseille", Some("francecentral"), zones: false, restricted: true),
    region!("germanywestcentral", "Germany West Central", "Europe", "Frankfurt", Some("germanynorth"), zones: true, restricted: false),
    region!("germanynorth", "Germany North", "Europe", "Berlin", Some("germanywestcentral"), zones: false, restricted: true),
    region!("switzerlandnorth", "Switzerland North", "Europe", "Zurich", Some("switzerlandwest"), zones: true, restricted: false),
    region!("switzerlandwest", "Switzerland West", "Europe", "Geneva", Some("switzerlandnorth"), zones: false, restricted: true),
    region!("norwayeast", "Norway East", "Europe", "Oslo", Some("norwaywest"), zones: true, restricted: false),
    region!("norwaywest", "Norway West", "Europe", "Stavanger", Some("norwayeast"), zones: false, restricted: true),
    region!("swedencentral", "Sweden Central", "Europe", "Gavle", Some("swedensouth"), zones: true, restricted: false),
    region!("swedensouth", "Sweden South", "Europe", "Malmo", Some("swedencentral"), zones: false, restricted: true),
    region!("polandcentral", "Poland Central", "Europe", "Warsaw", None, zones: true, restricted: false),
    region!("italynorth", "Italy North", "Europe", "Milan", None, zones: true, restricted: false),
    region!("spaincentral", "Spain Central", "Europe", "Madrid", None, zones: true, restricted: false),
    region!("eastasia", "East Asia", "Asia Pacific", "Hong Kong", Some("southeastasia"), zones: true, restricted: false),
    region!("southeastasia", "Southeast Asia", "Asia Pacific", "Singapore", Some("eastasia"), zones: true, restricted: false),
    region!("australiaeast", "Australia East", "Asia Pacific", "New South Wales", Some("australiasoutheast"), zones: true, restricted: false),
    region!("australiasoutheast", "Australia Southeast", "Asia Pacific", "Victoria", Some("australiaeast"), zones: false, restricted: false),
    region!("australiacentral", "Australia Central", "Asia Pacific", "Canberra", Some("australiacentral2"), zones: false, restricted: true),
    region!("australiacentral2", "Australia Central 2", "Asia Pacific", "Canberra", Some("australiacentral"), zones: false, restricted: true),
    region!("japaneast", "Japan East", "Asia Pacific", "Tokyo, Saitama", Some("japanwest"), zones: true, restricted: false),
    region!("japanwest", "Japan West", "Asia Pacific", "Osaka", Some("japaneast"), zones: false, restricted: false),
    region!("koreacentral", "Korea Central", "Asia Pacific", "Seoul", Some("koreasouth"), zones: true, restricted: false),
    region!("koreasouth", "Korea South", "Asia Pacific", "Busan", Some("koreacentral"), zones: false, restricted: false),
    region!("centralindia", "Central India", "Asia Pacific", "Pune", Some("southindia"), zones: true, restricted: false),
    region!("southindia", "South India", "Asia Pacific", "Chennai", Some("centralindia"), zones: false, restricted: false),
    region!("westindia", "West India", "Asia Pacific", "Mumbai", Some("southindia"), zones: false, restricted: false),
    region!("jioindiacentral", "Jio India Central", "Asia Pacific", "Nagpur", Some("jioindiawest"), zones: false, restricted: true),
    region!("jioindiawest", "Jio India West", "Asia Pacific", "Jamnagar", Some("jioindiacentral"), zones: false, restricted: true),
    region!("newzealandnorth", "New Zealand North", "Asia Pacific", "Auckland", None, zones: true, restricted: false),
    region!("indonesiacentral", "Indonesia Central", "Asia Pacific", "Jakarta", None, zones: true, restricted: false),
    region!("malaysiawest", "Malaysia West", "Asia Pacific", "Kuala Lumpur", None, zones: true, restricted: false),
    region!("uaenorth", "UAE North", "Middle East", "Dubai", Some("uaecentral"), zones: true, restricted: false),
    region!("uaecentral", "UAE Central", "Middle East", "Abu Dhabi", Some("uaenorth"), zones: false, restricted: true),
    region!("qatarcentral", "Qatar Central", "Middle East", "Doha", None, zones: true, restricted: false),
    region!("israelcentral", "Israel Central", "Middle East", "Israel", None, zones: true, restricted: false),
    region!("southafricanorth", "South Africa North", "Africa", "Johannesburg", Some("southafricawest"), zones: true, restricted: false),
    region!("southafricawest", "South Africa West", "Africa", "Cape Town", Some("southafricanorth"), zones: false, restricted: true),
];

/// The catalog key of a location as a client may spell it: lower case, no whitespace.
/// A location with whitespace removed and lower-cased: how locations are compared (and, for known
/// regions, their short name).
pub(crate) fn location_key(location: &str) -> String {
    location
        .chars()
        .filter(|character| !character.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Finds a region by short or display name, ignoring case and whitespace.
pub fn find(location: &str) -> Option<&'static Region> {
    let key = location_key(location);
    if key.is_empty() {
        return None;
    }
    REGIONS.iter().find(|region| region.name == key)
}

/// Whether two locations name the same region (short or display names, any casing); locations the
/// catalog does not know are compared ignoring case.
pub fn same_region(left: &str, right: &str) -> bool {
    match (find(left), find(right)) {
        (Some(left), Some(right)) => left.name == right.name,
        _ => left.eq_ignore_ascii_case(right),
    }
}

/// Display names of every region, for provider resource-type listings.
pub fn display_names() -> Vec<&'static str> {
    REGIONS.iter().map(|region| region.display_name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_match_ignoring_case_and_spaces() {
        assert_eq!(find("West US").unwrap().name, "westus");
        assert_eq!(find("westus").unwrap().name, "westus");
        assert_eq!(find(" West us ").unwrap().name, "westus");
        assert_eq!(
            find("Australia Central 2").unwrap().name,
            "australiacentral2"
        );
        assert!(find("atlantis").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn catalog_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for region in REGIONS {
            assert!(names.insert(region.name), "duplicate {}", region.name);
            assert_eq!(
                location_key(region.display_name),
                region.name,
                "display name of {}",
                region.name
            );
            if let Some(pair) = region.paired_region {
                assert!(find(pair).is_some(), "pair of {}", region.name);
            }
        }
        assert!(find("australiacentral").unwrap().restricted);
        assert!(!find("westus").unwrap().availability_zones);
        assert!(find("eastus").unwrap().availability_zones);
    }
}
