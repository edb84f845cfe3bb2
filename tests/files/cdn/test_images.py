"""CDN image operations: strict parsing and Pillow rendering (files.cdn.images)."""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from files.cdn import images
from files.cdn.images import parse, render
from files.content import image_info
from files.services import file_upload


def image_bytes(size=(400, 300), mode="RGB", fmt="PNG") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else None).save(buffer, fmt)
    buffer.seek(0)
    return buffer


def rendered(path: str, **kwargs):
    plan, _ = parse(path)
    data, mime = render(image_bytes(**kwargs), plan)
    return Image.open(io.BytesIO(data)), mime


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("-/resize/200x/", (200, 150)),
        ("-/resize/x150/", (200, 150)),
        ("-/resize/100x100/", (100, 100)),
        ("-/scale_crop/100x100/", (100, 100)),
        ("-/scale_crop/120x40/center/", (120, 40)),
        ("-/crop/50x60/", (50, 60)),
        ("-/crop/50x60/390,290/", (50, 60)),  # clamped inside the image
        ("-/crop/50x60/center/", (50, 60)),
        ("-/preview/100x100/", (100, 75)),
        ("-/preview/", (400, 300)),
        ("-/resize/800x/-/preview/100x100/", (100, 75)),
    ],
)
def test_geometry(path, size):
    image, _ = rendered(path)
    assert image.size == size


def test_format_quality_progressive_and_grayscale():
    image, mime = rendered("-/grayscale/-/format/jpeg/-/quality/lightest/-/progressive/yes/")
    assert mime == "image/jpeg" and image.mode == "L" and image.info.get("progressive")
    assert rendered("-/format/webp/")[1] == "image/webp"
    assert rendered("-/format/png/")[1] == "image/png"
    assert rendered("")[1] == "image/png"  # the source's own format by default


def test_auto_format_follows_what_the_browser_accepts():
    plan, _ = parse("-/format/auto/")
    assert render(image_bytes(), plan, accepts="webp")[1] == "image/webp"
    assert render(image_bytes(), plan, accepts="")[1] == "image/jpeg"


def test_a_file_name_may_follow_the_operations():
    plan, filename = parse("-/resize/200x/photo.jpg")
    assert filename == "photo.jpg" and plan.steps == [("resize", 200, None, "on")]
    plan, filename = parse("-/grayscale/photo.jpg")
    assert filename == "photo.jpg" and plan.steps == [("grayscale",)]


def test_equivalent_urls_share_a_cache_key():
    assert parse("-/resize/200x/-/format/webp/")[0].key() == parse("-/resize/200x/-/format/webp/a.jpg")[0].key()
    assert parse("-/resize/200x/")[0].key() != parse("-/resize/201x/")[0].key()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("-/resize/abc/", "invalid size"),
        ("-/resize/x/", "invalid size"),
        ("-/resize/99999x/", "between 1 and"),
        ("-/resize/0x10/", "between 1 and"),
        ("-/scale_crop/100x/", "both width and height"),
        ("-/crop/10x10/topleft/", "invalid position 'topleft'"),
        ("-/format/gif/", "format: expected one of auto, avif, jpeg, png, preserve, webp, not 'gif'"),
        ("-/quality/ultra/", "quality: expected one of"),
        ("-/rotate/45/", "multiple of 90"),
        ("-/spin/90/", "Unknown operation 'spin'"),
        ("-/scale_crop/200x200/smart_nothing/", "scale_crop: expected one of"),
        ("-/scale_crop/200x200/photo/", "scale_crop: invalid position 'photo'"),
        ("-/json/-/resize/10x/", "must be the last operation"),
        ("-/", "name is missing"),
        ("resize/10x/", "Unexpected"),
    ],
)
def test_bad_operations_are_value_errors_with_a_message(path, message):
    with pytest.raises(ValueError, match=message):
        parse(path)


# Through the CDN


@pytest.fixture
def photo(team):
    return file_upload(
        project=team.project, content=ContentFile(image_bytes().getvalue(), name="p.png"), filename="p.png", store=True
    )


def test_cdn_renders_operations_and_caches_them(client, photo, monkeypatch):
    response = client.get(f"/cdn/{photo.uuid}/-/resize/100x/-/format/jpeg/thumb.jpg", HTTP_ACCEPT="image/*")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (100, 75)
    assert 'filename="thumb.jpg"' in response["Content-Disposition"]

    monkeypatch.setattr(images, "render", lambda *a, **k: pytest.fail("rendered twice"))
    again = client.get(f"/cdn/{photo.uuid}/-/resize/100x/-/format/jpeg/")
    assert again.status_code == 200 and again["ETag"] == response["ETag"]
    assert (
        client.get(f"/cdn/{photo.uuid}/-/resize/100x/-/format/jpeg/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code
        == 304
    )


def test_cdn_auto_format_varies_by_accept(client, photo):
    webp = client.get(f"/cdn/{photo.uuid}/-/format/auto/", HTTP_ACCEPT="image/webp,image/*")
    plain = client.get(f"/cdn/{photo.uuid}/-/format/auto/", HTTP_ACCEPT="image/*")
    assert webp["Content-Type"] == "image/webp" and plain["Content-Type"] == "image/jpeg"
    assert webp["Vary"] == "Accept" and webp["ETag"] != plain["ETag"]


def test_cdn_bad_operation_is_400_with_the_message(client, photo):
    response = client.get(f"/cdn/{photo.uuid}/-/resize/huge/")
    assert response.status_code == 400 and b"invalid size" in response.content


def test_cdn_operations_on_non_images_are_404(client, team):
    text = file_upload(project=team.project, content=ContentFile(b"words", name="a.txt"), filename="a.txt", store=True)
    assert client.get(f"/cdn/{text.uuid}/-/resize/10x/").status_code == 404


def test_a_resize_whose_computed_side_is_too_large_is_refused():
    plan, _ = parse("-/resize/5000x/")
    with pytest.raises(ValueError, match="capped"):
        render(image_bytes(size=(1, 5000)), plan)


def test_cdn_answers_400_for_an_oversized_computed_side(client, team):
    tall = file_upload(
        project=team.project,
        content=ContentFile(image_bytes(size=(1, 5000)).getvalue(), name="t.png"),
        filename="t.png",
        store=True,
    )
    assert client.get(f"/cdn/{tall.uuid}/-/resize/5000x/").status_code == 400


@pytest.mark.parametrize(
    ("mode", "fmt"), [("RGB", "JPEG"), ("RGBA", "PNG"), ("P", "GIF"), ("1", "BMP"), ("L", "PNG"), ("CMYK", "JPEG")]
)
@pytest.mark.parametrize("path", ["", "-/format/auto/", "-/preview/30x30/", "-/grayscale/", "-/format/webp/"])
def test_the_format_planned_from_image_info_is_the_one_rendered(mode, fmt, path):
    source = image_bytes(size=(40, 30), mode=mode, fmt=fmt)
    plan, _ = parse(path)
    for accepts in ("", "webp"):
        planned = images.output_of(plan, image_info(source), accepts)
        assert render(source, plan, accepts)[1] == planned.mime_type


def test_the_preview_url_is_named_by_the_size_it_gives():
    plan = images.parse_preview("100x100")
    info = image_info(image_bytes(size=(400, 200), fmt="JPEG"))
    output = images.output_of(plan, info, accepts="")
    assert (output.name, output.tag, output.mime_type) == ("100x50.jpg", "100x50", "image/jpeg")
    assert images.output_of(images.parse_preview("100x"), info, accepts="") == output
