"""Paged lists: galleryd runs with --page-size 2, so five items take three pages via nextLink."""

from azure.core.paging import ItemPaged
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Gallery, GalleryImage, GalleryImageIdentifier, GalleryImageProperties

from conftest import LOCATION, Lro, unique_name


def pages_of(paged: ItemPaged) -> list[list]:
    """The items of a list, page by page (the SDK follows each nextLink verbatim)."""
    return [list(page) for page in paged.by_page()]


def test_galleries_of_a_group_span_three_pages(
    compute: ComputeManagementClient, lro: Lro, resource_group: str
) -> None:
    names = sorted(unique_name(f"gal{index}") for index in range(5))
    for name in names:
        lro.run(compute.galleries.begin_create_or_update, resource_group, name, Gallery(location=LOCATION))

    pages = pages_of(compute.galleries.list_by_resource_group(resource_group))
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(gallery.name for page in pages for gallery in page) == names
    # Iterating the pager directly gives the same five.
    assert sorted(g.name for g in compute.galleries.list_by_resource_group(resource_group)) == names
    # The subscription-wide list pages too, and holds these five among the other tests' galleries.
    everywhere = pages_of(compute.galleries.list())
    assert all(len(page) <= 2 for page in everywhere)
    listed = [gallery.name for page in everywhere for gallery in page]
    assert len(listed) == len(set(listed)), "a gallery appeared on two pages"
    assert set(names) <= set(listed)


def test_image_definitions_of_a_gallery_span_three_pages(
    compute: ComputeManagementClient, lro: Lro, resource_group: str
) -> None:
    gallery = unique_name("gal")
    lro.run(compute.galleries.begin_create_or_update, resource_group, gallery, Gallery(location=LOCATION))
    names = sorted(unique_name(f"img-{index}-") for index in range(5))
    for name in names:
        lro.run(
            compute.gallery_images.begin_create_or_update,
            resource_group,
            gallery,
            name,
            GalleryImage(
                location=LOCATION,
                properties=GalleryImageProperties(
                    os_type="Windows",
                    os_state="Generalized",
                    identifier=GalleryImageIdentifier(publisher="Contoso", offer="Server", sku=name),
                ),
            ),
        )

    pages = pages_of(compute.gallery_images.list_by_gallery(resource_group, gallery))
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(image.name for page in pages for image in page) == names
    assert all(image.os_type == "Windows" for page in pages for image in page)
