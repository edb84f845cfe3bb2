"""REST v0.7 files and groups at the HTTP level: shapes, keyset pages, filters, batches, metadata,
groups, other projects' ids, and 400s (never 500s) for malformed input."""

import functools
import json
import operator
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.storage import default_storage

from files.models import Event, File
from files.services import file_delete, file_store
from tests.factories import make_file
from tests.helpers import ACCEPT, ISO, T0, walk


@pytest.fixture
def tied_files(team):
    """Seven files, five of them uploaded in the same microsecond, plus one of another project."""
    times = [T0, T0 + timedelta(seconds=1)] + [T0 + timedelta(seconds=2)] * 5
    files = [make_file(team.project, f"f{i}.txt", uploaded_at=at, store=False) for i, at in enumerate(times)]
    make_file(team.outsider.memberships.get().project, "theirs.txt", uploaded_at=T0 + timedelta(seconds=2), store=False)
    return sorted(files, key=lambda f: (f.datetime_uploaded, f.uuid))


# --- file info ---------------------------------------------------------------------------------


def test_file_info_shape(api, team):
    file = make_file(team.project, "report.txt", metadata={"k": "v"}, store=False)
    response = api("get", f"files/{file.uuid}/")
    assert response.status_code == 200 and response["Content-Type"] == ACCEPT
    info = response.json()
    assert info["uuid"] == str(file.uuid) and info["size"] == 5 and info["original_filename"] == "report.txt"
    assert ISO.match(info["datetime_uploaded"]) and info["datetime_stored"] is None and info["datetime_removed"] is None
    assert info["url"] == f"http://testserver/api/files/{file.uuid}/"
    assert info["original_file_url"].startswith(f"http://testserver/cdn/{file.uuid}/")
    assert info["metadata"] == {"k": "v"} and info["content_info"]["mime"]["type"] == "text"
    assert "appdata" not in info
    assert api("get", f"files/{file.uuid}/?include=appdata").json()["appdata"] == {}


def test_file_info_of_a_removed_file_has_datetime_removed(api, team):
    file = file_delete(file=make_file(team.project, store=False))
    info = api("get", f"files/{file.uuid}/").json()
    assert ISO.match(info["datetime_removed"]) and info["original_file_url"] is None


@pytest.mark.parametrize(
    "file_id",
    [
        "not-a-uuid",
        "12345678-1234-1234-1234-12345678901Z",
        "6c1f2b9e-0d4a-4c7e-9a51-3f0e8d2b7c44",  # well formed, nobody's
        "%00",
        "0" * 300,
    ],
)
def test_unknown_or_malformed_uuid_is_404(api, file_id):
    for method, path in [
        ("get", ""),
        ("put", "storage/"),
        ("delete", "storage/"),
        ("get", "metadata/"),
        ("get", "metadata/k/"),
        ("put", "metadata/k/"),
        ("delete", "metadata/k/"),
    ]:
        response = api(method, f"files/{file_id}/{path}", "v" if method == "put" else None)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json() == {"detail": "Not found."}


def test_other_projects_file_is_404_and_untouched(api, elsewhere):
    theirs = make_file(elsewhere, metadata={"k": "v"}, store=False)
    for method, path, body in [
        ("get", "", None),
        ("put", "storage/", None),
        ("delete", "storage/", None),
        ("get", "metadata/", None),
        ("get", "metadata/k/", None),
        ("put", "metadata/k/", "x"),
        ("delete", "metadata/k/", None),
    ]:
        response = api(method, f"files/{theirs.uuid}/{path}", body)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    theirs.refresh_from_db()
    assert not theirs.is_stored and not theirs.is_removed and theirs.metadata == {"k": "v"}
    assert api("post", "files/local_copy/", {"source": str(theirs.uuid)}).status_code == 404
    assert File.objects.filter(project=elsewhere).count() == 1


def test_uppercase_uuid_finds_the_file(api, team):
    file = make_file(team.project, store=False)
    assert api("get", f"files/{str(file.uuid).upper()}/").json()["uuid"] == str(file.uuid)


def test_requires_credentials(client):
    assert client.get("/api/files/", HTTP_ACCEPT=ACCEPT).status_code == 401


# --- store and delete --------------------------------------------------------------------------


