"""File tags, file search and remote copies through the official clients, unmodified: pyuploadcare
6.3 (both auth schemes) and @uploadcare/rest-client (both schemes), against a live Filedock, with a
real S3 API (moto_server) as the connected bucket."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from pyuploadcare import FileSearchRequest, TagsFilter
from pyuploadcare.exceptions import InvalidRequestError

from files.models import File
from files.services import file_upload
from files.tags import file_tags, file_tags_replace
from projects.services import project_create
from tests.conformance import test_js_clients
from tests.factories import UserFactory, make_bucket
from tests.helpers import ok, s3

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
rest_client_js = test_js_clients.rest_client_js  # the fixture: @uploadcare/rest-client, each auth scheme


def make(project, name: str, *, minutes: int, tags=(), metadata=None, data: bytes | None = None) -> File:
    file = file_upload(
        project=project, content=ContentFile(data or name.encode(), name=name), filename=name, store=True
    )
    File.objects.filter(pk=file.pk).update(datetime_uploaded=T0 + timedelta(minutes=minutes), metadata=metadata or {})
    if tags:
        file_tags_replace(file=file, tags=list(tags))
    file.refresh_from_db()
    return file


@pytest.fixture
def library(live_project):
    """Seven files of the project, five of them photos, and another project's photo tagged alike."""
    project, _ = live_project
    files = [make(project, f"photo-{i}.txt", minutes=i, tags=["cat"] if i % 2 else ["cat", "dog"]) for i in range(5)]
    files.append(make(project, "invoice.txt", minutes=10, tags=["work"], metadata={"client": "Photonics"}))
    files.append(make(project, "notes.txt", minutes=11))
    stranger = project_create(owner=UserFactory(), name="stranger")
    make(stranger, "photo-theirs.txt", minutes=3, tags=["cat", "dog", "work"])
    return files


# --- pyuploadcare ---


@pytest.mark.conformance("file tags: get_tags, set_tags, update_tags, tags_api, info.tags")
def test_pyuploadcare_tags(rest_client, live_project):
    project, _ = live_project
    file = make(project, "a.txt", minutes=0)
    handle = rest_client.file(str(file.uuid))
    assert handle.get_tags() == []
    changed = handle.set_tags([" Cat ", "animal", "CAT"])
    assert (changed.tags, changed.added, changed.deleted) == (["cat", "animal"], ["animal", "cat"], [])
    changed = handle.update_tags(add=["cute"], delete=["animal"])
    assert (changed.tags, changed.added, changed.deleted) == (["cat", "cute"], ["cute"], ["animal"])
    assert rest_client.tags_api.get(str(file.uuid)) == ["cat", "cute"] == file_tags(file)
    assert rest_client.file(str(file.uuid)).tags == ["cat", "cute"]
    untagged = make(project, "b.txt", minutes=1)
    assert rest_client.file(str(untagged.uuid)).info["tags"] == []


@pytest.mark.conformance("upload(tags=...) (direct upload): the file starts with them", client="pyuploadcare")
def test_pyuploadcare_upload_with_tags(uploadcare, tmp_path):
    (tmp_path / "t.txt").write_bytes(b"tagged at upload")
    with open(tmp_path / "t.txt", "rb") as handle:
        uploaded = uploadcare.upload(handle, store=True, tags=["Cat", "animal"])
    assert file_tags(File.objects.get(uuid=uploaded.uuid)) == ["cat", "animal"]
    assert uploaded.get_tags() == ["cat", "animal"]


@pytest.mark.conformance("upload(tags=...) (multipart upload): the file starts with them", client="pyuploadcare")
def test_pyuploadcare_multipart_upload_with_tags(uploadcare, tmp_path):
    (tmp_path / "big.bin").write_bytes(os.urandom(11 * 1024 * 1024))
    with open(tmp_path / "big.bin", "rb") as handle:
        uploaded = uploadcare.upload(handle, store=True, tags=["Big", "binary"])
    file = File.objects.get(uuid=uploaded.uuid)
    assert file.source == "multipart" and file_tags(file) == ["big", "binary"]


@pytest.mark.conformance("tags of another project's file are an invalid request")
def test_pyuploadcare_tags_of_another_projects_file(rest_client, library):
    theirs = File.objects.get(original_filename="photo-theirs.txt")
    with pytest.raises(InvalidRequestError):
        rest_client.tags_api.get(str(theirs.uuid))
    with pytest.raises(InvalidRequestError):
        rest_client.tags_api.set(str(theirs.uuid), ["mine"])
    assert file_tags(theirs) == ["cat", "dog", "work"]


