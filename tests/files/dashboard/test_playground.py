"""The files browser's grid view (remembered per browser) and the file page's transformation playground,
whose URLs are fetched from the CDN to check they give what was asked for."""

import io
from urllib.parse import urlsplit

import pytest
import pyvips
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from files.dashboard.playground import PlaygroundForm, transformation_url
from files.services import file_upload
from projects.services import delivery_secret_create, project_configure_delivery

pytestmark = pytest.mark.django_db


def _photo(project, width=400, height=300):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, "PNG")
    return file_upload(
        project=project, content=ContentFile(buffer.getvalue(), name="p.png"), filename="p.png", store=True
    )


def _text(project):
    return file_upload(
        project=project, content=ContentFile(b"a,b\n", name="orders.csv"), filename="orders.csv", store=True
    )


def _fetch(client, url: str) -> pyvips.Image:
    """The CDN's answer to `url` (its path and query, on the test server), read by libvips."""
    parts = urlsplit(url)
    response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""), HTTP_ACCEPT="image/webp,image/*")
    assert response.status_code == 200, (url, response.status_code, getattr(response, "content", b"")[:200])
    return pyvips.Image.new_from_buffer(b"".join(response.streaming_content), "")


# Grid view


def test_the_grid_shows_thumbnails_and_type_labels_and_is_remembered(login, team):
    photo, csv = _photo(team.project), _text(team.project)
    client = login(team.viewer)
    url = reverse("files:list", args=[team.project.pk])

    table = client.get(url)
    assert table.context["view"] == "table" and "file-grid" not in table.content.decode()

    grid = client.get(url, {"view": "grid"})
    body = grid.content.decode()
    assert 'data-testid="file-grid"' in body and "<table" not in body
    assert (
        f'src="http://testserver/cdn/{photo.uuid}/-/preview/320x320/" alt="" width="160" height="160" loading="lazy"'
        in body
    )
    assert ">CSV</span>" in body and f'data-file="{csv.uuid}"' in body
    assert grid.cookies["files_view"].value == "grid"

    again = client.get(url)  # no ?view=: the browser's remembered choice
    assert again.context["view"] == "grid" and 'data-testid="file-grid"' in again.content.decode()
    assert 'href="?view=table" class="button small secondary">Table</a>' in again.content.decode()

    client.get(url, {"view": "table"})
    assert client.get(url).context["view"] == "table"
    assert client.get(url, {"view": "nonsense"}).context["view"] == "table"


def test_grid_tiles_of_a_signed_project_carry_a_token(login, team):
    delivery_secret_create(project=team.project)
    _configure(team.project, signed=True)
    photo = _photo(team.project)
    client = login(team.viewer)
    body = client.get(reverse("files:list", args=[team.project.pk]), {"view": "grid"}).content.decode()
    src = body.split(f'src="http://testserver/cdn/{photo.uuid}/-/preview/320x320/?token=')[1].split('"')[0]
    assert _fetch(client, f"/cdn/{photo.uuid}/-/preview/320x320/?token={src}".replace("&amp;", "&")).width == 320


# The playground


@pytest.mark.parametrize(
    ("choices", "size", "loader"),
    [
        ({"geometry": "resize", "width": "200", "format": "webp"}, (200, 150), "webpload"),
        ({"geometry": "resize", "height": "60", "format": "png"}, (80, 60), "pngload"),
        ({"geometry": "crop", "width": "50", "height": "40", "align": "top", "format": "jpeg"}, (50, 40), "jpegload"),
        ({"geometry": "scale_crop", "width": "120", "height": "120", "grayscale": "on"}, (120, 120), "pngload"),
        (
            {"rotate": "90", "mirror": "on", "flip": "on", "blur": "5", "sharp": "3", "enhance": "on"},
            (300, 400),
            "pngload",
        ),
        ({"format": "jpeg", "quality": "lightest"}, (400, 300), "jpegload"),
    ],
)
def test_the_playground_url_gives_the_chosen_image(login, team, choices, size, loader):
    photo = _photo(team.project)
    client = login(team.viewer)
    response = client.get(reverse("files:detail", args=[team.project.pk, photo.uuid]), choices)
    url = response.context["playground"]["url"]
    assert url == transformation_url(
        base=f"http://testserver/cdn/{photo.uuid}/", options=response.context["playground"]["form"].cleaned_data
    )
    body = response.content.decode()
    assert f'data-copy="{url}"' in body and f'<img src="{url}"' in body
    image = _fetch(client, url)
    assert (image.width, image.height) == size
    assert image.get("vips-loader").startswith(loader)
    if "grayscale" in choices:
        assert image.bands == 1 or image.colourspace("b-w").bands == 1


def test_the_playground_url_is_signed_when_the_project_signs_its_urls(login, team):
    delivery_secret_create(project=team.project)
    _configure(team.project, signed=True)
    photo = _photo(team.project)
    client = login(team.member)
    response = client.get(
        reverse("files:detail", args=[team.project.pk, photo.uuid]), {"geometry": "resize", "width": "100"}
    )
    url = response.context["playground"]["url"]
    assert f"/cdn/{photo.uuid}/-/resize/100x/?token=exp=" in url
    assert _fetch(client, url).width == 100
    unsigned = urlsplit(url).path
    assert client.get(unsigned).status_code == 403  # the token is what makes it work


def test_bad_choices_are_form_errors_not_urls(login, team):
    photo = _photo(team.project)
    response = login(team.viewer).get(
        reverse("files:detail", args=[team.project.pk, photo.uuid]), {"geometry": "crop", "width": "10"}
    )
    assert response.context["playground"]["url"] is None
    assert "Width (px): Give both a width and a height." in response.content.decode()
    too_big = PlaygroundForm({"geometry": "resize", "width": "999999"})
    assert not too_big.is_valid() and "width" in too_big.errors


def test_only_images_get_a_playground(login, team):
    csv = _text(team.project)
    response = login(team.viewer).get(reverse("files:detail", args=[team.project.pk, csv.uuid]))
    assert response.context["playground"] is None and 'id="playground"' not in response.content.decode()


def _configure(project, *, signed: bool) -> None:
    project_configure_delivery(
        project=project, signed_delivery=signed, auto_format=False, default_quality="normal", download_non_images=False
    )
