//! The sources a create names, and the disks they give the new version.

use super::*;

fn source_of(storage_profile: Value) -> Result<SourceReference, ServiceError> {
    source_reference(&request(with_properties(
        json!({"storageProfile": storage_profile}),
    )))
}

#[test]
fn source_reference_names_what_to_resolve() {
    let reference = source_of(json!({"source": {"id": MANAGED_IMAGE}})).unwrap();
    assert_eq!(
        reference.artifact,
        Some(SourceItem {
            lun: None,
            target: "galleryImageVersion.properties.storageProfile.source.id".to_string(),
            location: SourceLocation::Resource {
                id: MANAGED_IMAGE.to_string(),
                kind: SourceKind::ManagedImage,
            },
        })
    );
    assert!(reference.disks.is_empty());

    let version_id = format!("{IMAGE_ID}/versions/0.9.0");
    let reference = source_of(json!({"source": {"id": version_id}})).unwrap();
    assert_eq!(
        reference.primary().unwrap().location,
        SourceLocation::Resource {
            id: version_id.clone(),
            kind: SourceKind::GalleryImageVersion,
        }
    );

    let reference = source_of(json!({
        "osDiskImage": {"source": {"id": OS_SNAPSHOT}, "hostCaching": "ReadOnly"},
        "dataDiskImages": [{"lun": 1, "source": {"id": DATA_DISK}}],
    }))
    .unwrap();
    assert_eq!(reference.artifact, None);
    let disks: Vec<(Option<i32>, SourceKind)> = reference
        .disks
        .iter()
        .map(|item| match &item.location {
            SourceLocation::Resource { kind, .. } => (item.lun, *kind),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        disks,
        [(None, SourceKind::Snapshot), (Some(1), SourceKind::Disk)]
    );

    let reference = source_of(json!({"osDiskImage": {"source": {
        "uri": VHD, "storageAccountId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"}}}))
    .unwrap();
    assert!(matches!(
        &reference.disks[0].location,
        SourceLocation::Blob { uri, storage_account_id: Some(_) } if uri == VHD
    ));
    assert_eq!(
        reference.disks[0].target,
        "galleryImageVersion.properties.storageProfile.osDiskImage.source.uri"
    );

    let reference = source_of(
        json!({"source": {"communityGalleryImageId": "/communityGalleries/pub-1/images/img"}}),
    )
    .unwrap();
    assert!(matches!(
        reference.primary().unwrap().location,
        SourceLocation::CommunityGalleryImage { .. }
    ));
}

#[test]
fn source_ids_must_be_fully_qualified() {
    let error = assert_error(
        source_of(json!({"source": {"id": "myImage"}})),
        400,
        "LinkedInvalidPropertyId",
        "properties.storageProfile.source.id",
    );
    assert_eq!(
        error.message,
        "Property id 'myImage' at path 'properties.storageProfile.source.id' is invalid. Expect fully \
         qualified resource Id that start with '/subscriptions/{subscriptionId}' or \
         '/providers/{resourceProviderNamespace}/'."
    );
    assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"lun": 0, "source": {"id": "resourceGroups/rg/disks/d"}}],
        })),
        400,
        "LinkedInvalidPropertyId",
        "properties.storageProfile.dataDiskImages[0].source.id",
    );
    // put applies the same rule.
    assert_error(
        Scenario::new().create(
            with_properties(json!({"storageProfile": {"osDiskImage": {"source": {"id": "snap"}}}})),
            None,
        ),
        400,
        "LinkedInvalidPropertyId",
        "properties.storageProfile.osDiskImage.source.id",
    );
}