def test_store_returns_info_and_emits_once(api, team):
    file = make_file(team.project, store=False)
    first = api("put", f"files/{file.uuid}/storage/")
    assert first.status_code == 200 and ISO.match(first.json()["datetime_stored"])
    assert api("put", f"files/{file.uuid}/storage/").json()["datetime_stored"] == first.json()["datetime_stored"]
    assert Event.objects.filter(file_uuid=file.uuid, type="file.stored").count() == 1


def test_store_a_removed_file_is_404(api, team):
    file = file_delete(file=make_file(team.project, store=False))
    response = api("put", f"files/{file.uuid}/storage/")
    assert response.status_code == 404 and response.json() == {"detail": "File is removed."}


def test_delete_returns_full_info_and_emits_once(api, team, django_capture_on_commit_callbacks):
    file = make_file(team.project, store=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api("delete", f"files/{file.uuid}/storage/")
    assert response.status_code == 200
    info = response.json()
    assert info["uuid"] == str(file.uuid) and ISO.match(info["datetime_removed"]) and info["original_file_url"] is None
    assert api("delete", f"files/{file.uuid}/storage/").status_code == 200
    assert Event.objects.filter(file_uuid=file.uuid, type="file.deleted").count() == 1
    assert not default_storage.exists(file.storage_key)


# --- the list ----------------------------------------------------------------------------------


def test_list_shape_totals_and_default_oldest_first(api, team, elsewhere):
    old = make_file(team.project, "old.txt", store=True, uploaded_at=T0)
    new = make_file(team.project, "new.txt", uploaded_at=T0 + timedelta(hours=1), store=False)
    file_delete(file=make_file(team.project, "gone.txt", store=False))
    make_file(elsewhere, store=False)
    response = api("get", "files/")
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None and body["previous"] is None and body["per_page"] == 100
    assert body["total"] == 2 and body["totals"] == {"removed": 1, "stored": 1, "unstored": 1}
    assert [f["uuid"] for f in body["results"]] == [str(old.uuid), str(new.uuid)]
    assert api("get", "files/?include=appdata").json()["results"][0]["appdata"] == {}


@pytest.mark.parametrize("ordering", ["datetime_uploaded", "-datetime_uploaded"])
def test_pages_with_ties_are_complete_in_both_orderings(api, tied_files, ordering):
    expected = [str(f.uuid) for f in (tied_files if ordering == "datetime_uploaded" else reversed(tied_files))]
    pages, last = walk(api, f"files/?limit=2&ordering={ordering}")
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert functools.reduce(operator.iadd, pages, []) == expected
    # ...and back from the last page through `previous`, page for page.
    assert walk(api, last, "previous")[0] == pages[::-1]


@pytest.mark.parametrize(("start", "previous"), [(0, None), (1, "first"), (2, "first"), (3, 1), (6, 4)])
def test_previous_starts_a_page_back_or_is_the_first_page(api, tied_files, start, previous):
    """`previous` of a page of 2 starting at the n-th file: none before the first file, the first
    page while fewer than a page of files (or exactly one) come before, else the file 2 back."""
    file = tied_files[start]
    query = urlencode({"limit": 2, "from": file.datetime_uploaded.isoformat(), "from_id": str(file.uuid)})
    link = api("get", f"files/?{query}").json()["previous"]
    if previous is None:
        assert link is None
    elif previous == "first":
        assert link == "http://testserver/api/files/?limit=2"
    else:
        assert parse_qs(urlsplit(link).query)["from_id"] == [str(tied_files[previous].uuid)]


def test_links_are_absolute_on_the_requests_origin(api, tied_files, settings):
    settings.ALLOWED_HOSTS = ["files.example.com"]
    response = api("get", "files/?limit=2&stored=false&junk=1", secure=True, HTTP_HOST="files.example.com:8443")
    next_url = response.json()["next"]
    assert next_url.startswith("https://files.example.com:8443/api/files/?")
    query = parse_qs(urlsplit(next_url).query)
    assert query["limit"] == ["2"] and query["stored"] == ["false"] and "junk" not in query
    # The next page's first row, so a client that keeps only `from` still lands on it.
    assert query["from"] == [tied_files[2].datetime_uploaded.isoformat()]
    assert query["from_id"] == [str(tied_files[2].uuid)]


def test_a_client_that_keeps_only_from_still_sees_every_row(api, team):
    """@uploadcare/rest-client rebuilds the next request from `from`, `limit`, ... and drops `from_id`."""
    times = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    files = sorted(
        (make_file(team.project, uploaded_at=at, store=False) for at in times),
        key=lambda f: (f.datetime_uploaded, f.uuid),
    )
    seen, url = [], "files/?limit=2"
    while url:
        body = api("get", url).json()
        seen += [f["uuid"] for f in body["results"]]
        url = body["next"] and re.sub(r"&from_id=[^&]*", "", body["next"])
    assert seen == [str(f.uuid) for f in files[:2]] + [str(f.uuid) for f in files[1:]]  # the tie, twice


def test_from_is_inclusive_in_both_orderings(api, tied_files):
    at = tied_files[1].datetime_uploaded.isoformat().replace("+00:00", "Z")
    ascending = api("get", f"files/?from={at}").json()
    assert [f["uuid"] for f in ascending["results"]] == [str(f.uuid) for f in tied_files[1:]]
    assert ascending["previous"] and ascending["total"] == 7
    descending = api("get", f"files/?from={at}&ordering=-datetime_uploaded").json()
    assert [f["uuid"] for f in descending["results"]] == [str(tied_files[1].uuid), str(tied_files[0].uuid)]


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01",
        "2026-03-01T12:00:00",
        "2026-03-01T12:00:00+00:00",
        "2026-03-01T12:00:00 00:00",
        "2026-03-01T13:00:00+01:00",
    ],
)
def test_from_accepts_what_clients_send(api, tied_files, value):
    response = api("get", "files/?from=" + value.replace("+", "%2B"))
    assert response.status_code == 200 and len(response.json()["results"]) == 7


