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

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="10">{}</svg>'
)
CLEAN_SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    + SVG.format(
        '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>'
        '<rect id="r" width="20" height="10" fill="url(#g)" style="stroke: url(#g)"/><use xlink:href="#r"/>'
        '<a href="#r"><text>hi</text></a>'
    )
).encode()
UNSAFE_SVGS = {
    "script": SVG.format("<script>alert(document.domain)</script>"),
    "event handler": SVG.format('<rect width="5" height="5" onclick="alert(1)"/>'),
    "javascript link": SVG.format('<a xlink:href=" JaVa&#x09;script:alert(1)"><text>x</text></a>'),
    "external image": SVG.format('<image href="https://tracker.example.com/p.png" width="5" height="5"/>'),
    "external use": SVG.format('<use href="https://evil.example.com/sprite.svg#icon"/>'),
    "foreignObject": SVG.format('<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'),
    "css url": SVG.format('<rect width="5" height="5" style="fill: url(//evil.example.com/x.svg#p)"/>'),
    "style import": SVG.format('<style>@import "https://evil.example.com/a.css";</style>'),
    "animated href": SVG.format('<a href="#ok"><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'),
    "entity": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>' + SVG.format("<text>&x;</text>"),
    "stylesheet instruction": '<?xml-stylesheet href="https://evil.example.com/a.css"?>' + SVG.format(""),
    "not well-formed": SVG.format("<rect>"),
}


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
GPS = {1: "N", 2: (55.0, 37.0, 12.25), 3: "W", 4: (37.0, 39.0, 46.5)}


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Filedock camera"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:08:20 08:59:50"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG", exif=exif, dpi=(300, 300))
    return buffer.getvalue()


def parse(text: str) -> datetime:
    assert text == "2026-08-20T08:59:50"  # Uploadcare's form: ISO 8601, no time zone
    return datetime.fromisoformat(text)


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


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
