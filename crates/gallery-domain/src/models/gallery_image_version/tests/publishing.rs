//! The publishing core's rules as image versions meet them: target regions, replica counts,
//! storage account types, end of life, the replication plan and status, and "latest".

use super::*;

#[test]
fn target_regions_default_to_the_location_with_the_replica_count() {
    let version = Scenario::new()
        .create(
            with_properties(json!({"storageProfile": {"source": {"id": MANAGED_IMAGE}}})),
            Some(&image_in("westus")),
        )
        .unwrap();
    let profile = &version.properties.publishing_profile;
    assert_eq!(profile.replica_count, 1);
    assert_eq!(
        profile.target_regions,
        vec![TargetRegion {
            name: "West US".to_string(),
            regional_replica_count: 1,
            storage_account_type: StorageAccountType::StandardLrs,
            encryption: None,
            exclude_from_latest: None,
            additional_replica_sets: None,
        }]
    );

    let version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {"replicaCount": 3},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    assert_eq!(
        version.properties.publishing_profile.target_regions[0].regional_replica_count,
        3
    );
    // replicaCount applies to listed regions without their own count.
    let version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {"replicaCount": 4, "targetRegions": [
                    {"name": "westus"}, {"name": "East US", "regionalReplicaCount": 2}]},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    let counts: Vec<(&str, u32)> = version
        .properties
        .publishing_profile
        .target_regions
        .iter()
        .map(|region| (region.name.as_str(), region.regional_replica_count))
        .collect();
    assert_eq!(counts, [("West US", 4), ("East US", 2)]);
}

