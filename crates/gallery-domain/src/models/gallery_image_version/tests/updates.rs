//! What an update may change, what it keeps, and what deleting needs.

use super::*;

#[test]
fn deletion_can_be_blocked_until_the_end_of_life() {
    let version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {"endOfLifeDate": "2026-06-30T00:00:00Z"},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                "safetyProfile": {"blockDeletionBeforeEndOfLife": true},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    let error = check_delete_allowed(&version, instant("2026-03-01T00:00:00Z")).unwrap_err();
    assert_eq!(
        (error.status, error.code.as_str()),
        (409, "DeleteGalleryImageVersionBlockedBeforeEndOfLife")
    );
    assert!(error.message.contains("2026-06-30"), "{}", error.message);
    assert!(check_delete_allowed(&version, instant("2026-06-30T00:00:00Z")).is_ok());
    assert!(check_delete_allowed(&version, instant("2027-01-01T00:00:00Z")).is_ok());
    // Without the flag nothing blocks; with it but without a date, deletion waits for the flag.
    assert!(check_delete_allowed(&created(), instant("2026-03-01T00:00:00Z")).is_ok());
    let mut undated = version.clone();
    undated.properties.publishing_profile.end_of_life_date = None;
    let error = check_delete_allowed(&undated, instant("2030-01-01T00:00:00Z")).unwrap_err();
    assert_eq!(
        error.code,
        ErrorCode::DeleteGalleryImageVersionBlockedBeforeEndOfLife
    );
    // Clearing the flag (an allowed update) unblocks.
    let unblocked = Scenario::new()
        .update(
            &version,
            json!({"properties": {"safetyProfile": {"blockDeletionBeforeEndOfLife": false}}}),
        )
        .unwrap();
    assert!(check_delete_allowed(&unblocked, instant("2026-03-01T00:00:00Z")).is_ok());
}

#[test]
fn immutable_properties_cannot_change() {
    let existing = created();
    let scenario = Scenario::new();
    for (properties, target) in [
        (
            json!({"storageProfile": {"source": {"id": OTHER_IMAGE}}}),
            "galleryImageVersion.properties.storageProfile.source.id",
        ),
        (
            json!({"storageProfile": {"source": {"communityGalleryImageId": "/communityGalleries/c/images/i"}}}),
            "galleryImageVersion.properties.storageProfile.source.communityGalleryImageId",
        ),
        (
            json!({"storageProfile": {"osDiskImage": {"hostCaching": "ReadWrite"}}}),
            "galleryImageVersion.properties.storageProfile.osDiskImage.hostCaching",
        ),
        (
            json!({"publishingProfile": {"storageAccountType": "Premium_LRS"}}),
            "galleryImageVersion.properties.publishingProfile.storageAccountType",
        ),
        (
            json!({"publishingProfile": {"storageAccountStrategy": "PreferStandard_ZRS"}}),
            "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
        ),
        (
            json!({"publishingProfile": {"replicationMode": "Shallow"}}),
            "galleryImageVersion.properties.publishingProfile.replicationMode",
        ),
        (
            json!({"publishingProfile": {"targetRegions": [
                {"name": "West US"}, {"name": "East US", "storageAccountType": "Standard_LRS"}]}}),
            "galleryImageVersion.properties.publishingProfile.targetRegions[1].storageAccountType",
        ),
        (
            json!({"publishingProfile": {"targetRegions": [
                {"name": "West US", "encryption": encryption("another", &[])}, {"name": "East US"}]}}),
            "galleryImageVersion.properties.publishingProfile.targetRegions[0].encryption",
        ),
        (
            json!({"securityProfile": {"uefiSettings": {"signatureTemplateNames": ["MicrosoftWindowsTemplate"]}}}),
            "galleryImageVersion.properties.securityProfile",
        ),
    ] {
        let error = assert_error(
            scenario.update(&existing, json!({"properties": properties.clone()})),
            409,
            "PropertyChangeNotAllowed",
            target,
        );
        assert_eq!(
            error.message,
            format!("Changing property '{target}' is not allowed.")
        );
        // A PUT says the same.
        assert_error(
            scenario.replace(&existing, with_properties(properties)),
            409,
            "PropertyChangeNotAllowed",
            target,
        );
    }
    // Repeating values (ids in any casing) is not a change.
    assert!(
        scenario
            .update(
                &existing,
                json!({"properties": {
                    "storageProfile": {"source": {"id": MANAGED_IMAGE.to_uppercase()}, "osDiskImage": {"hostCaching": "readonly"}},
                    "publishingProfile": {"storageAccountType": "Standard_LRS", "replicationMode": "Full"},
                }})
            )
            .is_ok()
    );
}