@pytest.mark.parametrize("offset", ["-23:45", "%2B17:31"])
def test_from_with_an_offset_postgresql_cannot_take_is_read_in_utc(api, tied_files, offset):
    # Python parses offsets up to 23:59; PostgreSQL refuses those past 15:59 (found by tests/fuzz).
    response = api("get", f"files/?from=1180-08-12T00:44:01{offset}")
    assert response.status_code == 200 and len(response.json()["results"]) == 7
    assert api("get", f"groups/?from=0339-01-22T10:02:41{offset}").status_code == 200


def test_offset_links_of_the_original_api(api, tied_files):
    at = tied_files[2].datetime_uploaded.isoformat().replace("+", "%2B")
    page = api("get", f"files/?from={at}&offset=2&limit=2").json()
    assert [f["uuid"] for f in page["results"]] == [str(f.uuid) for f in tied_files[4:6]]
    assert walk(api, page["next"])[0] == [[str(tied_files[6].uuid)]]
    assert api("get", f"files/?from={at}&offset=9").json()["results"] == []


def test_stored_and_removed_filters(api, team):
    stored = make_file(team.project, store=True)
    temporary = make_file(team.project, store=False)
    removed = file_delete(file=make_file(team.project, store=True))

    def listed(query):
        body = api("get", f"files/?{query}").json()
        assert body["total"] == len(body["results"])
        return {f["uuid"] for f in body["results"]}

    assert listed("") == listed("removed=false") == {str(stored.uuid), str(temporary.uuid)}
    assert listed("stored=true") == {str(stored.uuid)}
    assert listed("stored=false") == {str(temporary.uuid)}
    assert listed("removed=true") == listed("removed=true&stored=false") == {str(removed.uuid)}
    assert listed("removed=true&stored=true") == set()


def test_storing_each_page_while_listing_temporary_files_misses_none(api, tied_files):
    """The usual clean-up loop: the filter changes under the client, the keyset does not."""
    seen, url = [], "files/?stored=false&limit=2"
    while url:
        body = api("get", url).json()
        seen += [f["uuid"] for f in body["results"]]
        for info in body["results"]:
            file_store(file=File.objects.get(uuid=info["uuid"]))
        url = body["next"]
    assert seen == [str(f.uuid) for f in tied_files]


