"""Groups on the CDN: the group page, `nth/{i}/` with the group's and the URL's operations, and
zip/tar archives streamed from storage (Uploadcare's URL API, file groups)."""

import io
import tarfile
import zipfile

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from billing.metering import usage_flush
from billing.models import UsageDay
from files.info import upload_group_info
from files.services import file_delete, file_upload
from files.uploads.groups import group_create
from projects.services import project_delete
from tests.helpers import body, image_bytes


def stored(project, data: bytes, name: str):
    return file_upload(project=project, content=ContentFile(data, name=name), filename=name, store=True)


@pytest.fixture
def members(team):
    return (
        stored(team.project, image_bytes(400, 200), "photo.jpg"),
        stored(team.project, b"some notes", "notes.txt"),
        stored(team.project, b"other notes", "notes.txt"),
    )


@pytest.fixture
def group(team, members):
    photo, notes, twin = members
    return group_create(project=team.project, refs=[f"{photo.uuid}/-/resize/100x/", str(notes.uuid), str(twin.uuid)])


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_the_group_cdn_url_the_apis_hand_out_lists_its_files(client, group, members):
    url = upload_group_info(group)["cdn_url"]
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    photo, notes, twin = members
    assert page.index(f"{photo.uuid}/-/resize/100x/") < page.index(str(notes.uuid)) < page.index(str(twin.uuid))
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_nth_serves_the_file_with_the_groups_operations(client, group):
    response = client.get(f"/cdn/{group.id}/nth/0/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert size_of(body(response)) == (100, 50)  # the group's -/resize/100x/ applied


def test_operations_after_nth_come_after_the_groups_own(client, group):
    response = client.get(f"/cdn/{group.id}/nth/0/-/format/png/-/resize/50x/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert size_of(body(response)) == (50, 25)


def test_nth_of_a_plain_file_serves_its_bytes_for_download(client, group):
    response = client.get(f"/cdn/{group.id}/nth/1/")
    assert (response.status_code, body(response)) == (200, b"some notes")
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    named = client.get(f"/cdn/{group.id}/nth/1/minutes.txt")
    assert named["Content-Disposition"] == 'attachment; filename="minutes.txt"'


@pytest.mark.parametrize("path", ["nth/3/", "nth/99/", "nth/0/-/nonsense/1/"])
def test_a_missing_index_or_bad_operation_is_refused(client, group, path):
    response = client.get(f"/cdn/{group.id}/{path}")
    assert response.status_code == (400 if "nonsense" in path else 404)


def test_an_unknown_group_or_a_deleted_projects_group_is_404(client, team, group):
    unknown = group.id.replace(group.id[:8], "00000000")
    assert client.get(f"/cdn/{unknown}/").status_code == 404
    project_delete(project=team.project)
    for path in ("", "nth/0/", "archive/zip/"):
        assert client.get(f"/cdn/{group.id}/{path}").status_code == 404


def test_a_removed_member_is_404_at_its_index_and_left_out_of_the_archive(client, group, members):
    file_delete(file=members[1])
    assert client.get(f"/cdn/{group.id}/nth/1/").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(f"/cdn/{group.id}/archive/zip/"))))
    assert archive.namelist() == ["photo.jpg", "notes.txt"]  # the twin keeps the plain name now


def test_zip_archive_holds_the_originals_under_unique_names(client, team, group, members):
    response = client.get(f"/cdn/{group.id}/archive/zip/")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{group.id.replace("~", "-")}.zip"'
    data = body(response)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == ["photo.jpg", "notes.txt", "notes (1).txt"]
    assert archive.read("photo.jpg") == image_bytes(400, 200)  # the original, not the group's resize
    assert (archive.read("notes.txt"), archive.read("notes (1).txt")) == (b"some notes", b"other notes")
    usage_flush()
    assert UsageDay.objects.get(project=team.project).traffic_bytes == len(data)


def test_tar_archive_holds_the_same_files_and_takes_a_name(client, group):
    response = client.get(f"/cdn/{group.id}/archive/tar/holiday.tar")
    assert response["Content-Disposition"] == 'attachment; filename="holiday.tar"'
    with tarfile.open(fileobj=io.BytesIO(body(response))) as archive:
        assert archive.getnames() == ["photo.jpg", "notes.txt", "notes (1).txt"]
        assert archive.extractfile("notes (1).txt").read() == b"other notes"


def test_an_archive_is_streamed_a_chunk_at_a_time(client, team, settings):
    big = b"x" * (3 * 256 * 1024 + 5)
    file = stored(team.project, big, "big.bin")
    group = group_create(project=team.project, refs=[str(file.uuid)])
    for kind in ("zip", "tar"):
        chunks = list(client.get(f"/cdn/{group.id}/archive/{kind}/").streaming_content)
        assert max(len(chunk) for chunk in chunks) <= 256 * 1024 + 1024  # never the whole file at once
        assert len(chunks) >= 4
