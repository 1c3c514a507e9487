"""Uploading a VHD into a snapshot and reading it back, the way image pipelines do it with the SDKs.

azure-mgmt-compute creates an Upload snapshot and grants write access; azure-storage-blob writes
the bytes as 4 MiB pages through the SAS URL on galleryd's blob endpoint; revoking access seals
them; a read grant lets azure-storage-blob download them again, and a disk copied from the snapshot
holds the same bytes.
"""

from __future__ import annotations

import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import CreationData, Disk

from conftest import (
    LOCATION,
    MIB,
    PAGE_BYTES,
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
# The footer's bytes stay zeros here.
UPLOAD_BYTES = DATA_BYTES + VHD_FOOTER_BYTES


def test_upload_through_a_sas_then_download(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, galleryd: Endpoints
) -> None:
    snapshot = create_upload_snapshot(compute, lro, resource_group, UPLOAD_BYTES)
    name = snapshot.name
    assert snapshot.provisioning_state == "Succeeded"
    assert snapshot.disk_state == "ReadyToUpload"
    assert snapshot.disk_size_gb == 1
    assert snapshot.creation_data.upload_size_bytes == UPLOAD_BYTES

    write_sas = grant_access(compute.snapshots, lro, resource_group, name, "Write")
    assert "/gallerydblob/westus/" in write_sas and "sp=rw" in write_sas
    assert write_sas.startswith(galleryd.https)
    assert compute.snapshots.get(resource_group, name).disk_state == "ActiveUpload"

    data = os.urandom(DATA_BYTES)
    writer = blob_client(write_sas, galleryd)
    properties = writer.get_blob_properties()
    assert (properties.size, properties.blob_type) == (UPLOAD_BYTES, "PageBlob")
    write_pages(writer, data)
    revoke_access(compute.snapshots, lro, resource_group, name)
    assert compute.snapshots.get(resource_group, name).disk_state == "Unattached"

    # The write SAS died with the revocation.
    with pytest.raises(HttpResponseError) as refused:
        writer.upload_page(b"\x01" * 512, offset=0, length=512)
    assert refused.value.status_code == 403
    assert refused.value.error_code == "AuthenticationFailed"

    read_sas = grant_access(compute.snapshots, lro, resource_group, name, "Read")
    assert "sp=r&" in read_sas
    assert compute.snapshots.get(resource_group, name).disk_state == "ActiveSAS"
    reader = blob_client(read_sas, galleryd)
    downloaded = reader.download_blob(max_concurrency=4).readall()
    assert len(downloaded) == UPLOAD_BYTES
    assert downloaded[:DATA_BYTES] == data
    assert downloaded[DATA_BYTES:] == b"\x00" * 512
    # Chunked reads of a range agree.
    middle = reader.download_blob(offset=PAGE_BYTES - 256, length=1024).readall()
    assert middle == data[PAGE_BYTES - 256 : PAGE_BYTES + 768]
    # A read SAS does not write.
    with pytest.raises(HttpResponseError) as refused:
        reader.upload_page(b"\x01" * 512, offset=0, length=512)
    assert refused.value.status_code == 403
    revoke_access(compute.snapshots, lro, resource_group, name)

    # A disk copied from the snapshot holds the same bytes (its copy finishes in the background).
    disk_name = unique_name("disk")
    source_id = compute.snapshots.get(resource_group, name).id
    disk = compute.disks.begin_create_or_update(
        resource_group,
        disk_name,
        Disk(
            location=LOCATION,
            creation_data=CreationData(create_option="Copy", source_resource_id=source_id),
        ),
    ).result()
    assert disk.provisioning_state == "Succeeded"
    assert disk.creation_data.source_resource_id == source_id
    assert disk.disk_size_bytes == UPLOAD_BYTES
    disk_sas = grant_access(compute.disks, lro, resource_group, disk_name, "Read")
    copied = blob_client(disk_sas, galleryd).download_blob(max_concurrency=4).readall()
    assert copied == downloaded
    revoke_access(compute.disks, lro, resource_group, disk_name)
    lro.run(compute.disks.begin_delete, resource_group, disk_name)
    lro.run(compute.snapshots.begin_delete, resource_group, name)
