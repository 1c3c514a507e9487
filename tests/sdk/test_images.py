"""Image definition lifecycle through azure-mgmt-compute: create, get, update, list, delete."""

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    Gallery,
    GalleryImage,
    GalleryImageFeature,
    GalleryImageIdentifier,
    GalleryImageProperties,
    GalleryImageUpdate,
    RecommendedMachineConfiguration,
    ResourceRange,
)

from conftest import LOCATION, Lro, unique_name


@pytest.fixture
def gallery(compute: ComputeManagementClient, lro: Lro, resource_group: str) -> str:
    """An empty gallery in the test's resource group."""
    name = unique_name("gal")
    lro.run(compute.galleries.begin_create_or_update, resource_group, name, Gallery(location=LOCATION))
    return name


def features(image: GalleryImage) -> dict[str, str]:
    return {feature.name: feature.value for feature in image.features or []}


def recommended(image: GalleryImage) -> tuple:
    config = image.recommended
    return (config.v_cp_us.min, config.v_cp_us.max, config.memory.min, config.memory.max)


def test_image_definition_lifecycle(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, gallery: str, subscription: str
) -> None:
    name = unique_name("img-")
    expected_id = (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Compute/galleries/{gallery}/images/{name}"
    )
    identifier = GalleryImageIdentifier(publisher="Contoso", offer="Ubuntu", sku=name)
    wanted_features = {"SecurityType": "TrustedLaunch", "IsAcceleratedNetworkSupported": "True"}

    created = lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        name,
        GalleryImage(
            location=LOCATION,
            properties=GalleryImageProperties(
                description="first",
                os_type="Linux",
                os_state="Generalized",
                identifier=identifier,
                hyper_v_generation="V2",
                features=[GalleryImageFeature(name=k, value=v) for k, v in wanted_features.items()],
                recommended=RecommendedMachineConfiguration(
                    v_cp_us=ResourceRange(min=2, max=8), memory=ResourceRange(min=4, max=32)
                ),
            ),
        ),
    )
    assert created.id == expected_id
    assert (created.name, created.type, created.location) == (
        name,
        "Microsoft.Compute/galleries/images",
        LOCATION,
    )
    assert created.provisioning_state == "Succeeded"
    assert (created.os_type, created.os_state, created.hyper_v_generation) == ("Linux", "Generalized", "V2")
    assert (created.identifier.publisher, created.identifier.offer, created.identifier.sku) == (
        "Contoso",
        "Ubuntu",
        name,
    )
    assert features(created) == wanted_features
    assert recommended(created) == (2, 8, 4, 32)
    assert created.description == "first"

    fetched = compute.gallery_images.get(resource_group, gallery, name)
    assert fetched.id == expected_id
    assert fetched.as_dict() == created.as_dict()

    # PATCH with the required properties unchanged plus a new description and recommendation.
    updated = lro.run(
        compute.gallery_images.begin_update,
        resource_group,
        gallery,
        name,
        GalleryImageUpdate(
            properties=GalleryImageProperties(
                os_type="Linux",
                os_state="Generalized",
                identifier=identifier,
                description="second",
                recommended=RecommendedMachineConfiguration(
                    v_cp_us=ResourceRange(min=4, max=16), memory=ResourceRange(min=8, max=64)
                ),
            )
        ),
    )
    assert updated.description == "second"
    assert recommended(updated) == (4, 16, 8, 64)
    assert updated.provisioning_state == "Succeeded"
    # What the PATCH did not mention is kept.
    assert updated.hyper_v_generation == "V2"
    assert features(updated) == wanted_features
    assert compute.gallery_images.get(resource_group, gallery, name).as_dict() == updated.as_dict()

    listed = list(compute.gallery_images.list_by_gallery(resource_group, gallery))
    assert [image.id for image in listed] == [expected_id]
    assert listed[0].description == "second"

    assert lro.run(compute.gallery_images.begin_delete, resource_group, gallery, name) is None
    with pytest.raises(ResourceNotFoundError) as missing:
        compute.gallery_images.get(resource_group, gallery, name)
    assert missing.value.error.code == "ResourceNotFound"
    assert list(compute.gallery_images.list_by_gallery(resource_group, gallery)) == []
    # With its last image gone, the gallery can be deleted.
    assert lro.run(compute.galleries.begin_delete, resource_group, gallery) is None
