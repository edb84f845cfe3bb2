"""Upload safety through pyuploadcare 6.3, unmodified: SVG validation and EXIF stripping."""

import io
from datetime import datetime

import pytest
from django.core.files.storage import default_storage
from PIL import ExifTags, Image
from pyuploadcare.exceptions import InvalidRequestError

from files.info import rest_file_info
from files.models import File
from projects.models import Project
from tests.helpers import SVG, UNSAFE_SVGS, exif_of, photo_with_gps

CLEAN_SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    + SVG.format(
        '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>'
        '<rect id="r" width="20" height="10" fill="url(#g)" style="stroke: url(#g)"/><use xlink:href="#r"/>'
        '<a href="#r"><text>hi</text></a>'
    )
).encode()


def upload(uploadcare, tmp_path, name: str, data: bytes, **options):
    path = tmp_path / name
    path.write_bytes(data)
    with open(path, "rb") as f:
        return uploadcare.upload(f, **options)


def stored_bytes(uuid) -> bytes:
    with default_storage.open(File.objects.get(uuid=uuid).storage_key) as f:
        return f.read()


@pytest.mark.parametrize("kind", UNSAFE_SVGS)
def test_svg_validation_refuses_an_unsafe_svg(live_project, uploadcare, tmp_path, kind):
    project, _ = live_project
    Project.objects.filter(pk=project.pk).update(svg_validation=True)
    with pytest.raises(InvalidRequestError, match=r"not allowed|not well-formed"):
        upload(uploadcare, tmp_path, "drawing.svg", UNSAFE_SVGS[kind].encode(), store=True)
    assert not File.objects.exists()


def test_svg_validation_refuses_an_svg_named_and_typed_otherwise(live_project, uploadcare, tmp_path):
    """With an XML declaration an SVG is sniffed as XML; browsers still run its scripts."""
    project, _ = live_project
    Project.objects.filter(pk=project.pk).update(svg_validation=True)
    data = b'<?xml version="1.0"?>\n' + UNSAFE_SVGS["script"].encode()
    with pytest.raises(InvalidRequestError, match="not allowed"):
        upload(uploadcare, tmp_path, "notes.xml", data)
    assert not File.objects.exists()


def test_svg_validation_accepts_a_clean_svg(live_project, uploadcare, tmp_path):
    project, _ = live_project
    Project.objects.filter(pk=project.pk).update(svg_validation=True)
    uploaded = upload(uploadcare, tmp_path, "logo.svg", CLEAN_SVG, store=True)
    assert stored_bytes(uploaded.uuid) == CLEAN_SVG
    assert uploaded.info["content_info"]["image"]["format"] == "SVG"


def test_without_svg_validation_an_svg_with_a_script_is_kept(live_project, uploadcare, tmp_path):
    data = UNSAFE_SVGS["script"].encode()
    uploaded = upload(uploadcare, tmp_path, "drawing.svg", data)
    assert stored_bytes(uploaded.uuid) == data


# --- EXIF ---------------------------------------------------------------------------------------

TAKEN = datetime(2026, 8, 20, 8, 59, 50)


def parse(text: str) -> datetime:
    assert text == "2026-08-20T08:59:50"  # Uploadcare's form: ISO 8601, no time zone
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("setting", ["off", "location", "all"])
def test_exif_stripping_of_a_jpeg_uploaded_with_pyuploadcare(live_project, uploadcare, tmp_path, setting):
    project, _ = live_project
    Project.objects.filter(pk=project.pk).update(strip_exif=setting)
    original = photo_with_gps()
    assert ExifTags.IFD.GPSInfo in exif_of(original)

    uploaded = upload(uploadcare, tmp_path, "photo.jpg", original, store=True)
    stored = stored_bytes(uploaded.uuid)
    exif = exif_of(stored)
    uploaded.update_info()
    image = uploaded.info["content_info"]["image"]
    file = File.objects.get(uuid=uploaded.uuid)
    raw = rest_file_info(file)["content_info"]["image"]  # the wire text pyuploadcare parsed
    assert file.size == len(stored) == uploaded.info["size"]
    assert image["orientation"] == exif[ExifTags.Base.Orientation] == 6  # kept in every mode
    assert tuple(image["dpi"]) == (300, 300)
    if setting == "off":
        assert stored == original
        assert ExifTags.IFD.GPSInfo in exif
        assert image["geo_location"] == {
            "latitude": 55 + 37 / 60 + 12.25 / 3600,
            "longitude": -(37 + 39 / 60 + 46.5 / 3600),
        }
        assert image["datetime_original"] == TAKEN == parse(raw["datetime_original"])
    else:
        assert len(stored) < len(original)
        assert ExifTags.IFD.GPSInfo not in exif and image["geo_location"] is None
        with Image.open(io.BytesIO(stored)) as decoded, Image.open(io.BytesIO(original)) as before:
            assert decoded.tobytes() == before.tobytes()  # the pixels were not re-encoded
    if setting == "location":
        assert exif[ExifTags.Base.Make] == "Filedock camera"
        assert image["datetime_original"] == TAKEN == parse(raw["datetime_original"])
    if setting == "all":
        assert ExifTags.Base.Make not in exif and image["datetime_original"] is None