#[test]
fn target_regions_must_be_known_regions() {
    let error = assert_error(
        Scenario::new().create(
            image_version_body(json!([{"name": "West US"}, {"name": "Atlantis"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
    );
    assert!(error.message.contains("'Atlantis'"), "{}", error.message);
    assert_error(
        Scenario::new().create(
            image_version_body(json!([{"name": "West US"}, {"regionalReplicaCount": 1}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
    );
}

#[test]
fn restricted_target_regions_need_the_subscription_allow_listed() {
    let body = || image_version_body(json!([{"name": "West US"}, {"name": "Australia Central"}]));
    let error = assert_error(
        Scenario::new().create(body(), Some(&image_in("westus"))),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions[1].name",
    );
    assert!(
        error.message.contains("Australia Central"),
        "{}",
        error.message
    );
    let mut allowed = Subscription::development();
    allowed.allowed_restricted_regions = vec!["australiacentral".to_string()];
    let version = Scenario::new()
        .subscription(allowed)
        .create(body(), Some(&image_in("westus")))
        .unwrap();
    assert_eq!(
        version.properties.publishing_profile.target_regions[1].name,
        "Australia Central"
    );
}

#[test]
fn duplicate_target_regions_are_refused() {
    let error = assert_error(
        Scenario::new().create(
            image_version_body(
                json!([{"name": "West US"}, {"name": "east us"}, {"name": "westus"}]),
            ),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
    assert_eq!(
        error.message,
        "Duplicate regions are not allowed in target publishing regions."
    );
}

#[test]
fn the_location_must_be_a_target_region() {
    let error = assert_error(
        Scenario::new().create(
            image_version_body(json!([{"name": "eastus"}, {"name": "North Europe"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
    assert_eq!(
        error.message,
        "Gallery image version publishing profile regions 'East US, North Europe' must contain the location \
         of image version 'West US'."
    );
}

#[test]
fn replica_counts_are_bounded() {
    let create = |scenario: &Scenario, publishing: Value| {
        scenario.create(
            with_properties(json!({
                "publishingProfile": publishing,
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        )
    };
    let scenario = Scenario::new();
    for count in [0, 11, -1, 4_294_967_297_i64] {
        let error = assert_error(
            create(
                &scenario,
                json!({"targetRegions": [{"name": "West US", "regionalReplicaCount": count}]}),
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.publishingProfile.targetRegions[0].regionalReplicaCount",
        );
        assert_eq!(
            error.message,
            format!(
                "The value {count} of parameter \
                 'galleryImageVersion.properties.publishingProfile.targetRegions[0].regionalReplicaCount' is \
                 out of range. The value must be between 1 and 10, inclusive."
            )
        );
    }
    let error = assert_error(
        create(&scenario, json!({"replicaCount": 11})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.replicaCount",
    );
    assert!(error.message.ends_with("between 1 and 10, inclusive."));
    assert!(create(&scenario, json!({"replicaCount": 10})).is_ok());
    let generous = Scenario::new().rules(VersionRules {
        publishing: PublishingRules {
            max_replicas_per_region: 20,
            ..PublishingRules::default()
        },
        ..VersionRules::default()
    });
    assert!(
        create(
            &generous,
            json!({"targetRegions": [{"name": "West US", "regionalReplicaCount": 11}]})
        )
        .is_ok()
    );
}

#[test]
fn zone_redundant_storage_needs_availability_zones() {
    let error = assert_error(
        Scenario::new().create(
            image_version_body(json!([{"name": "West US", "storageAccountType": "Standard_ZRS"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions[0].storageAccountType",
    );
    assert_eq!(
        error.message,
        "ZRS storage account type is not supported in this region: 'westus' (West US) has no \
         availability zones. Use Standard_LRS or Premium_LRS there."
    );
    // A global Standard_ZRS applies to regions without their own type.
    let global_zrs = |location: &str, regions: Value| {
        json!({"location": location, "properties": {
            "publishingProfile": {"targetRegions": regions, "storageAccountType": "Standard_ZRS"},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }})
    };
    assert_error(
        Scenario::new().create(
            global_zrs("West US", json!([{"name": "West US"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.storageAccountType",
    );
    let version = Scenario::new()
        .create(
            global_zrs(
                "West US",
                json!([{"name": "West US", "storageAccountType": "Standard_LRS"}, {"name": "East US"}]),
            ),
            Some(&image_in("westus")),
        )
        .unwrap();
    let types: Vec<StorageAccountType> = version
        .properties
        .publishing_profile
        .target_regions
        .iter()
        .map(|region| region.storage_account_type)
        .collect();
    assert_eq!(
        types,
        [
            StorageAccountType::StandardLrs,
            StorageAccountType::StandardZrs
        ]
    );
    assert!(
        Scenario::new()
            .create(
                global_zrs("East US", json!([{"name": "East US"}])),
                Some(&image_in("eastus"))
            )
            .is_ok()
    );
}

#[test]
fn premium_storage_types_are_accepted() {
    let version = Scenario::new()
        .create(
            image_version_body(json!([
                {"name": "West US", "storageAccountType": "premium_lrs"},
                {"name": "East US", "storageAccountType": "PremiumV2_LRS"},
            ])),
            Some(&image_in("westus")),
        )
        .unwrap();
    let plan: Vec<StorageAccountType> = replication_plan(&version.properties.publishing_profile)
        .into_iter()
        .map(|replica| replica.storage_account_type)
        .collect();
    assert_eq!(
        plan,
        [
            StorageAccountType::PremiumLrs,
            StorageAccountType::PremiumV2Lrs
        ]
    );
}

#[test]
fn storage_account_type_defaults_follow_the_api_version() {
    let regions = || image_version_body(json!([{"name": "West US"}, {"name": "East US"}]));
    let types = |version: GalleryImageVersion| -> Vec<StorageAccountType> {
        version
            .properties
            .publishing_profile
            .target_regions
            .iter()
            .map(|region| region.storage_account_type)
            .collect()
    };
    // 2025-03-03: PreferStandard_ZRS is the default strategy.
    let version = Scenario::new()
        .create(regions(), Some(&image_in("westus")))
        .unwrap();
    assert_eq!(
        version.properties.publishing_profile.storage_account_type,
        Some(StorageAccountType::StandardLrs)
    );
    assert_eq!(
        version
            .properties
            .publishing_profile
            .storage_account_strategy,
        None
    );
    assert_eq!(
        types(version),
        [
            StorageAccountType::StandardLrs,
            StorageAccountType::StandardZrs
        ]
    );
    // Older api-versions: Standard_LRS everywhere.
    let version = Scenario::new()
        .api("2024-03-03")
        .create(regions(), Some(&image_in("westus")))
        .unwrap();
    assert_eq!(
        types(version),
        [
            StorageAccountType::StandardLrs,
            StorageAccountType::StandardLrs
        ]
    );
    // An explicit type, or the DefaultStandard_LRS strategy, wins over the default strategy.
    for publishing in [
        json!({"storageAccountType": "Standard_LRS"}),
        json!({"storageAccountStrategy": "DefaultStandard_LRS"}),
    ] {
        let mut publishing = publishing;
        publishing["targetRegions"] = json!([{"name": "West US"}, {"name": "East US"}]);
        let version = Scenario::new()
            .create(
                with_properties(json!({"publishingProfile": publishing, "storageProfile": {"source": {"id": MANAGED_IMAGE}}})),
                Some(&image_in("westus")),
            )
            .unwrap();
        assert_eq!(
            types(version),
            [
                StorageAccountType::StandardLrs,
                StorageAccountType::StandardLrs
            ]
        );
    }
    // The configured default type applies where no zone-redundant preference does.
    let version = Scenario::new()
        .api("2024-03-03")
        .rules(VersionRules {
            publishing: PublishingRules {
                default_storage_account_type: StorageAccountType::PremiumLrs,
                ..PublishingRules::default()
            },
            ..VersionRules::default()
        })
        .create(regions(), Some(&image_in("westus")))
        .unwrap();
    assert_eq!(
        types(version),
        [
            StorageAccountType::PremiumLrs,
            StorageAccountType::PremiumLrs
        ]
    );
}

#[test]
fn storage_account_strategy_and_type_are_exclusive() {
    assert_error(
        Scenario::new().create(
            with_properties(json!({
                "publishingProfile": {"storageAccountType": "Standard_LRS", "storageAccountStrategy": "PreferStandard_ZRS"},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
    );
}

#[test]
fn end_of_life_dates_must_be_in_the_future() {
    let body = |date: &str| {
        with_properties(json!({
            "publishingProfile": {"endOfLifeDate": date},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }))
    };
    let error = assert_error(
        Scenario::new().create(body("2025-12-31"), Some(&image_in("westus"))),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
    );
    assert_eq!(error.message, "EndOfLifeDate must be set to a future date.");
    assert_error(
        Scenario::new().create(body("someday"), Some(&image_in("westus"))),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
    );
    let version = Scenario::new()
        .create(body("2026-06-30"), Some(&image_in("westus")))
        .unwrap();
    assert_eq!(
        version
            .properties
            .publishing_profile
            .end_of_life_date
            .as_deref(),
        Some("2026-06-30T00:00:00+00:00")
    );
    // Once the date has passed, an update may repeat it, but not move it into the past.
    let later = Scenario::new().at("2026-08-01T00:00:00Z");
    assert!(
        later
            .update(
                &version,
                json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}})
            )
            .is_ok()
    );
    assert_error(
        later.update(
            &version,
            json!({"properties": {"publishingProfile": {"endOfLifeDate": "2026-07-01T00:00:00Z"}}}),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.endOfLifeDate",
    );
    let moved = later
        .update(
            &version,
            json!({"properties": {"publishingProfile": {"endOfLifeDate": "2027-01-01T00:00:00Z"}}}),
        )
        .unwrap();
    assert_eq!(
        moved
            .properties
            .publishing_profile
            .end_of_life_date
            .as_deref(),
        Some("2027-01-01T00:00:00+00:00")
    );
}

#[test]
fn replication_plan_lists_every_replica() {
    let plan = replication_plan(&created().properties.publishing_profile);
    let replicas: Vec<(&str, u32, StorageAccountType)> = plan
        .iter()
        .map(|replica| {
            (
                replica.region.as_str(),
                replica.replica_index,
                replica.storage_account_type,
            )
        })
        .collect();
    assert_eq!(
        replicas,
        [
            ("westus", 0, StorageAccountType::StandardLrs),
            ("eastus", 0, StorageAccountType::StandardZrs),
            ("eastus", 1, StorageAccountType::StandardZrs),
        ]
    );
}

#[test]
fn replication_changes_report_added_removed_and_resized_regions() {
    let existing = created();
    assert!(
        replication_changes(
            &existing.properties.publishing_profile,
            &existing.properties.publishing_profile,
        )
        .is_empty()
    );
    let updated = Scenario::new()
        .update(
            &existing,
            json!({"properties": {
                "publishingProfile": {"targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 3},
                    {"name": "North Europe"},
                ]},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": true},
            }}),
        )
        .unwrap();
    assert_eq!(
        replication_changes(
            &existing.properties.publishing_profile,
            &updated.properties.publishing_profile,
        ),
        ReplicationChanges {
            added_regions: vec!["northeurope".to_string()],
            removed_regions: vec!["eastus".to_string()],
            replica_count_changes: vec![ReplicaCountChange {
                region: "westus".to_string(),
                previous: 1,
                current: 3,
            }],
        }
    );
}

#[test]
fn replication_status_is_added_on_request() {
    let status = |states: &[ReplicationState]| -> Vec<RegionalReplicationStatus> {
        states
            .iter()
            .enumerate()
            .map(|(index, state)| RegionalReplicationStatus {
                region: format!("Region {index}"),
                state: *state,
                details: String::new(),
                progress: if *state == ReplicationState::Completed {
                    100
                } else {
                    40
                },
            })
            .collect()
    };
    use ReplicationState::{Completed, Failed, Replicating, Unknown};
    for (states, expected) in [
        (vec![], AggregatedReplicationState::Unknown),
        (vec![Unknown, Unknown], AggregatedReplicationState::Unknown),
        (
            vec![Completed, Completed],
            AggregatedReplicationState::Completed,
        ),
        (
            vec![Completed, Replicating],
            AggregatedReplicationState::InProgress,
        ),
        (
            vec![Completed, Unknown],
            AggregatedReplicationState::InProgress,
        ),
        (
            vec![Completed, Failed, Replicating],
            AggregatedReplicationState::Failed,
        ),
    ] {
        assert_eq!(aggregate(&status(&states)), expected, "{states:?}");
    }
    let version = created();
    let document = serde_json::to_value(&version).unwrap();
    let expanded = with_replication_status(
        document,
        &ReplicationStatus::from_summary(vec![
            RegionalReplicationStatus {
                region: "West US".to_string(),
                state: Completed,
                details: String::new(),
                progress: 100,
            },
            RegionalReplicationStatus {
                region: "East US".to_string(),
                state: Completed,
                details: String::new(),
                progress: 100,
            },
        ]),
    );
    // GalleryImageVersion_Get_WithReplicationStatus.json
    assert_eq!(
        expanded["properties"]["replicationStatus"],
        json!({"aggregatedState": "Completed", "summary": [
            {"region": "West US", "state": "Completed", "details": "", "progress": 100},
            {"region": "East US", "state": "Completed", "details": "", "progress": 100},
        ]})
    );
    // The stored shape still reads the expanded document (replicationStatus is not stored).
    let back: GalleryImageVersion = serde_json::from_value(expanded).unwrap();
    assert_eq!(back, version);
}

#[test]
fn latest_candidates_come_from_stored_versions() {
    let existing = created();
    let excluded = Scenario::new()
        .named("2.0.0")
        .create(
            with_properties(json!({
                "publishingProfile": {"excludeFromLatest": true, "targetRegions": [
                    {"name": "West US"}, {"name": "East US", "excludeFromLatest": false}]},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    let mut creating = Scenario::new()
        .named("3.0.0")
        .create(
            image_version_body(json!([{"name": "West US"}])),
            Some(&image_in("westus")),
        )
        .unwrap();
    creating.properties.provisioning_state = ProvisioningState::Creating;
    let candidates: Vec<LatestCandidate> = [&existing, &excluded, &creating]
        .into_iter()
        .filter_map(|version| {
            latest::candidate(
                &version.name,
                &version.properties.publishing_profile,
                version.properties.provisioning_state,
            )
        })
        .collect();
    let latest = |region| latest::resolve(candidates.clone(), region).map(|winner| winner.name);
    assert_eq!(latest(None).as_deref(), Some("1.0.0"));
    assert_eq!(latest(Some("West US")).as_deref(), Some("1.0.0"));
    // A regional `false` does not bring back a globally excluded version.
    assert_eq!(latest(Some("eastus")).as_deref(), Some("1.0.0"));
    assert!(!is_usable(ProvisioningState::Deleting));
    assert!(is_usable(ProvisioningState::Updating));
}
