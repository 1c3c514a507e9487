//! The spec's image version examples, produced by the rules.

use super::*;

#[test]
fn create_example_is_produced() {
    let west = encryption("myWestUSDiskEncryptionSet", &[0, 1]);
    let east = encryption("myEastUSDiskEncryptionSet", &[0, 1]);
    let version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {"targetRegions": [
                    {"name": "West US", "regionalReplicaCount": 1, "encryption": west, "excludeFromLatest": false},
                    {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS",
                     "encryption": east, "excludeFromLatest": false},
                ]},
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": false, "blockDeletionBeforeEndOfLife": false},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    let example = json!({
        "publishingProfile": {
            "targetRegions": [
                {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                 "encryption": west, "excludeFromLatest": false},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS",
                 "encryption": east, "excludeFromLatest": false},
            ],
            "replicaCount": 1,
            "publishedDate": "2018-01-01T00:00:00Z",
            "storageAccountType": "Standard_LRS",
        },
        "storageProfile": {
            "source": {"id": MANAGED_IMAGE},
            "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
            "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
        },
        "safetyProfile": {
            "allowDeletionOfReplicatedLocations": false,
            "reportedForPolicyViolation": true,
            "policyViolations": [{"category": "ImageFlaggedUnsafe", "details": "This is the policy violation details."}],
            "blockDeletionBeforeEndOfLife": false,
        },
        "provisioningState": "Creating",
    });
    assert_produces(&served_properties(&version), &example, "properties");
    assert_eq!(version.name, "1.0.0");
    assert_eq!(version.location, "westus");
    assert_eq!(version.resource_type, ids::GALLERY_IMAGE_VERSION_TYPE);
    assert_eq!(version.id, format!("{IMAGE_ID}/versions/1.0.0"));
}

#[test]
fn get_example_is_produced() {
    let west = encryption("myDiskEncryptionSet", &[1]);
    let mut west_with_two_luns = west.clone();
    west_with_two_luns["dataDiskImages"] = json!([
        {"lun": 0, "diskEncryptionSetId": "/subscriptions/{subscriptionId}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/myOtherDiskEncryptionSet"},
        {"lun": 1, "diskEncryptionSetId": "/subscriptions/{subscriptionId}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/myDiskEncryptionSet"},
    ]);
    let version = Scenario::new()
        .create(
            image_version_body(json!([
                {"name": "West US", "regionalReplicaCount": 1, "encryption": west_with_two_luns, "excludeFromLatest": false},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS", "excludeFromLatest": false},
            ])),
            Some(&image_in("westus")),
        )
        .unwrap();
    let example = json!({
        "publishingProfile": {
            "targetRegions": [
                {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                 "encryption": west_with_two_luns, "excludeFromLatest": false},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS", "excludeFromLatest": false},
            ],
            "replicaCount": 1,
            "publishedDate": "2018-01-01T00:00:00Z",
            "storageAccountType": "Standard_LRS",
        },
        "storageProfile": {
            "source": {"id": MANAGED_IMAGE},
            "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
            "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
        },
        "safetyProfile": {
            "allowDeletionOfReplicatedLocations": false,
            "reportedForPolicyViolation": true,
            "policyViolations": [{"category": "ImageFlaggedUnsafe", "details": "This is the policy violation details."}],
            "blockDeletionBeforeEndOfLife": false,
        },
        "provisioningState": "Succeeded",
    });
    assert_produces(&served_properties(&version), &example, "properties");
    assert_eq!(
        version.properties.provisioning_state,
        ProvisioningState::Succeeded
    );
}

