"""VM applications end to end through azure-mgmt-compute, next to an image definition, as the
real-Azure SDK lifecycle creates them.

A package is uploaded into an Upload snapshot with azure-storage-blob and handed to galleryd as a
read SAS on its own HTTPS blob endpoint (the way a pipeline hands Azure a SAS of a storage blob).
The test creates the application definition and version 1.0.0 published to two regions, and checks
what a pipeline relies on: the version reports Succeeded with a Completed replication status per
region, and every replica holds the package's bytes, proven by a checksum computed here from the
bytes that were sent. A read-modify-write update adds a region and excludes the version from
latest; changing the package is refused; the version, then the application, are deleted.
"""

from __future__ import annotations

import os

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    GalleryApplication,
    GalleryApplicationCustomAction,
    GalleryApplicationVersion,
    GalleryApplicationVersionPublishingProfile,
    GalleryApplicationVersionSafetyProfile,
    GalleryApplicationVersionUpdate,
    TargetRegion,
    UserArtifactManage,
    UserArtifactSettings,
    UserArtifactSource,
)

from conftest import (
    LOCATION,
    MIB,
    VHD_FOOTER_BYTES,
    Endpoints,
    Lro,
    blob_client,
    create_upload_snapshot,
    grant_access,
    revoke_access,
    unique_name,
    write_pages,
)
from test_image_versions import content_checksum, create_image_definition, region_key, replicas

# The smallest upload Azure takes (20 MiB and the VHD footer).
PACKAGE_DATA_BYTES = 20 * MIB
VERSION_NAME = "1.0.0"


def test_an_application_version_replicates_its_package_next_to_images(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, galleryd: Endpoints
) -> None:
    # The package: written into a snapshot, read back by galleryd through a read SAS. The blob is
    # the snapshot's whole size: the data, then its unwritten footer as zeros.
    data = os.urandom(PACKAGE_DATA_BYTES)
    snapshot = create_upload_snapshot(compute, lro, resource_group, PACKAGE_DATA_BYTES + VHD_FOOTER_BYTES)
    write_sas = grant_access(compute.snapshots, lro, resource_group, snapshot.name, "Write")
    write_pages(blob_client(write_sas, galleryd), data)
    revoke_access(compute.snapshots, lro, resource_group, snapshot.name)
    package_sas = grant_access(compute.snapshots, lro, resource_group, snapshot.name, "Read")
    package = data + bytes(VHD_FOOTER_BYTES)
    checksum = content_checksum(package)

    gallery, image = create_image_definition(compute, lro, resource_group)
    application_name = unique_name("app")
    application = lro.run(
        compute.gallery_applications.begin_create_or_update,
        resource_group,
        gallery,
        application_name,
        GalleryApplication(
            location=LOCATION,
            supported_os_type="Linux",
            description="Build tools",
            custom_actions=[GalleryApplicationCustomAction(name="reset", script="reset.sh")],
        ),
    )
    assert application.supported_os_type == "Linux"
    assert application.custom_actions[0].name == "reset"
    # Next to the image definition, in the same gallery.
    assert compute.gallery_images.get(resource_group, gallery, image).name == image
    listed = [item.name for item in compute.gallery_applications.list_by_gallery(resource_group, gallery)]
    assert listed == [application_name]

    versions = compute.gallery_application_versions
    created = lro.run_background(
        versions.begin_create_or_update,
        resource_group,
        gallery,
        application_name,
        VERSION_NAME,
        GalleryApplicationVersion(
            location=LOCATION,
            publishing_profile=GalleryApplicationVersionPublishingProfile(
                source=UserArtifactSource(media_link=package_sas),
                manage_actions=UserArtifactManage(install="tar -xf tools.tgz", remove="rm -rf tools"),
                settings=UserArtifactSettings(package_file_name="tools.tgz"),
                target_regions=[TargetRegion(name=LOCATION, regional_replica_count=2), TargetRegion(name="eastus")],
            ),
            safety_profile=GalleryApplicationVersionSafetyProfile(allow_deletion_of_replicated_locations=False),
        ),
    )
    assert created.provisioning_state == "Succeeded"
    assert created.publishing_profile.manage_actions.install == "tar -xf tools.tgz"
    assert created.publishing_profile.published_date is not None

    fetched = versions.get(resource_group, gallery, application_name, VERSION_NAME, expand="ReplicationStatus")
    status = fetched.replication_status
    assert status.aggregated_state == "Completed"
    assert sorted(region_key(summary.region) for summary in status.summary) == ["eastus", "westus"]
    assert all(summary.progress == 100 for summary in status.summary)

    listed_replicas = replicas(galleryd, created.id)
    assert sorted(region_key(replica["region"]) for replica in listed_replicas) == ["eastus", "westus", "westus"]
    for replica in listed_replicas:
        assert replica["disk"] == "package", replica
        assert replica["state"] == "Completed", replica
        assert replica["checksum"] == checksum, replica
        assert replica["bytesCopied"] == replica["bytesTotal"] == len(package), replica

    # Read, modify, write: one more region and out of "latest".
    profile = fetched.publishing_profile
    profile.target_regions.append(TargetRegion(name="westeurope", regional_replica_count=1))
    profile.exclude_from_latest = True
    updated = lro.run_background(
        versions.begin_update,
        resource_group,
        gallery,
        application_name,
        VERSION_NAME,
        GalleryApplicationVersionUpdate(publishing_profile=profile),
    )
    assert updated.publishing_profile.exclude_from_latest is True
    assert len(replicas(galleryd, created.id)) == 4

    # The package never changes.
    profile.source = UserArtifactSource(media_link=package_sas + "&other=1")
    with pytest.raises(HttpResponseError) as refused:
        versions.begin_update(
            resource_group, gallery, application_name, VERSION_NAME,
            GalleryApplicationVersionUpdate(publishing_profile=profile),
        ).result()
    assert refused.value.error.code == "PropertyChangeNotAllowed"

    listed_versions = [item.name for item in versions.list_by_gallery_application(resource_group, gallery, application_name)]
    assert listed_versions == [VERSION_NAME]

    lro.run(versions.begin_delete, resource_group, gallery, application_name, VERSION_NAME)
    with pytest.raises(ResourceNotFoundError):
        versions.get(resource_group, gallery, application_name, VERSION_NAME)
    lro.run(compute.gallery_applications.begin_delete, resource_group, gallery, application_name)
    with pytest.raises(ResourceNotFoundError):
        compute.gallery_applications.get(resource_group, gallery, application_name)
