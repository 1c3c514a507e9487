"""LRO speed: no begin_*().result() of the suite may sleep through a poll interval.

galleryd completes instant work before the client's first (immediate) status poll, so no poll of
`Lro.run` may answer that the work still runs (which is what makes a poller sleep Retry-After). conftest.py runs this
file last, so besides its own cycle it checks the timings of every LRO the suite made through
`Lro.run`. (Operations whose work galleryd's workers do after answering, such as replicating an
image version, go through `Lro.run_background`, which checks its own bound as each one finishes.)
"""

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    Gallery,
    GalleryImage,
    GalleryImageIdentifier,
    GalleryImageProperties,
    GalleryImageUpdate,
    GalleryUpdate,
)

from conftest import LOCATION, Lro, unique_name


def test_every_lro_kind_finishes_without_a_poll_delay(
    compute: ComputeManagementClient, lro: Lro, resource_group: str
) -> None:
    gallery, image = unique_name("gal"), unique_name("img")
    properties = GalleryImageProperties(
        os_type="Linux",
        os_state="Generalized",
        identifier=GalleryImageIdentifier(publisher="Contoso", offer="Speed", sku=image),
    )
    before = len(lro.timings)
    lro.run(compute.galleries.begin_create_or_update, resource_group, gallery, Gallery(location=LOCATION))
    lro.run(compute.galleries.begin_update, resource_group, gallery, GalleryUpdate(tags={"k": "v"}))
    lro.run(
        compute.gallery_images.begin_create_or_update,
        resource_group,
        gallery,
        image,
        GalleryImage(location=LOCATION, properties=properties),
    )
    lro.run(
        compute.gallery_images.begin_update,
        resource_group,
        gallery,
        image,
        GalleryImageUpdate(tags={"k": "v"}, properties=properties),
    )
    lro.run(compute.gallery_images.begin_delete, resource_group, gallery, image)
    lro.run(compute.galleries.begin_delete, resource_group, gallery)
    assert len(lro.timings) == before + 6


def test_no_lro_of_the_suite_was_slow(lro: Lro) -> None:
    assert lro.timings, "no LRO was timed"
    slowest = lro.slowest()
    print(f"\n{len(lro.timings)} LROs, slowest {slowest[1]:.3f} s: {slowest[0]}")
    assert lro.slept == [], "polls of instant work that said it still ran"
