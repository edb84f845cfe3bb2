"""The REST file list's fast path (issue #7, P8): rows read as text in SQL and dicts built by hand
give what the model path gives, byte for byte where it matters."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from rest_framework.renderers import JSONRenderer

from files.info import rest_file_infos, rest_info_rows, rest_infos_of_rows
from files.models import File
from files.services import file_delete, file_upload
from tests.helpers import ACCEPT

IMAGE_INFO = {"format": "JPEG", "width": 640, "height": 480, "dpi": [72.0, 72.0], "sequence": False}


def make_file(project, name: str, at: datetime, store: bool = False, **columns) -> File:
    file = file_upload(project=project, content=ContentFile(b"hello", name=name), filename=name, store=store)
    File.objects.filter(pk=file.pk).update(datetime_uploaded=at, **columns)
    file.refresh_from_db()
    return file


@pytest.fixture
def odd_files(team):
    """Files whose infos are easy to get wrong: whole seconds, year 5, an image, metadata, odd names."""
    project = team.project
    files = [
        make_file(project, "whole second.txt", datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)),
        make_file(project, "ancient.txt", datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC), store=True),
        make_file(
            project,
            "photo ünïcode\u2028.jpg",
            datetime(2026, 3, 1, 12, 0, 1, 500, tzinfo=UTC),
            mime_type="image/jpeg",
            image_info=IMAGE_INFO,
            metadata={"kind": "photo", "n": "1"},
        ),
        make_file(project, "noslash", datetime(2026, 3, 1, 12, 0, 2, tzinfo=UTC), mime_type="weird"),
    ]
    file_delete(file=make_file(project, "gone.txt", datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC), store=True))
    return files


def test_rows_read_in_sql_give_the_model_paths_infos(team, odd_files, rf):
    request = rf.get("/api/files/")
    files = File.objects.filter(project=team.project).order_by("datetime_uploaded", "pk")
    for appdata in (False, True):
        by_rows = rest_infos_of_rows(list(rest_info_rows(files)), request, include_appdata=appdata)
        assert by_rows == rest_file_infos(list(files), request, include_appdata=appdata)
        assert len(by_rows) == 5
    rows = list(rest_info_rows(files))
    assert rows[0][:2] == (str(odd_files[1].uuid), "0005-01-02T03:04:05.000006Z")
    assert rows[1][1] == "2026-03-01T12:00:00.000000Z"


def test_listed_infos_equal_each_files_own_info(api, odd_files):
    present = api("get", "files/?include=appdata").json()["results"]
    listed = present + api("get", "files/?removed=true").json()["results"]
    assert len(listed) == 5
    for info in listed:
        own = api("get", f"files/{info['uuid']}/?include=appdata").json()
        assert info == (own if "appdata" in info else {k: v for k, v in own.items() if k != "appdata"})


def test_a_next_link_at_a_whole_second_is_written_as_before(api, odd_files):
    """The link's `from` is the datetime's isoformat(), which drops zero microseconds."""
    body = api("get", "files/?limit=1").json()
    assert body["results"][0]["uuid"] == str(odd_files[1].uuid)
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["from"] == ["2026-03-01T12:00:00+00:00"] and query["from_id"] == [str(odd_files[0].uuid)]
    second = api("get", body["next"]).json()
    assert [f["uuid"] for f in second["results"]] == [str(odd_files[0].uuid)]
    assert parse_qs(urlsplit(second["next"]).query)["from"] == ["2026-03-01T12:00:01.000500+00:00"]


def test_the_list_body_is_what_drfs_renderer_writes(api, odd_files):
    response = api("get", "files/")
    assert response["Content-Type"] == ACCEPT
    body = response.json()
    assert response.content == JSONRenderer().render(body)
    assert b"\\u2028" in response.content and "ü".encode() in response.content
