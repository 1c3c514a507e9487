"""Gallery image versions end to end, driven the way an image pipeline drives Azure Compute Gallery.

azure-mgmt-compute creates an Upload snapshot and azure-storage-blob writes 64 MiB of random bytes
into it through the write SAS; the snapshot becomes the OS disk of image version 1.0.0, published
to three regions with two replicas each. The test then checks what a pipeline relies on: the
version reports Succeeded and a Completed replication status per region, and every replica (as
galleryd's `/_galleryd/replicas` endpoint lists them) holds exactly the uploaded bytes, proven by a
checksum computed here, independently of galleryd, from the bytes that were sent. Adding a region
replicates there with the same bytes; removing one is refused without the safety profile's
`allowDeletionOfReplicatedLocations` and drops that region's replicas with it; deleting the version
removes it and its replicas. Every `begin_*` goes through the suite's timed `lro` fixture: the ones
whose work galleryd's replication workers do after answering through `Lro.run_background` (see
conftest.py), the others through `Lro.run`.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    Gallery,
    GalleryDiskImageSource,
    GalleryImage,
    GalleryImageIdentifier,
    GalleryImageProperties,
    GalleryImageVersion,
    GalleryImageVersionPublishingProfile,
    GalleryImageVersionSafetyProfile,
    GalleryImageVersionStorageProfile,
    GalleryImageVersionUpdate,
    GalleryOSDiskImage,
    Snapshot,
    TargetRegion,
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

DATA_BYTES = 64 * MIB
UPLOAD_BYTES = DATA_BYTES + VHD_FOOTER_BYTES
# galleryd cuts a content into extents at absolute multiples of this many bytes.
EXTENT_BYTES = 4 * MIB
VERSION_NAME = "1.0.0"
REPLICAS_PER_REGION = 2
# The version's own region first, as Azure requires it among the targets.
FIRST_REGIONS = [LOCATION, "eastus", "westeurope"]
ADDED_REGION = "northeurope"
REMOVED_REGION = "eastus"


def content_checksum(data: bytes) -> str:
    """The checksum galleryd must report for `data` written contiguously from offset 0.

    `sha256:<hex>` over, for each extent (cut at absolute multiples of EXTENT_BYTES), its offset and
    its length as big-endian u64 followed by its bytes. The unwritten VHD footer is a hole, not part
    of the content, so it does not enter the hash.
    """
    digest = hashlib.sha256()
    for offset in range(0, len(data), EXTENT_BYTES):
        extent = data[offset : offset + EXTENT_BYTES]
        digest.update(offset.to_bytes(8, "big"))
        digest.update(len(extent).to_bytes(8, "big"))
        digest.update(extent)
    return f"sha256:{digest.hexdigest()}"


def region_key(region: str) -> str:
    """A region as galleryd's replicas name it ("West US" and "westus" are both `westus`)."""
    return region.replace(" ", "").lower()


def target_regions(regions: list[str]) -> list[TargetRegion]:
    return [TargetRegion(name=region, regional_replica_count=REPLICAS_PER_REGION) for region in regions]


def replicas_answer(galleryd: Endpoints, version_id: str) -> requests.Response:
    """`GET /_galleryd/replicas?versionId=…` on the HTTPS listener, trusting galleryd's certificate."""
    return requests.get(
        f"{galleryd.https}/_galleryd/replicas",
        params={"versionId": version_id},
        verify=galleryd.certificate,
        timeout=30,
    )


def replicas(galleryd: Endpoints, version_id: str) -> list[dict[str, Any]]:
    """Every replica of a version, as galleryd lists them."""
    answer = replicas_answer(galleryd, version_id)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def replica_counts(listed: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(replica["region"] for replica in listed))


def assert_replicas_hold(listed: list[dict[str, Any]], checksum: str) -> None:
    """Every replica finished copying and holds the bytes whose checksum is `checksum`."""
    for replica in listed:
        assert replica["state"] == "Completed", replica
        assert replica["checksum"] == checksum, replica
        assert replica["bytesCopied"] == replica["bytesTotal"] == DATA_BYTES, replica


def upload_snapshot(
    compute: ComputeManagementClient,
    lro: Lro,
    galleryd: Endpoints,
    resource_group: str,
    data: bytes,
) -> Snapshot:
    """An Upload snapshot holding `data` from offset 0 (its footer left unwritten), sealed."""
    snapshot = create_upload_snapshot(compute, lro, resource_group, UPLOAD_BYTES)
    name = snapshot.name
    assert (snapshot.provisioning_state, snapshot.disk_state) == ("Succeeded", "ReadyToUpload")
    write_sas = grant_access(compute.snapshots, lro, resource_group, name, "Write")
    write_pages(blob_client(write_sas, galleryd), data)
    revoke_access(compute.snapshots, lro, resource_group, name)
    sealed = compute.snapshots.get(resource_group, name)
    assert sealed.disk_state == "Unattached"
    return sealed


def create_image_definition(compute: ComputeManagementClient, lro: Lro, resource_group: str) -> tuple[str, str]:
    """A gallery and a Linux, generalized image definition in it: (gallery name, image name)."""
    gallery, image = unique_name("gal"), unique_name("img")
    lro.run(compute.galleries.begin_create_or_update, resource_group, gallery, Gallery(location=LOCATION))
    lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        image,
        GalleryImage(
            location=LOCATION,
            properties=GalleryImageProperties(
                os_type="Linux",
                os_state="Generalized",
                identifier=GalleryImageIdentifier(publisher="Contoso", offer="Pipeline", sku=image),
            ),
        ),
    )
    return gallery, image


