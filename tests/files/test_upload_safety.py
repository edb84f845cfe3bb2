"""SVG validation and EXIF stripping on the path where the upload arrives as a one-way stream
(a multipart upload's parts joined from S3): the bytes are spooled so they are checked before
anything is written."""

import io

import pytest
from django.core.files import File as DjangoFile
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import ExifTags, Image

from files import services
from files.errors import UploadError
from files.models import File
from projects.models import Project
from tests.helpers import UNSAFE_SVGS, blobs, exif_of, photo_with_gps


class OneWay(io.RawIOBase):
    """A stream that reads forward only, as the parts joined from S3 do."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def one_way(data: bytes, name: str) -> DjangoFile:
    content = DjangoFile(OneWay(data), name=name)
    content.size = len(data)
    return content


@pytest.fixture
def project(team) -> Project:
    return team.project


def test_an_unsafe_svg_arriving_as_a_stream_is_refused_before_it_is_written(project):
    Project.objects.filter(pk=project.pk).update(svg_validation=True)
    project.refresh_from_db()
    before = blobs()
    with pytest.raises(UploadError) as refused:
        services.file_upload(
            project=project, content=one_way(UNSAFE_SVGS["script"].encode(), "a.svg"), filename="a.svg", store=True
        )
    assert refused.value.code == "FileTypeForbiddenError" and refused.value.status == 400
    assert blobs() == before and not File.objects.exists()


def test_a_photo_arriving_as_a_stream_is_stored_without_its_location(project):
    Project.objects.filter(pk=project.pk).update(strip_exif="location")
    project.refresh_from_db()
    original = photo_with_gps()
    file = services.file_upload(project=project, content=one_way(original, "p.jpg"), filename="p.jpg", store=True)
    with default_storage.open(file.storage_key) as stored:
        data = stored.read()
    assert ExifTags.IFD.GPSInfo not in exif_of(data) and file.size == len(data) < len(original)
    assert file.image_info["geo_location"] is None and file.image_info["orientation"] == 6
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (64, 48)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("page.html", b"<!doctype html><p>An inline <svg><circle r=2></svg> in a page that is not XML"),
        ("notes.txt", b"Remember: <svg> needs xmlns"),
    ],
)
def test_svg_validation_leaves_text_and_html_that_mention_svg_alone(project, name, data):
    Project.objects.filter(pk=project.pk).update(svg_validation=True)
    project.refresh_from_db()
    file = services.file_upload(project=project, content=ContentFile(data, name=name), filename=name, store=True)
    assert file.size == len(data)


def image_with_metadata(image_format: str) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Filedock camera"
    exif[ExifTags.Base.Orientation] = 8
    if image_format != "TIFF":  # Pillow writes no GPS directory into a TIFF
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "S", 2: (33.0, 51.0, 0.0), 3: "E", 4: (151.0, 12.0, 0.0)})
    buffer = io.BytesIO()
    options = (
        {"compression": "tiff_lzw"} if image_format == "TIFF" else {"lossless": True} if image_format == "WEBP" else {}
    )
    Image.new("RGB", (24, 16), (250, 100, 0)).save(buffer, image_format, exif=exif, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "setting"),
    [("PNG", "location"), ("PNG", "all"), ("WEBP", "location"), ("WEBP", "all"), ("TIFF", "all")],
)
def test_exif_stripping_of_png_webp_and_tiff_keeps_the_pixels_and_orientation(project, image_format, setting):
    Project.objects.filter(pk=project.pk).update(strip_exif=setting)
    project.refresh_from_db()
    original = image_with_metadata(image_format)
    name = f"picture.{image_format.lower()}"
    file = services.file_upload(project=project, content=ContentFile(original, name=name), filename=name, store=True)
    with default_storage.open(file.storage_key) as stored:
        data = stored.read()
    exif = exif_of(data)
    assert file.size == len(data) and data != original
    assert ExifTags.IFD.GPSInfo not in exif and file.image_info["geo_location"] is None
    assert exif[ExifTags.Base.Orientation] == 8 == file.image_info["orientation"]
    assert (exif.get(ExifTags.Base.Make) == "Filedock camera") is (setting == "location")
    with Image.open(io.BytesIO(data)) as after, Image.open(io.BytesIO(original)) as before:
        assert after.format == image_format and after.tobytes() == before.tobytes()