@pytest.mark.conformance("search_files: query, tags, ranges, exact metadata, sort, highlight")
def test_pyuploadcare_search_files(rest_client, library):
    page = rest_client.search_files(
        FileSearchRequest(query="photo", tags=TagsFilter(all_=["cat", "dog"]), sort=["-datetime_uploaded"]), limit=2
    )
    assert [r.original_filename for r in page.results] == ["photo-4.txt", "photo-2.txt"]
    assert page.total == 3 and page.next is not None and page.per_page == 2
    assert page.results[0].highlight.original_filename == ["<em>photo</em>-4.txt"]
    assert page.results[0].tags == ["cat", "dog"]
    by_dict = rest_client.search_files(
        {
            "datetime_uploaded": {"gte": T0 + timedelta(minutes=3), "lt": T0 + timedelta(minutes=11)},
            "exact": {"metadata": {"client": ["Photonics"]}},
        }
    )
    assert [r.original_filename for r in by_dict.results] == ["invoice.txt"]
    metadata = rest_client.search_files({"query": "photonics"}, include_appdata=True).results[0]
    assert metadata.highlight.metadata == {"client": "<em>Photonics</em>"} and metadata.appdata is not None
    assert rest_client.search_files({"tags": {"none": ["cat", "work"]}}).total == 1


@pytest.mark.conformance("iterate_search_files walks every page, none from another project")
def test_pyuploadcare_iterate_search_files(rest_client, library):
    found = list(rest_client.iterate_search_files({"query": "photo", "sort": ["datetime_uploaded"]}, request_limit=2))
    assert [f.original_filename for f in found] == [*(f"photo-{i}.txt" for i in range(5)), "invoice.txt"]
    tagged = list(rest_client.iterate_search_files({"tags": {"any": ["work"]}, "sort": ["size"]}, request_limit=1))
    assert [f.original_filename for f in tagged] == ["invoice.txt"]
    deep = list(rest_client.iterate_search_files({"size": {"gte": 0}, "sort": ["-size"]}, offset=995, request_limit=10))
    assert deep == []


@pytest.mark.conformance("create_remote_copy to a connected bucket (moto_server)")
def test_pyuploadcare_create_remote_copy(rest_client, live_project, moto_endpoint, customer_bucket):
    project, _ = live_project
    make_bucket(project, moto_endpoint, customer_bucket, purpose="backup", prefix="uc/")
    file = make(project, "report.txt", minutes=0, data=b"remote bytes")
    handle = rest_client.file(str(file.uuid))
    url = handle.create_remote_copy(target=customer_bucket, make_public=False, pattern="${uuid}${ext}")
    assert url == f"s3://{customer_bucket}/uc/{file.uuid}.txt"
    default = rest_client.files_api.remote_copy(str(file.uuid), customer_bucket)
    assert default.type == "url" and default.result == f"s3://{customer_bucket}/uc/{file.uuid}/report.txt"
    for key in (f"uc/{file.uuid}.txt", f"uc/{file.uuid}/report.txt"):
        assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=key)["Body"].read() == b"remote bytes"
    with pytest.raises(InvalidRequestError):
        handle.create_remote_copy(target="not-connected")


# --- @uploadcare/rest-client ---


def test_rest_client_tags(rest_client_js, conformance, live_project, library):
    uuid = str(library[6].uuid)
    results = rest_client_js(
        ("get", "getTags", {"uuid": uuid}),
        ("replace", "replaceTags", {"uuid": uuid, "tags": ["Summer", "beach", "summer "]}),
        ("update", "updateTags", {"uuid": uuid, "add": ["sea"], "delete": ["beach"]}),
        ("again", "getTags", {"uuid": uuid}),
        ("bad", "replaceTags", {"uuid": uuid, "tags": ["no spaces"]}),
        ("theirs", "getTags", {"uuid": str(File.objects.get(original_filename="photo-theirs.txt").uuid)}),
        ("info", "fileInfo", {"uuid": uuid}),
    )
    with conformance.record(rest_client_js.client, "getTags, replaceTags, updateTags"):
        assert ok(results, "get") == {"tags": []}
        assert ok(results, "replace") == {"tags": ["summer", "beach"], "added": ["beach", "summer"], "deleted": []}
        assert ok(results, "update") == {"tags": ["summer", "sea"], "added": ["sea"], "deleted": ["beach"]}
        assert ok(results, "again") == {"tags": ["summer", "sea"]} and ok(results, "info")["tags"] == ["summer", "sea"]
        assert results["bad"]["error"]["name"] == "RestClientValidationError"
        assert results["bad"]["error"]["status"] == 400 and "tags" in results["bad"]["error"]["errors"]
        assert results["theirs"]["error"]["status"] == 404