def test_filters_hold_across_pages(api, team):
    stored = {str(make_file(team.project, f"{i}.txt", store=i % 2 == 0).uuid): i % 2 == 0 for i in range(7)}
    pages, _ = walk(api, "files/?stored=true&limit=2&ordering=-datetime_uploaded")
    assert [len(page) for page in pages] == [2, 2]
    assert set(functools.reduce(operator.iadd, pages, [])) == {
        file_id for file_id, is_stored in stored.items() if is_stored
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("ordering=size", "ordering"),
        ("from=yesterday", "from"),
        ("from=2026-13-45", "from"),
        ("stored=maybe", "stored"),
        ("removed=2", "removed"),
        ("from=2026-03-01&from_id=nope", "from_id"),
        ("offset=-1", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("from=0001-01-01T00:00:00%2B01:00", "from"),
        ("from=9999-12-31T23:59:59-01:00", "from"),
    ],
)
def test_bad_list_parameters_are_400(api, query, field):
    response = api("get", f"files/?{query}")
    assert response.status_code == 400 and field in response.json()


def test_unknown_parameters_are_ignored(api, team):
    make_file(team.project, store=False)
    # What pyuploadcare's count() sends.
    response = api("get", "files/?query_parameters=%7B%27limit%27%3A+None%2C+%27stored%27%3A+%27true%27%7D")
    assert response.status_code == 200 and response.json()["total"] == 1


def test_limit_1000_is_allowed(api, team):
    make_file(team.project, store=False)
    assert api("get", "files/?limit=1000").json()["per_page"] == 1000