#[test]
fn virtual_machine_sources_are_not_supported_yet() {
    let machine =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm";
    let error = assert_error(
        source_of(json!({"source": {"virtualMachineId": machine}})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.source.virtualMachineId",
    );
    assert!(error.message.contains("not supported by galleryd"));
    assert_error(
        source_of(json!({"source": {"id": machine}})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.source.id",
    );
}

#[test]
fn exactly_one_kind_of_source_is_required() {
    for storage_profile in [
        json!({}),
        json!({"source": {}}),
        json!({"source": {"id": ""}}),
        json!({"source": {"id": MANAGED_IMAGE}, "osDiskImage": {"source": {"id": OS_SNAPSHOT}}}),
        json!({"source": {"id": MANAGED_IMAGE, "communityGalleryImageId": "/communityGalleries/c/images/i"}}),
    ] {
        let error = assert_error(
            source_of(storage_profile.clone()),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source",
        );
        assert!(
            error
                .message
                .starts_with("The gallery artifact version source can only be specified")
        );
        assert_error(
            Scenario::new().create(
                with_properties(json!({"storageProfile": storage_profile})),
                None,
            ),
            400,
            "InvalidParameter",
            "galleryImageVersion.properties.storageProfile.source",
        );
    }
    assert_error(
        source_of(json!({"dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}]})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.osDiskImage.source",
    );
    assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"lun": 0}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[0].source",
    );
    assert_error(
        source_of(json!({"osDiskImage": {"source": {"id": OS_SNAPSHOT, "uri": VHD}}})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.osDiskImage.source",
    );
    assert_error(
        source_reference(&request(json!({"location": "West US"}))),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile",
    );
}

#[test]
fn source_ids_must_name_the_right_kind_of_resource() {
    let error = assert_error(
        source_of(json!({"source": {"id": OS_SNAPSHOT}})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.source.id",
    );
    assert_eq!(
        error.message,
        format!(
            "The source id: {OS_SNAPSHOT} must either be a managed image, virtual machine or another gallery \
             image version."
        )
    );
    let error = assert_error(
        source_of(json!({"osDiskImage": {"source": {"id": MANAGED_IMAGE}}})),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.osDiskImage.source.id",
    );
    assert_eq!(
        error.message,
        format!("The source id: {MANAGED_IMAGE} must be a managed disk or snapshot.")
    );
    assert_eq!(
        SourceKind::of_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
        ),
        None
    );
    assert_eq!(
        SourceKind::of_id(
            "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/microsoft.compute/Snapshots/x/"
        ),
        Some(SourceKind::Snapshot)
    );
    assert_eq!(
        SourceKind::of_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
        ),
        None
    );
}

#[test]
fn luns_and_source_ids_must_be_unique() {
    let error = assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"lun": 1, "source": {"id": DATA_DISK}}, {"lun": 1, "source": {"id": OTHER_DISK}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.dataDiskImages",
    );
    assert_eq!(
        error.message,
        "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for \
         each data disk."
    );
    let error = assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": DATA_DISK}},
            "dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK.to_uppercase()}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile",
    );
    assert_eq!(
        error.message,
        format!(
            "OSDiskImage and DataDiskImage cannot point to same blob {}",
            DATA_DISK.to_uppercase()
        )
    );
    let error = assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}, {"lun": 1, "source": {"id": DATA_DISK}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile",
    );
    assert_eq!(
        error.message,
        "Duplicated source ids are found in the input disks. Source id should be unique for each disk."
    );
    assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"uri": VHD}},
            "dataDiskImages": [{"lun": 0, "source": {"uri": VHD}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile",
    );
    assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"source": {"id": DATA_DISK}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
    );
    assert_error(
        source_of(json!({
            "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
            "dataDiskImages": [{"lun": -1, "source": {"id": DATA_DISK}}],
        })),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
    );
}

#[test]
fn disks_come_from_the_source_with_the_request_host_caching() {
    let version = created_from_disks();
    let storage = &version.properties.storage_profile;
    assert_eq!(storage.source, None);
    assert_eq!(
        storage.os_disk_image,
        Some(OsDiskImage {
            size_in_gb: Some(30),
            host_caching: Some(HostCaching::ReadOnly),
            source: Some(DiskImageSource {
                id: Some(OS_SNAPSHOT.to_string()),
                ..DiskImageSource::default()
            }),
        })
    );
    assert_eq!(
        storage.data_disk_images,
        Some(vec![DataDiskImage {
            lun: 0,
            size_in_gb: Some(4),
            host_caching: Some(HostCaching::None),
            source: Some(DiskImageSource {
                id: Some(DATA_DISK.to_string()),
                ..DiskImageSource::default()
            }),
        }])
    );
    // The request's host caching wins over the source's.
    let version = Scenario::new()
        .create(
            with_properties(json!({"storageProfile": {
                "source": {"id": MANAGED_IMAGE},
                "osDiskImage": {"hostCaching": "ReadWrite"},
                "dataDiskImages": [{"lun": 1, "hostCaching": "ReadOnly"}],
            }})),
            Some(&image_in("westus")),
        )
        .unwrap();
    let storage = &version.properties.storage_profile;
    assert_eq!(
        storage.os_disk_image.as_ref().unwrap().host_caching,
        Some(HostCaching::ReadWrite)
    );
    assert_eq!(
        storage.data_disk_images.as_ref().unwrap()[0].host_caching,
        Some(HostCaching::ReadOnly)
    );
    // A LUN the source does not have is refused.
    let error = assert_error(
        Scenario::new().create(
            with_properties(json!({"storageProfile": {
                "source": {"id": MANAGED_IMAGE},
                "dataDiskImages": [{"lun": 3, "hostCaching": "ReadOnly"}],
            }})),
            Some(&image_in("westus")),
        ),
        400,
        "InvalidParameter",
        "galleryImageVersion.properties.storageProfile.dataDiskImages[0].lun",
    );
    assert!(error.message.contains("['1']"), "{}", error.message);
}

#[test]
fn unresolved_vhd_sources_keep_the_request_disks() {
    let account =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";
    let version = Scenario::new()
        .create(
            with_properties(json!({"storageProfile": {
                "osDiskImage": {"source": {"uri": VHD, "storageAccountId": account}, "hostCaching": "ReadOnly"},
                "dataDiskImages": [{"lun": 1, "hostCaching": "None",
                    "source": {"uri": "https://account.blob.core.windows.net/vhds/data.vhd", "storageAccountId": account}}],
            }})),
            None,
        )
        .unwrap();
    let served = served_properties(&version);
    assert_produces(
        &served["storageProfile"],
        &json!({
            "osDiskImage": {"source": {"storageAccountId": account, "uri": VHD}, "hostCaching": "ReadOnly"},
            "dataDiskImages": [{"source": {"storageAccountId": account, "uri": "https://account.blob.core.windows.net/vhds/data.vhd"},
                "lun": 1, "hostCaching": "None"}],
        }),
        "storageProfile",
    );
    assert!(
        served["storageProfile"]["osDiskImage"]
            .get("sizeInGB")
            .is_none()
    );
}