def test_rest_client_search_files(rest_client_js, conformance, library):
    results = rest_client_js(
        ("query", "searchFiles", {"query": "PHOTO", "tags": {"any": ["dog"]}, "sort": [{"field": "size"}]}),
        (
            "ranges",
            "searchFiles",
            {
                "datetimeUploaded": {"gt": (T0 + timedelta(minutes=4)).isoformat()},
                "size": {"lte": 20},
                "isImage": False,
                "sort": [{"field": "datetimeUploaded", "order": "desc"}],
            },
        ),
        ("phrase", "searchFiles", {"phrase": {"metadata": "photon"}, "include": "appdata"}),
        (
            "exact",
            "searchFiles",
            {"exact": {"metadata": {"client": ["Photonics"]}, "originalFilename": ["invoice.txt"]}},
        ),
        ("none", "searchFiles", {"tags": {"all": ["cat"], "none": ["dog"]}, "limit": 1}),
        ("short", "searchFiles", {"query": "abc"}),
        ("empty", "searchFiles", {"limit": 5}),
        ("size", "searchFiles", {"size": {}}),
    )
    with conformance.record(rest_client_js.client, "searchFiles (query, tags, ranges, phrase, exact)"):
        found = ok(results, "query")
        # One size: ties go to the newest.
        assert [r["originalFilename"] for r in found["results"]] == ["photo-4.txt", "photo-2.txt", "photo-0.txt"]
        assert found["total"] == 3 and found["perPage"] == 20
        assert found["results"][0]["highlight"] == {"originalFilename": ["<em>photo</em>-4.txt"]}
        assert [r["originalFilename"] for r in ok(results, "ranges")["results"]] == ["notes.txt", "invoice.txt"]
        phrase = ok(results, "phrase")["results"]
        assert [r["originalFilename"] for r in phrase] == ["invoice.txt"] and phrase[0]["appdata"] == {}
        assert phrase[0]["highlight"] == {"metadata": {"client": "<em>Photon</em>ics"}}
        assert [r["uuid"] for r in ok(results, "exact")["results"]] == [str(library[5].uuid)]
        none = ok(results, "none")
        assert none["total"] == 2 and len(none["results"]) == 1 and none["next"]
    with conformance.record(rest_client_js.client, "searchFiles validation errors (RestClientValidationError)"):
        short, empty, size = (results[k]["error"] for k in ("short", "empty", "size"))
        assert short["name"] == "RestClientValidationError" and short["status"] == 400
        assert list(short["errors"]) == ["query"]
        assert list(empty["errors"]) == ["nonFieldErrors"]
        assert list(size["errors"]) == ["size"]


def test_rest_client_paginates_search(rest_client_js, conformance, library):
    results = rest_client_js(
        ("pages", "iterate:searchFiles", {"query": "photo", "limit": 2, "sort": [{"field": "datetimeUploaded"}]}),
    )
    with conformance.record(rest_client_js.client, "paginate(searchFiles)"):
        pages = ok(results, "pages")
        assert [len(p["results"]) for p in pages] == [2, 2, 2]
        names = [r["originalFilename"] for p in pages for r in p["results"]]
        assert names == [*(f"photo-{i}.txt" for i in range(5)), "invoice.txt"]
        assert all(p["total"] == 6 for p in pages)


def test_rest_client_copy_file_to_remote_storage(
    rest_client_js, conformance, live_project, moto_endpoint, customer_bucket
):
    project, _ = live_project
    make_bucket(project, moto_endpoint, customer_bucket, purpose="storage")
    file = make(project, "pic.txt", minutes=0, data=b"to the bucket")
    results = rest_client_js(
        ("copy", "copyFileToRemoteStorage", {"source": str(file.uuid), "target": customer_bucket, "makePublic": True}),
        ("nowhere", "copyFileToRemoteStorage", {"source": str(file.uuid), "target": "elsewhere"}),
    )
    with conformance.record(rest_client_js.client, "copyFileToRemoteStorage (moto_server)"):
        copied = ok(results, "copy")
        key = f"{file.uuid}/pic.txt"
        assert copied == {"type": "url", "result": f"s3://{customer_bucket}/{key}"}
        assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=key)["Body"].read() == b"to the bucket"
        assert results["nowhere"]["error"]["status"] == 400 and "target" in results["nowhere"]["error"]["errors"]