#[test]
fn update_example_is_produced_keeping_encryption_and_latest_flags() {
    let west = encryption("myDiskEncryptionSet", &[1]);
    let existing = Scenario::new()
        .create(
            image_version_body(json!([
                {"name": "West US", "regionalReplicaCount": 1, "encryption": west, "excludeFromLatest": false},
                {"name": "East US", "regionalReplicaCount": 1, "storageAccountType": "Standard_ZRS", "excludeFromLatest": false},
            ])),
            Some(&image_in("westus")),
        )
        .unwrap();
    let update = json!({"properties": {
        "publishingProfile": {"targetRegions": [
            {"name": "West US", "regionalReplicaCount": 1},
            {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS"},
        ]},
        "storageProfile": {"source": {"id": MANAGED_IMAGE}},
    }});
    let example = json!({
        "publishingProfile": {
            "targetRegions": [
                {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS",
                 "encryption": west, "excludeFromLatest": false},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS", "excludeFromLatest": false},
            ],
            "replicaCount": 1,
            "publishedDate": "2018-01-01T00:00:00Z",
            "storageAccountType": "Standard_LRS",
        },
        "storageProfile": {
            "source": {"id": MANAGED_IMAGE},
            "osDiskImage": {"sizeInGB": 10, "hostCaching": "ReadOnly"},
            "dataDiskImages": [{"lun": 1, "sizeInGB": 10, "hostCaching": "None"}],
        },
        "provisioningState": "Updating",
    });
    let later = Scenario::new().at("2026-02-01T00:00:00Z");
    let patched = later.update(&existing, update.clone()).unwrap();
    assert_produces(&served_properties(&patched), &example, "properties");
    // The same body as a PUT (the example's operation is a PATCH; a PUT must agree).
    let replaced = later.replace(&existing, update.clone()).unwrap();
    assert_produces(&served_properties(&replaced), &example, "properties");
    // GalleryImageVersion_Update_WithoutSourceId: an empty storage profile means "unchanged".
    let mut without_source = update;
    without_source["properties"]["storageProfile"] = json!({});
    let patched = later.update(&existing, without_source.clone()).unwrap();
    assert_produces(&served_properties(&patched), &example, "properties");
    let replaced = later.replace(&existing, without_source).unwrap();
    assert_eq!(
        replaced.properties.storage_profile,
        existing.properties.storage_profile
    );
    assert_eq!(
        replaced.properties.publishing_profile.published_date,
        existing.properties.publishing_profile.published_date
    );
    assert_eq!(
        replaced.system_data.created_at,
        existing.system_data.created_at
    );
    assert_ne!(
        replaced.system_data.last_modified_at,
        existing.system_data.last_modified_at
    );
}

#[test]
fn storage_account_strategy_example_is_produced() {
    let version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {
                    "targetRegions": [
                        {"name": "West US"},
                        {"name": "East US"},
                        {"name": "East US 2", "storageAccountType": "Premium_LRS"},
                    ],
                    "storageAccountStrategy": "PreferStandard_ZRS",
                },
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    let example = json!({
        "publishingProfile": {
            "targetRegions": [
                {"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS"},
                {"name": "East US", "regionalReplicaCount": 1, "storageAccountType": "Standard_ZRS"},
                {"name": "East US 2", "regionalReplicaCount": 1, "storageAccountType": "Premium_LRS"},
            ],
            "replicaCount": 1,
            "publishedDate": "2018-01-01T00:00:00Z",
            "storageAccountStrategy": "PreferStandard_ZRS",
            "excludeFromLatest": false,
        },
        "safetyProfile": {"reportedForPolicyViolation": false, "allowDeletionOfReplicatedLocations": false},
        "provisioningState": "Updating",
    });
    let served = served_properties(&version);
    assert_produces(&served, &example, "properties");
    assert!(
        served["publishingProfile"]
            .get("storageAccountType")
            .is_none()
    );
}

#[test]
fn shallow_example_is_produced_and_allows_only_the_source_region() {
    let body = |regions: Value| {
        with_properties(json!({
            "publishingProfile": {"targetRegions": regions, "replicationMode": "Shallow"},
            "storageProfile": {"source": {"id": MANAGED_IMAGE}},
        }))
    };
    let version = Scenario::new()
        .create(
            body(
                json!([{"name": "West US", "regionalReplicaCount": 1, "excludeFromLatest": false}]),
            ),
            Some(&image_in("westus")),
        )
        .unwrap();
    let example = json!({"publishingProfile": {
        "targetRegions": [{"name": "West US", "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS", "excludeFromLatest": false}],
        "replicaCount": 1,
        "storageAccountType": "Standard_LRS",
        "replicationMode": "Shallow",
    }});
    assert_produces(&served_properties(&version), &example, "properties");
    assert!(replication_plan(&version.properties.publishing_profile).is_empty());

    let error = assert_error(
        Scenario::new().create(
            body(json!([{"name": "West US"}, {"name": "East US"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
    assert!(error.message.contains("Shallow"), "{}", error.message);
    // Adding a region later is refused the same way.
    assert_error(
        Scenario::new().update(
            &version,
            json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "West US"}, {"name": "East US"}]}}}),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.publishingProfile.targetRegions",
    );
}
