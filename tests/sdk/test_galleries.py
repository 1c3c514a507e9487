"""Gallery lifecycle through azure-mgmt-compute: create, get, update, list, delete."""

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Gallery, GalleryProperties, GalleryUpdate
from azure.mgmt.resource.resources import ResourceManagementClient

from conftest import LOCATION, Lro, unique_name


def test_resource_group_from_azure_mgmt_resource(
    resources: ResourceManagementClient, resource_group: str, subscription: str
) -> None:
    group = resources.resource_groups.get(resource_group)
    assert group.id == f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
    assert group.location == LOCATION
    assert group.properties.provisioning_state == "Succeeded"
    assert resources.resource_groups.check_existence(resource_group) is True
    assert resources.resource_groups.check_existence(unique_name("missing")) is False


def test_gallery_lifecycle(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, subscription: str
) -> None:
    name = unique_name("gal")
    expected_id = (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Compute/galleries/{name}"
    )

    created = lro.run(
        compute.galleries.begin_create_or_update,
        resource_group,
        name,
        Gallery(
            location=LOCATION,
            tags={"team": "images"},
            properties=GalleryProperties(description="first description"),
        ),
    )
    assert created.id == expected_id
    assert (created.name, created.type, created.location) == (name, "Microsoft.Compute/galleries", LOCATION)
    assert created.provisioning_state == "Succeeded"
    assert created.description == "first description"
    assert created.tags == {"team": "images"}
    assert created.identifier.unique_name == f"{subscription}-{name.upper()}"

    fetched = compute.galleries.get(resource_group, name)
    assert fetched.id == expected_id
    assert fetched.description == "first description"
    assert fetched.provisioning_state == "Succeeded"
    assert fetched.identifier.unique_name == created.identifier.unique_name

    # PATCH changes only what it sends: the tags stay.
    updated = lro.run(
        compute.galleries.begin_update,
        resource_group,
        name,
        GalleryUpdate(properties=GalleryProperties(description="second description")),
    )
    assert updated.description == "second description"
    assert updated.provisioning_state == "Succeeded"
    assert updated.tags == {"team": "images"}
    assert compute.galleries.get(resource_group, name).description == "second description"

    in_group = list(compute.galleries.list_by_resource_group(resource_group))
    assert [gallery.id for gallery in in_group] == [expected_id]
    assert in_group[0].description == "second description"

    in_subscription = {gallery.id: gallery for gallery in compute.galleries.list()}
    assert expected_id in in_subscription
    assert in_subscription[expected_id].identifier.unique_name == created.identifier.unique_name

    assert lro.run(compute.galleries.begin_delete, resource_group, name) is None
    with pytest.raises(ResourceNotFoundError) as missing:
        compute.galleries.get(resource_group, name)
    assert missing.value.error.code == "ResourceNotFound"
    assert list(compute.galleries.list_by_resource_group(resource_group)) == []
    assert expected_id not in {gallery.id for gallery in compute.galleries.list()}


def test_create_or_update_replaces_an_existing_gallery(
    compute: ComputeManagementClient, lro: Lro, resource_group: str
) -> None:
    name = unique_name("gal")
    lro.run(
        compute.galleries.begin_create_or_update,
        resource_group,
        name,
        Gallery(location=LOCATION, tags={"a": "1"}, properties=GalleryProperties(description="one")),
    )
    # A second PUT is a full replacement: the tags it omits are gone.
    replaced = lro.run(
        compute.galleries.begin_create_or_update,
        resource_group,
        name,
        Gallery(location=LOCATION, properties=GalleryProperties(description="two")),
    )
    assert replaced.description == "two"
    assert replaced.provisioning_state == "Succeeded"
    assert not replaced.tags
    assert compute.galleries.get(resource_group, name).description == "two"
