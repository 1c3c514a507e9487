//! What a new image version must have and what it gets by default.

use super::*;

#[test]
fn the_name_must_be_a_version_number() {
    let error = assert_error(
        Scenario::new().named("1.0").create(
            image_version_body(json!([{"name": "West US"}])),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersionName",
    );
    assert!(
        error
            .message
            .starts_with("The image version name is invalid.")
    );
    assert!(
        Scenario::new()
            .named("2018.12.1")
            .create(
                image_version_body(json!([{"name": "West US"}])),
                Some(&image_in("westus"))
            )
            .is_ok()
    );
}

#[test]
fn a_storage_profile_is_required_on_create() {
    for body in [
        with_properties(json!({"publishingProfile": {"targetRegions": [{"name": "West US"}]}})),
        json!({"location": "West US"}),
    ] {
        let error = assert_error(
            Scenario::new().create(body, Some(&image_in("westus"))),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile",
        );
        assert_eq!(
            error.message,
            "Required parameter 'galleryImageVersion.properties.storageProfile' is missing (null)."
        );
    }
}

#[test]
fn a_location_is_required_on_create() {
    let body = json!({"properties": {"storageProfile": {"source": {"id": MANAGED_IMAGE}}}});
    assert_error(
        Scenario::new().create(body, Some(&image_in("westus"))),
        400,
        "LocationRequired",
        "location",
    );
}

#[test]
fn the_source_must_be_in_the_version_location() {
    let error = assert_error(
        Scenario::new().create(
            image_version_body(json!([{"name": "West US"}])),
            Some(&image_in("East US")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.source.id",
    );
    assert_eq!(
        error.message,
        format!(
            "Source {MANAGED_IMAGE} is not found. Please check source exists, and is in the same region as \
             gallery image version being created."
        )
    );
    // Per-disk sources name the OS disk's source.
    let error = assert_error(
        Scenario::new().create(
            with_properties(
                json!({"storageProfile": {"osDiskImage": {"source": {"id": OS_SNAPSHOT}}}}),
            ),
            Some(&ResolvedSource {
                region: "northeurope".to_string(),
                disks: vec![],
                ..Default::default()
            }),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
    );
    assert!(error.message.contains(OS_SNAPSHOT));
}

#[test]
fn bad_enum_values_name_their_property() {
    for (properties, target) in [
        (
            json!({"publishingProfile": {"storageAccountType": "Cheap_LRS"}}),
            "galleryImageVersion.properties.publishingProfile.storageAccountType",
        ),
        (
            json!({"publishingProfile": {"replicationMode": "Deep"}}),
            "galleryImageVersion.properties.publishingProfile.replicationMode",
        ),
        (
            json!({"publishingProfile": {"storageAccountStrategy": "Whatever"}}),
            "galleryImageVersion.properties.publishingProfile.storageAccountStrategy",
        ),
        (
            json!({"publishingProfile": {"targetRegions": [{"name": "West US", "storageAccountType": "x"}]}}),
            "galleryImageVersion.properties.publishingProfile.targetRegions[0].storageAccountType",
        ),
        (
            json!({"storageProfile": {"osDiskImage": {"hostCaching": "Sometimes"}}}),
            "galleryImageVersion.properties.storageProfile.osDiskImage.hostCaching",
        ),
    ] {
        let mut properties = properties;
        properties["storageProfile"]["source"] = json!({"id": MANAGED_IMAGE});
        let error = assert_error(
            Scenario::new().create(with_properties(properties), Some(&image_in("westus"))),
            400,
            "InvalidParameter",
            target,
        );
        assert!(
            error.message.contains("Allowed values"),
            "{}",
            error.message
        );
    }
    // A value of the wrong JSON type is a body error naming its path.
    assert_error(
        Scenario::new().create(
            with_properties(json!({"publishingProfile": {"replicaCount": "two"}})),
            None,
        ),
        400,
        "InvalidRequestContent",
        "properties.publishingProfile.replicaCount",
    );
}

#[test]
fn the_disks_together_may_not_exceed_the_size_limit() {
    let big = ResolvedSource {
        region: "westus".to_string(),
        disks: vec![
            SourceDisk {
                lun: None,
                size_in_gb: 1000,
                occupied_bytes: 0,
                host_caching: None,
            },
            SourceDisk {
                lun: Some(0),
                size_in_gb: 100,
                occupied_bytes: 0,
                host_caching: None,
            },
        ],
        ..Default::default()
    };
    let error = assert_error(
        Scenario::new().create(image_version_body(json!([{"name": "West US"}])), Some(&big)),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile",
    );
    assert_eq!(
        error.message,
        "The GalleryImageVersion source resource size 1100 GB exceeds the max size 1024 GB supported."
    );
    let roomy = Scenario::new().rules(VersionRules {
        max_total_size_gb: 2048,
        ..VersionRules::default()
    });
    assert!(
        roomy
            .create(image_version_body(json!([{"name": "West US"}])), Some(&big))
            .is_ok()
    );
    // Shallow versions copy nothing: no size limit.
    let shallow = with_properties(json!({
        "publishingProfile": {"replicationMode": "Shallow"},
        "storageProfile": {"source": {"id": MANAGED_IMAGE}},
    }));
    assert!(Scenario::new().create(shallow, Some(&big)).is_ok());
}

#[test]
fn defaults_of_a_new_version() {
    let version = created();
    let properties = &version.properties;
    assert_eq!(properties.publishing_profile.replica_count, 1);
    assert!(!properties.publishing_profile.exclude_from_latest);
    assert_eq!(
        properties.publishing_profile.published_date,
        "2026-01-01T00:00:00.000000Z"
    );
    assert_eq!(
        properties.publishing_profile.replication_mode,
        ReplicationMode::Full
    );
    assert_eq!(properties.safety_profile, SafetyProfile::default());
    assert_eq!(properties.provisioning_state, ProvisioningState::Succeeded);
    assert_eq!(
        version.system_data.created_at,
        "2026-01-01T00:00:00.000000Z"
    );
}

#[test]
fn the_stored_shape_round_trips() {
    let mut version = Scenario::new()
        .create(
            with_properties(json!({
                "publishingProfile": {
                    "targetRegions": [
                        {"name": "West US", "encryption": encryption("set", &[1]), "excludeFromLatest": true,
                         "additionalReplicaSets": [{"storageAccountType": "PremiumV2_LRS", "regionalReplicaCount": 1}]},
                    ],
                    "endOfLifeDate": "2030-01-01",
                    "targetExtendedLocations": [{"name": "West US", "extendedLocation": {"name": "microsoftlosangeles1", "type": "EdgeZone"}}],
                },
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": true, "blockDeletionBeforeEndOfLife": true},
                "securityProfile": {"uefiSettings": {"signatureTemplateNames": ["MicrosoftUefiCertificateAuthorityTemplate"]}},
            })),
            Some(&image_in("westus")),
        )
        .unwrap();
    version.tags = Some(Tags::from([("a".to_string(), "b".to_string())]));
    let text = serde_json::to_string(&version).unwrap();
    let back: GalleryImageVersion = serde_json::from_str(&text).unwrap();
    assert_eq!(back, version);
    let served: Value = serde_json::from_str(&text).unwrap();
    let properties = &served["properties"];
    assert_eq!(properties["storageProfile"]["osDiskImage"]["sizeInGB"], 10);
    assert_eq!(
        properties["publishingProfile"]["targetRegions"][0]["additionalReplicaSets"][0]["storageAccountType"],
        "PremiumV2_LRS"
    );
    assert_eq!(
        properties["publishingProfile"]["targetExtendedLocations"][0]["extendedLocation"]["type"],
        "EdgeZone"
    );
    assert_eq!(
        properties["securityProfile"]["uefiSettings"]["signatureTemplateNames"][0],
        "MicrosoftUefiCertificateAuthorityTemplate"
    );
    assert_eq!(properties["safetyProfile"]["policyViolations"], json!([]));
    assert!(properties.get("replicationStatus").is_none());
}
