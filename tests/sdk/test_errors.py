"""ARM errors surface as the azure-core exceptions SDK users catch, with the ARM error body parsed."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    Gallery,
    GalleryImage,
    GalleryImageIdentifier,
    GalleryImageProperties,
)

from conftest import LOCATION, Lro, unique_name


def image(publisher: str, offer: str, sku: str, os_state: str = "Generalized") -> GalleryImage:
    return GalleryImage(
        location=LOCATION,
        properties=GalleryImageProperties(
            os_type="Linux",
            os_state=os_state,
            identifier=GalleryImageIdentifier(publisher=publisher, offer=offer, sku=sku),
        ),
    )


@pytest.fixture
def gallery(compute: ComputeManagementClient, lro: Lro, resource_group: str) -> str:
    name = unique_name("gal")
    lro.run(compute.galleries.begin_create_or_update, resource_group, name, Gallery(location=LOCATION))
    return name


def test_missing_gallery_is_resource_not_found(
    compute: ComputeManagementClient, resource_group: str
) -> None:
    name = unique_name("nogal")
    with pytest.raises(ResourceNotFoundError) as raised:
        compute.galleries.get(resource_group, name)
    assert raised.value.status_code == 404
    assert raised.value.error.code == "ResourceNotFound"
    assert name in raised.value.error.message


def test_image_under_missing_gallery_is_parent_resource_not_found(
    compute: ComputeManagementClient, resource_group: str
) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        compute.gallery_images.begin_create_or_update(
            resource_group, unique_name("nogal"), "img1", image("Contoso", "Offer", "Sku")
        )
    assert raised.value.status_code == 404
    assert raised.value.error.code == "ParentResourceNotFound"


def test_duplicate_identifier_in_other_case_is_a_conflict(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, gallery: str
) -> None:
    lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        "first",
        image("Contoso", "Ubuntu", "22_04-lts"),
    )
    with pytest.raises(ResourceExistsError) as raised:
        compute.gallery_images.begin_create_or_update(
            resource_group, gallery, "second", image("CONTOSO", "ubuntu", "22_04-LTS")
        )
    assert raised.value.status_code == 409
    assert raised.value.error.code, "409 without an ARM error code"
    # Nothing was created under the second name.
    with pytest.raises(ResourceNotFoundError):
        compute.gallery_images.get(resource_group, gallery, "second")


def test_changing_os_state_is_property_change_not_allowed(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, gallery: str
) -> None:
    lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        "img",
        image("Contoso", "Ubuntu", "stateful", os_state="Generalized"),
    )
    with pytest.raises(ResourceExistsError) as raised:
        compute.gallery_images.begin_create_or_update(
            resource_group, gallery, "img", image("Contoso", "Ubuntu", "stateful", os_state="Specialized")
        )
    assert raised.value.status_code == 409
    assert raised.value.error.code == "PropertyChangeNotAllowed"
    assert raised.value.error.target.endswith("osState")
    assert compute.gallery_images.get(resource_group, gallery, "img").os_state == "Generalized"


def test_deleting_a_gallery_with_images_is_refused(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, gallery: str
) -> None:
    lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        "img",
        image("Contoso", "Ubuntu", "nested"),
    )
    with pytest.raises(ResourceExistsError) as raised:
        compute.galleries.begin_delete(resource_group, gallery)
    assert raised.value.status_code == 409
    assert raised.value.error.code == "CannotDeleteResource"
    # Both are still there.
    assert compute.galleries.get(resource_group, gallery).provisioning_state == "Succeeded"
    assert compute.gallery_images.get(resource_group, gallery, "img").name == "img"


def test_gallery_name_with_a_dash_is_a_bad_request(
    compute: ComputeManagementClient, resource_group: str
) -> None:
    name = "bad-name"
    with pytest.raises(HttpResponseError) as raised:
        compute.galleries.begin_create_or_update(resource_group, name, Gallery(location=LOCATION))
    # A plain HttpResponseError, not one of the 404/409 subclasses.
    assert type(raised.value) is HttpResponseError
    assert raised.value.status_code == 400
    assert raised.value.error.code == "InvalidParameter"
    assert list(compute.galleries.list_by_resource_group(resource_group)) == []


def test_gallery_in_missing_resource_group_is_resource_group_not_found(
    compute: ComputeManagementClient,
) -> None:
    group = unique_name("norg")
    with pytest.raises(ResourceNotFoundError) as raised:
        compute.galleries.begin_create_or_update(group, "gal", Gallery(location=LOCATION))
    assert raised.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as raised:
        list(compute.galleries.list_by_resource_group(group))
    assert raised.value.error.code == "ResourceGroupNotFound"


def test_deleting_what_does_not_exist_succeeds(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, gallery: str
) -> None:
    # ARM deletes are idempotent: 204 for a resource that is not there, which the SDK returns as None.
    assert lro.run(compute.gallery_images.begin_delete, resource_group, gallery, "never") is None
    assert lro.run(compute.galleries.begin_delete, resource_group, unique_name("never")) is None


def test_names_are_case_insensitive(
    compute: ComputeManagementClient, resource_group: str, gallery: str
) -> None:
    fetched = compute.galleries.get(resource_group.upper(), gallery.upper())
    # The id keeps the casing the gallery was created with.
    assert fetched.name == gallery
    assert fetched.id.endswith(f"/resourceGroups/{resource_group}/providers/Microsoft.Compute/galleries/{gallery}")