def test_a_snapshot_published_as_a_version_replicates_its_bytes_to_every_region(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, galleryd: Endpoints
) -> None:
    data = os.urandom(DATA_BYTES)
    checksum = content_checksum(data)
    snapshot = upload_snapshot(compute, lro, galleryd, resource_group, data)
    gallery, image = create_image_definition(compute, lro, resource_group)
    versions = compute.gallery_image_versions

    # Publish: the snapshot is the OS disk image (a snapshot is refused as storageProfile.source).
    # Copying 6 replicas of 64 MiB outlasts the first status poll, hence run_background.
    created = lro.run_background(
        versions.begin_create_or_update,
        resource_group,
        gallery,
        image,
        VERSION_NAME,
        GalleryImageVersion(
            location=LOCATION,
            publishing_profile=GalleryImageVersionPublishingProfile(target_regions=target_regions(FIRST_REGIONS)),
            storage_profile=GalleryImageVersionStorageProfile(
                os_disk_image=GalleryOSDiskImage(source=GalleryDiskImageSource(id=snapshot.id))
            ),
        ),
    )
    assert created.name == VERSION_NAME
    assert created.id.endswith(f"/galleries/{gallery}/images/{image}/versions/{VERSION_NAME}")
    assert created.provisioning_state == "Succeeded"
    version_id = created.id

    fetched = versions.get(resource_group, gallery, image, VERSION_NAME, expand="ReplicationStatus")
    assert fetched.provisioning_state == "Succeeded"
    os_disk_image = fetched.storage_profile.os_disk_image
    assert os_disk_image.source.id == snapshot.id
    assert os_disk_image.size_in_gb == snapshot.disk_size_gb == 1
    assert fetched.publishing_profile.published_date is not None
    assert [
        (region_key(target.name), target.regional_replica_count)
        for target in fetched.publishing_profile.target_regions
    ] == [(region, REPLICAS_PER_REGION) for region in FIRST_REGIONS]
    status = fetched.replication_status
    assert status.aggregated_state == "Completed"
    assert sorted(region_key(summary.region) for summary in status.summary) == sorted(FIRST_REGIONS)
    for summary in status.summary:
        assert (summary.state, summary.progress) == ("Completed", 100), summary.as_dict()
    # Without the expansion there is no replication status.
    assert versions.get(resource_group, gallery, image, VERSION_NAME).replication_status is None

    listed = replicas(galleryd, version_id)
    assert replica_counts(listed) == {region: REPLICAS_PER_REGION for region in FIRST_REGIONS}
    assert_replicas_hold(listed, checksum)

    assert [version.id for version in versions.list_by_gallery_image(resource_group, gallery, image)] == [
        version_id
    ]

    # Add a fourth region, keeping the others: only the new region's replicas are copied.
    with_added = FIRST_REGIONS + [ADDED_REGION]
    added = lro.run_background(
        versions.begin_update,
        resource_group,
        gallery,
        image,
        VERSION_NAME,
        GalleryImageVersionUpdate(
            publishing_profile=GalleryImageVersionPublishingProfile(target_regions=target_regions(with_added))
        ),
    )
    assert added.provisioning_state == "Succeeded"
    listed = replicas(galleryd, version_id)
    assert replica_counts(listed) == {region: REPLICAS_PER_REGION for region in with_added}
    assert_replicas_hold(listed, checksum)
    assert sum(replica["copiesStarted"] for replica in listed) == len(listed), (
        f"a replica was copied more than once: {listed}"
    )

    # Removing a replicated region needs the safety profile's consent.
    without_removed = [region for region in with_added if region != REMOVED_REGION]
    removal = GalleryImageVersionUpdate(
        publishing_profile=GalleryImageVersionPublishingProfile(target_regions=target_regions(without_removed))
    )
    with pytest.raises(HttpResponseError) as refused:
        lro.run(versions.begin_update, resource_group, gallery, image, VERSION_NAME, removal)
    assert refused.value.status_code == 409
    assert refused.value.error.code == "OperationNotAllowed"
    assert len(replicas(galleryd, version_id)) == len(with_added) * REPLICAS_PER_REGION, (
        "a refused update changed the replicas"
    )

    # Dropping a region and deleting only delete blobs: galleryd settles them before the first poll
    # answers, so they hold the instant budget.
    removal.safety_profile = GalleryImageVersionSafetyProfile(allow_deletion_of_replicated_locations=True)
    removed = lro.run(
        versions.begin_update,
        resource_group,
        gallery,
        image,
        VERSION_NAME,
        removal,
    )
    assert removed.provisioning_state == "Succeeded"
    listed = replicas(galleryd, version_id)
    assert replica_counts(listed) == {region: REPLICAS_PER_REGION for region in without_removed}
    assert_replicas_hold(listed, checksum)
    summary_regions = versions.get(
        resource_group, gallery, image, VERSION_NAME, expand="ReplicationStatus"
    ).replication_status.summary
    assert sorted(region_key(summary.region) for summary in summary_regions) == sorted(without_removed)

    # A version that does not exist is a 404 the SDK raises as ResourceNotFoundError.
    with pytest.raises(ResourceNotFoundError) as missing:
        versions.get(resource_group, gallery, image, "9.9.9")
    assert missing.value.status_code == 404
    assert missing.value.error.code == "ResourceNotFound"

    # Delete: the version and its replicas are gone, the snapshot stays.
    assert lro.run(versions.begin_delete, resource_group, gallery, image, VERSION_NAME) is None
    with pytest.raises(ResourceNotFoundError):
        versions.get(resource_group, gallery, image, VERSION_NAME)
    assert list(versions.list_by_gallery_image(resource_group, gallery, image)) == []
    gone = replicas_answer(galleryd, version_id)
    assert gone.status_code == 404, gone.text
    assert compute.snapshots.get(resource_group, snapshot.name).disk_state == "Unattached"
    lro.run(compute.snapshots.begin_delete, resource_group, snapshot.name)