def test_later_pages_of_a_walk_count_nothing_and_repeat_the_first_pages_totals(api, tied_files):
    """Counting the project on every page made a 100,000-file walk quadratic (issue #7, P8)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = api("get", "files/?limit=2").json()
    file_delete(file=tied_files[6])
    with CaptureQueriesContext(connection) as queries:
        second = api("get", first["next"]).json()
    sql = " ".join(q["sql"].upper() for q in queries)
    # No count, and no OFFSET that grows with the depth: only the `previous` link's, a page back.
    assert "COUNT(" not in sql and re.findall(r"OFFSET (\d+)", sql) == ["1"]
    assert (
        (second["total"], second["totals"])
        == (first["total"], first["totals"])
        == (7, {"removed": 0, "stored": 0, "unstored": 7})
    )
    # A new walk counts afresh.
    assert api("get", "files/?limit=2").json()["totals"] == {"removed": 1, "stored": 0, "unstored": 6}


def test_list_results_match_the_single_file_info(api, team):
    make_file(team.project, "a b.txt", store=True)
    file_delete(file=make_file(team.project, "gone.txt", store=False))
    listed = api("get", "files/?removed=true").json()["results"] + api("get", "files/").json()["results"]
    assert len(listed) == 2
    for info in listed:
        assert api("get", f"files/{info['uuid']}/").json() == info


# --- batches -----------------------------------------------------------------------------------


def test_batch_store_reports_problems(api, team, elsewhere):
    mine, again = make_file(team.project, store=False), make_file(team.project, store=False)
    removed = file_delete(file=make_file(team.project, store=False))
    theirs, unknown = make_file(elsewhere, store=False), str(uuid.uuid4())
    ids = [
        str(mine.uuid),
        str(again.uuid).upper(),
        str(again.uuid),
        "nope",
        str(theirs.uuid),
        unknown,
        str(removed.uuid),
    ]
    response = api("put", "files/storage/", ids)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert [f["uuid"] for f in body["result"]] == [str(mine.uuid), str(again.uuid)]
    assert all(f["datetime_stored"] for f in body["result"])
    assert body["problems"] == {
        "nope": "Invalid",
        str(theirs.uuid): "Missing in the project",
        unknown: "Missing in the project",
        str(removed.uuid): "File is removed",
    }
    theirs.refresh_from_db()
    assert not theirs.is_stored


def test_batch_delete_reports_problems(api, team, elsewhere):
    mine, theirs = make_file(team.project, store=False), make_file(elsewhere, store=False)
    response = api("delete", "files/storage/", [str(mine.uuid), str(theirs.uuid), ""])
    body = response.json()
    assert response.status_code == 200 and [f["uuid"] for f in body["result"]] == [str(mine.uuid)]
    assert body["result"][0]["datetime_removed"]
    assert body["problems"] == {str(theirs.uuid): "Missing in the project", "": "Invalid"}
    theirs.refresh_from_db()
    assert not theirs.is_removed


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps([str(uuid.uuid4()) for _ in range(101)]).encode(), "application/json"),
        (b'{"uuid": "x"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"[[]]", "application/json"),
        (b'["a",', "application/json"),
        (b"", "application/json"),
        (b"x=1", "application/x-www-form-urlencoded"),
        (b"[]", "text/plain"),
        (b"\xff\xfe", "application/json"),
        (b"[" * 5000, "application/json"),
    ],
)
def test_bad_batch_bodies_are_400(api, method, body, content_type):
    response = api(method, "files/storage/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "detail" in response.json()


def test_batch_of_100_is_fine(api, team):
    file = make_file(team.project, store=False)
    response = api("put", "files/storage/", [str(file.uuid)] + [str(uuid.uuid4()) for _ in range(99)])
    assert response.status_code == 200 and len(response.json()["problems"]) == 99


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_set_get_list_delete(api, team):
    file = make_file(team.project, store=False)
    response = api("put", f"files/{file.uuid}/metadata/-:45az_/", "blue")
    assert response.status_code == 200 and response.json() == "blue"
    assert api("get", f"files/{file.uuid}/metadata/-:45az_/").json() == "blue"
    assert api("get", f"files/{file.uuid}/metadata/").json() == {"-:45az_": "blue"}
    assert api("put", f"files/{file.uuid}/metadata/-:45az_/", "blue").status_code == 200  # no change, no event
    delete = api("delete", f"files/{file.uuid}/metadata/-:45az_/")
    assert delete.status_code == 204 and delete.content == b""
    assert api("get", f"files/{file.uuid}/metadata/").json() == {}
    assert Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").count() == 2


def test_a_metadata_value_with_nul_is_a_bad_request(api, team):
    file = make_file(team.project, store=False)
    response = api("put", f"files/{file.uuid}/metadata/k/", "a\u0000")
    assert response.status_code == 400 and response.json() == {"detail": "metadata[k] is invalid."}


def test_missing_metadata_key_is_404(api, team):
    file = make_file(team.project, store=False)
    assert api("get", f"files/{file.uuid}/metadata/nokey/").status_code == 404
    assert api("delete", f"files/{file.uuid}/metadata/nokey/").status_code == 404


@pytest.mark.parametrize(
    ("key", "body", "content_type"),
    [
        ("k" * 65, b'"v"', "application/json"),
        ("ключ", b'"v"', "application/json"),
        ("a%0A", b'"v"', "application/json"),
        ("a b", b'"v"', "application/json"),
        ("k", b'""', "application/json"),
        ("k", json.dumps("v" * 513).encode(), "application/json"),
        ("k", b"42", "application/json"),
        ("k", b'{"v": 1}', "application/json"),
        ("k", b"null", "application/json"),
        ("k", b'"v', "application/json"),
        ("k", b"", "application/json"),
        ("k", b"v", "text/plain"),
        ("k", b"v=1", "application/x-www-form-urlencoded"),
    ],
)
def test_bad_metadata_is_400(api, team, key, body, content_type):
    file = make_file(team.project, store=False)
    response = api("put", f"files/{file.uuid}/metadata/{key}/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    file.refresh_from_db()
    assert file.metadata == {}


def test_metadata_value_of_512_and_key_of_64_are_fine(api, team):
    file = make_file(team.project, store=False)
    assert api("put", f"files/{file.uuid}/metadata/{'k' * 64}/", "v" * 512).status_code == 200


def test_too_many_metadata_keys_is_400(api, team):
    file = make_file(team.project, metadata={f"k{i}": "v" for i in range(50)}, store=False)
    response = api("put", f"files/{file.uuid}/metadata/one-more/", "v")
    assert response.status_code == 400 and "50" in response.json()["detail"]


def test_metadata_of_a_removed_file_cannot_change(api, team):
    file = file_delete(file=make_file(team.project, metadata={"k": "v"}, store=False))
    assert api("put", f"files/{file.uuid}/metadata/k/", "w").status_code == 404
    assert api("delete", f"files/{file.uuid}/metadata/k/").status_code == 404
    assert api("get", f"files/{file.uuid}/metadata/k/").json() == "v"


def test_store_service_and_rest_agree(api, team):
    file = file_store(file=make_file(team.project, store=False))
    assert api("get", f"files/{file.uuid}/").json()["datetime_stored"] is not None