#[test]
fn disk_sources_cannot_change() {
    let existing = created_from_disks();
    let scenario = Scenario::new();
    assert_error(
        scenario.update(
            &existing,
            json!({"properties": {"storageProfile": {"osDiskImage": {"source": {"id": OTHER_DISK}}}}}),
        ),
        409,
        "PropertyChangeNotAllowed",
        "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
    );
    assert_error(
        scenario.update(
            &existing,
            json!({"properties": {"storageProfile": {"dataDiskImages": [{"lun": 0, "source": {"id": OTHER_DISK}}]}}}),
        ),
        409,
        "PropertyChangeNotAllowed",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[0].source.id",
    );
    let error = assert_error(
        scenario.update(
            &existing,
            json!({"properties": {"storageProfile": {"dataDiskImages": [
                {"lun": 0, "source": {"id": DATA_DISK}}, {"lun": 5, "source": {"id": OTHER_DISK}}]}}}),
        ),
        409,
        "PropertyChangeNotAllowed",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[1].lun",
    );
    assert!(error.message.contains("Adding new Data Disks"));
    assert!(
        scenario
            .update(
                &existing,
                json!({"properties": {"storageProfile": {"dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}]}}})
            )
            .is_ok()
    );
}

#[test]
fn target_regions_replica_counts_and_flags_may_change() {
    let existing = created();
    let updated = Scenario::new()
        .update(
            &existing,
            json!({"properties": {
                "publishingProfile": {
                    "replicaCount": 2,
                    "excludeFromLatest": true,
                    "targetRegions": [
                        {"name": "West US", "regionalReplicaCount": 3, "excludeFromLatest": false},
                        {"name": "East US"},
                        {"name": "North Europe", "storageAccountType": "Standard_ZRS"},
                        {"name": "West Europe"},
                    ],
                },
                "safetyProfile": {"blockDeletionBeforeEndOfLife": true},
            }}),
        )
        .unwrap();
    let profile = &updated.properties.publishing_profile;
    assert_eq!(profile.replica_count, 2);
    assert!(profile.exclude_from_latest);
    let regions: Vec<(&str, u32, StorageAccountType, Option<bool>)> = profile
        .target_regions
        .iter()
        .map(|region| {
            (
                region.name.as_str(),
                region.regional_replica_count,
                region.storage_account_type,
                region.exclude_from_latest,
            )
        })
        .collect();
    assert_eq!(
        regions,
        [
            ("West US", 3, StorageAccountType::StandardLrs, Some(false)),
            ("East US", 2, StorageAccountType::StandardZrs, None),
            ("North Europe", 2, StorageAccountType::StandardZrs, None),
            // Added by an update: takes the version's stored type.
            ("West Europe", 2, StorageAccountType::StandardLrs, None),
        ]
    );
    assert!(
        updated
            .properties
            .safety_profile
            .block_deletion_before_end_of_life
    );
}

#[test]
fn removing_a_target_region_needs_allow_deletion_of_replicated_locations() {
    let existing = created();
    let west_only = json!({"targetRegions": [{"name": "West US"}]});
    let error = assert_error(
        Scenario::new().update(
            &existing,
            json!({"properties": {"publishingProfile": west_only}}),
        ),
        409,
        "OperationNotAllowed",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
    assert!(
        error
            .message
            .starts_with("Either allowDeletionOfReplicatedLocations is not set as true"),
        "{}",
        error.message
    );
    assert!(error.message.contains("'East US'"));
    // Allowed by the request…
    let updated = Scenario::new()
        .update(
            &existing,
            json!({"properties": {
                "publishingProfile": west_only,
                "safetyProfile": {"allowDeletionOfReplicatedLocations": true},
            }}),
        )
        .unwrap();
    assert_eq!(
        replication_changes(
            &existing.properties.publishing_profile,
            &updated.properties.publishing_profile,
        )
        .removed_regions,
        ["eastus"]
    );
    // …or by the stored version.
    let allowing = Scenario::new()
        .update(
            &existing,
            json!({"properties": {"safetyProfile": {"allowDeletionOfReplicatedLocations": true}}}),
        )
        .unwrap();
    let body = with_properties(json!({"publishingProfile": west_only, "storageProfile": {}}));
    let updated = Scenario::new().replace(&allowing, body).unwrap();
    assert_eq!(
        updated.properties.publishing_profile.target_regions.len(),
        1
    );
    assert!(
        updated
            .properties
            .safety_profile
            .allow_deletion_of_replicated_locations
    );
    // The source region itself can never go.
    assert_error(
        Scenario::new().update(
            &allowing,
            json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "East US"}]}}}),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
}

#[test]
fn a_put_keeps_what_it_does_not_mention() {
    let existing = created();
    let replaced = Scenario::new()
        .replace(
            &existing,
            json!({"location": "westus", "properties": {"storageProfile": {}}}),
        )
        .unwrap();
    assert_eq!(
        replaced.properties.publishing_profile.target_regions,
        existing.properties.publishing_profile.target_regions
    );
    assert_eq!(
        replaced.properties.storage_profile,
        existing.properties.storage_profile
    );
    // No body properties at all is also "unchanged" on an existing version.
    assert!(Scenario::new().replace(&existing, json!({})).is_ok());
    // The location cannot move.
    assert_error(
        Scenario::new().replace(&existing, json!({"location": "East US", "properties": {}})),
        409,
        "InvalidResourceLocation",
        "location",
    );
}

#[test]
fn a_version_being_deleted_cannot_be_updated() {
    let mut existing = created();
    existing.properties.provisioning_state = ProvisioningState::Deleting;
    let error = Scenario::new()
        .update(&existing, json!({"properties": {}}))
        .unwrap_err();
    assert_eq!(
        (error.status, error.code.as_str()),
        (409, "OperationNotAllowed")
    );
    assert!(error.message.contains("marked for deletion"));
}

#[test]
fn patch_merges_properties_and_replaces_tags() {
    let existing = Scenario::new()
        .create(
            json!({
                "location": "West US",
                "tags": {"team": "images"},
                "properties": {
                    "publishingProfile": {"endOfLifeDate": "2027-01-01T00:00:00Z", "targetRegions": [{"name": "West US"}, {"name": "East US"}]},
                    "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                },
            }),
            Some(&image_in("westus")),
        )
        .unwrap();
    let later = Scenario::new().at("2026-03-01T00:00:00Z");
    let patched = later
        .update(
            &existing,
            json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}}),
        )
        .unwrap();
    assert!(patched.properties.publishing_profile.exclude_from_latest);
    assert_eq!(patched.tags, existing.tags);
    let mut expected = existing.properties.clone();
    expected.publishing_profile.exclude_from_latest = true;
    assert_eq!(patched.properties, expected);
    assert_eq!(
        patched.system_data.last_modified_at,
        "2026-03-01T00:00:00.000000Z"
    );
    // Tags replace the set; null clears a writable member.
    let patched = later
        .update(
            &patched,
            json!({"tags": {"stage": "prod"}, "properties": {"publishingProfile": {"endOfLifeDate": null}}}),
        )
        .unwrap();
    assert_eq!(
        patched.tags,
        Some(Tags::from([("stage".to_string(), "prod".to_string())]))
    );
    assert_eq!(patched.properties.publishing_profile.end_of_life_date, None);
    assert!(patched.properties.publishing_profile.exclude_from_latest);
    // Read-only members in a PATCH body are ignored.
    let patched = later
        .update(
            &existing,
            json!({"properties": {
                "provisioningState": "Failed",
                "publishingProfile": {"publishedDate": "2000-01-01T00:00:00Z"},
                "safetyProfile": {"reportedForPolicyViolation": true},
            }}),
        )
        .unwrap();
    assert_eq!(patched.properties, existing.properties);
}
