"""REST v0.7 file tags and file search at the HTTP level: normalising, deltas, events, every filter,
ordering and paging, per-field 400s, and other projects' files never showing."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile

from files.models import Event, File, FileTag
from files.outbox.relay import event_previous_values
from files.rest import search as search_view
from files.services import file_delete, file_upload
from files.tags import file_tags_replace
from projects.models import Project, Scope
from tests.factories import make_key
from tests.helpers import ACCEPT

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def make(project, name: str, *, minutes: int = 0, size: int = 5, mime: str = "text/plain", **columns) -> File:
    file = file_upload(project=project, content=ContentFile(b"x" * size, name=name), filename=name, store=True)
    File.objects.filter(pk=file.pk).update(datetime_uploaded=T0 + timedelta(minutes=minutes), mime_type=mime, **columns)
    file.refresh_from_db()
    return file


# --- tags ---


def test_put_tags_normalises_and_reports_the_deltas_sorted(api, team):
    file = make(team.project, "a.txt")
    body = api("put", f"files/{file.uuid}/tags/", {"tags": [" Summer ", "cat", "CAT", "", "beach"]}).json()
    assert body == {"tags": ["summer", "cat", "beach"], "added": ["beach", "cat", "summer"], "deleted": []}
    body = api("put", f"files/{file.uuid}/tags/", {"tags": ["beach", "dog"]}).json()
    assert body == {"tags": ["beach", "dog"], "added": ["dog"], "deleted": ["cat", "summer"]}
    assert api("get", f"files/{file.uuid}/tags/").json() == {"tags": ["beach", "dog"]}
    assert api("get", f"files/{file.uuid}/").json()["tags"] == ["beach", "dog"]


def test_the_same_set_in_another_order_writes_nothing_and_fires_nothing(api, team):
    file = make(team.project, "a.txt")
    api("put", f"files/{file.uuid}/tags/", {"tags": ["a1", "b2"]})
    events = Event.objects.filter(type=Event.Type.FILE_INFO_UPDATED).count()
    body = api("put", f"files/{file.uuid}/tags/", {"tags": ["B2", "a1"]}).json()
    assert body == {"tags": ["a1", "b2"], "added": [], "deleted": []}
    assert Event.objects.filter(type=Event.Type.FILE_INFO_UPDATED).count() == events


def test_patch_removes_first_then_adds(api, team):
    file = make(team.project, "a.txt")
    api("put", f"files/{file.uuid}/tags/", {"tags": ["one", "two", "three"]})
    body = api("patch", f"files/{file.uuid}/tags/", {"add": ["Four", "two"], "delete": ["two", "one", "nope"]}).json()
    assert body == {"tags": ["two", "three", "four"], "added": ["four"], "deleted": ["one"]}
    assert api("patch", f"files/{file.uuid}/tags/", {}).json() == {
        "tags": ["two", "three", "four"],
        "added": [],
        "deleted": [],
    }


def test_a_tag_change_fires_info_updated_with_the_tags(api, team):
    file = make(team.project, "a.txt")
    api("put", f"files/{file.uuid}/tags/", {"tags": ["x-ray"]})
    api("patch", f"files/{file.uuid}/tags/", {"add": ["y-ray"]})
    first, second = Event.objects.filter(type=Event.Type.FILE_INFO_UPDATED, file_uuid=file.uuid).order_by("pk")
    assert first.payload["tags"] == ["x-ray"] and event_previous_values(first) == {"tags": []}
    assert second.payload["tags"] == ["x-ray", "y-ray"] and event_previous_values(second) == {"tags": ["x-ray"]}
    event = first
    assert event.initiator["type"] == "api"


@pytest.mark.parametrize(
    "body",
    [
        {"tags": "cat"},
        {"tags": ["a b"]},
        {"tags": ["ünï"]},
        {"tags": ["x" * 101]},
        {"tags": [f"t{i}" for i in range(51)]},
        {"tags": [1]},
        {},
        [],
    ],
)
def test_bad_tags_are_a_400_by_field(api, team, body):
    file = make(team.project, "a.txt")
    response = api("put", f"files/{file.uuid}/tags/", body)
    assert response.status_code == 400
    assert "detail" not in response.json()
    assert not FileTag.objects.exists()


def test_a_hundred_character_tag_is_kept(api, team):
    file = make(team.project, "a.txt")
    assert api("put", f"files/{file.uuid}/tags/", {"tags": ["x" * 100]}).status_code == 200


def test_adding_past_fifty_tags_is_refused(api, team):
    file = make(team.project, "a.txt")
    file_tags_replace(file=file, tags=[f"t{i}" for i in range(50)])
    response = api("patch", f"files/{file.uuid}/tags/", {"add": ["one-more"]})
    assert response.status_code == 400 and "tags" in response.json()


def test_tags_of_another_projects_file_are_a_404(api, team):
    other = make(Project.objects.exclude(pk=team.project.pk).get(), "theirs.txt")
    file_tags_replace(file=other, tags=["secret"])
    for method, body in (("get", None), ("put", {"tags": ["x"]}), ("patch", {"add": ["x"]})):
        assert api(method, f"files/{other.uuid}/tags/", body).status_code == 404
    assert list(FileTag.objects.filter(file=other).values_list("tag", flat=True)) == ["secret"]


def test_a_removed_files_tags_are_a_404(api, team):
    file = make(team.project, "a.txt")
    file_tags_replace(file=file, tags=["kept"])
    file_delete(file=file)
    assert api("get", f"files/{file.uuid}/tags/").status_code == 404
    assert api("put", f"files/{file.uuid}/tags/", {"tags": []}).status_code == 404
    assert api("patch", f"files/{file.uuid}/tags/", {"add": ["x"]}).status_code == 404


def test_the_list_reads_every_pages_tags_in_one_query(api, team, django_assert_max_num_queries):
    for i in range(30):
        file_tags_replace(file=make(team.project, f"f{i}.txt", minutes=i), tags=[f"n{i}", "all"])
    with django_assert_max_num_queries(12):
        results = api("get", "files/?limit=100").json()["results"]
    assert [r["tags"] for r in results[:2]] == [["n0", "all"], ["n1", "all"]]
    assert all(r["tags"] for r in results)


# --- search ---


@pytest.fixture
def library(team):
    """Files to find, and one of another project's that matches everything."""
    project = team.project
    files = {
        "holiday": make(project, "Holiday-Photographer.png", minutes=1, size=300, mime="image/png", image_info={}),
        "photo": make(project, "photo.jpg", minutes=2, size=200, mime="image/jpeg", image_info={}),
        "invoice": make(
            project, "invoice-2026.pdf", minutes=3, size=100, mime="application/pdf", metadata={"client": "Photon Ltd"}
        ),
        "notes": make(project, "notes.txt", minutes=4, size=50, metadata={"kind": "draft"}),
    }
    file_tags_replace(file=files["holiday"], tags=["cat", "animal"])
    file_tags_replace(file=files["photo"], tags=["cat"])
    file_tags_replace(file=files["invoice"], tags=["work"])
    other = make(Project.objects.exclude(pk=project.pk).get(), "photo-theirs.jpg", mime="image/jpeg", image_info={})
    file_tags_replace(file=other, tags=["cat", "animal", "work"])
    return files


def names(body) -> list[str]:
    return [r["original_filename"] for r in body["results"]]


def search(api, body, query: str = ""):
    response = api("post", f"files/search/{query}", body)
    assert response.status_code == 200, response.json()
    return response.json()


def test_query_matches_a_substring_of_name_metadata_or_mime_type_in_any_case(api, library):
    body = search(api, {"query": "PHOTO"})
    assert sorted(names(body)) == ["Holiday-Photographer.png", "invoice-2026.pdf", "photo.jpg"]
    assert body["total"] == 3
    assert names(search(api, {"query": "application"})) == ["invoice-2026.pdf"]


def test_query_matches_a_files_uuid(api, library):
    uuid = str(library["notes"].uuid)
    assert names(search(api, {"query": uuid})) == ["notes.txt"]


def test_query_words_must_all_match(api, library):
    assert names(search(api, {"query": "photo holiday"})) == ["Holiday-Photographer.png"]


def test_the_name_scores_above_metadata(api, library):
    assert names(search(api, {"query": "phot"}))[-1] == "invoice-2026.pdf"


def test_highlight_marks_what_matched(api, library):
    results = {r["original_filename"]: r for r in search(api, {"query": "photo"})["results"]}
    assert results["Holiday-Photographer.png"]["highlight"] == {
        "original_filename": ["Holiday-<em>Photo</em>grapher.png"]
    }
    assert results["invoice-2026.pdf"]["highlight"] == {"metadata": {"client": "<em>Photo</em>n Ltd"}}
    assert "highlight" not in search(api, {"tags": {"any": ["work"]}})["results"][0]


def test_phrase_is_scoped_to_its_field(api, library):
    assert names(search(api, {"phrase": {"original_filename": "photo"}}, "?limit=5")) != []
    assert "invoice-2026.pdf" not in names(search(api, {"phrase": {"original_filename": "photo"}}))
    assert names(search(api, {"phrase": {"metadata": "draft"}})) == ["notes.txt"]
    assert names(search(api, {"phrase": {"detected_mime_type": "image/jp"}})) == ["photo.jpg"]


def test_exact_takes_any_of_its_values(api, library):
    assert sorted(names(search(api, {"exact": {"detected_mime_type": ["image/png", "text/plain"]}}))) == [
        "Holiday-Photographer.png",
        "notes.txt",
    ]
    assert names(search(api, {"exact": {"original_filename": ["photo.jpg"]}})) == ["photo.jpg"]
    assert names(search(api, {"exact": {"metadata[client]": ["Photon Ltd"]}})) == ["invoice-2026.pdf"]
    assert names(search(api, {"exact": {"metadata[contains]": ["Photon Ltd"], "metadata[a__b]": ["x"]}})) == []
    assert names(search(api, {"exact": {"uuid": [str(library["photo"].uuid)]}})) == ["photo.jpg"]


def test_ranges_and_is_image(api, library):
    assert names(search(api, {"size": {"gte": 100, "lt": 300}, "sort": ["size"]})) == ["invoice-2026.pdf", "photo.jpg"]
    after = (T0 + timedelta(minutes=2)).isoformat()
    assert names(search(api, {"datetime_uploaded": {"gt": after}, "sort": ["datetime_uploaded"]})) == [
        "invoice-2026.pdf",
        "notes.txt",
    ]
    assert sorted(names(search(api, {"is_image": False}))) == ["invoice-2026.pdf", "notes.txt"]
    assert sorted(names(search(api, {"is_image": True}))) == ["Holiday-Photographer.png", "photo.jpg"]


def test_tags_any_all_none(api, library):
    assert sorted(names(search(api, {"tags": {"any": ["CAT", "work"]}}))) == [
        "Holiday-Photographer.png",
        "invoice-2026.pdf",
        "photo.jpg",
    ]
    assert names(search(api, {"tags": {"all": ["cat", "animal"]}})) == ["Holiday-Photographer.png"]
    assert names(search(api, {"tags": {"any": ["cat"], "none": ["animal"]}})) == ["photo.jpg"]


def test_sort_keys_apply_in_order(api, library):
    assert names(search(api, {"size": {"gte": 0}, "sort": ["-size"]})) == [
        "Holiday-Photographer.png",
        "photo.jpg",
        "invoice-2026.pdf",
        "notes.txt",
    ]
    assert names(search(api, {"size": {"gte": 0}, "sort": ["original_filename"]}))[0] == "Holiday-Photographer.png"


def test_pages_follow_next_without_repeats(api, library):
    seen, url = [], "files/search/?limit=3"
    while url:
        body = api("post", url, {"size": {"gte": 0}}).json()
        seen += names(body)
        url = body["next"]
    assert sorted(seen) == sorted(f.original_filename for f in library.values())
    body = api("post", "files/search/?limit=2&offset=2", {"size": {"gte": 0}}).json()
    assert body["previous"].endswith("/api/files/search/?limit=2&offset=0") and body["next"] is None


def test_removed_files_and_other_projects_never_show(api, library):
    file_delete(file=library["photo"])
    body = search(api, {"query": "photo", "tags": {"any": ["cat", "animal", "work"]}})
    assert sorted(names(body)) == ["Holiday-Photographer.png", "invoice-2026.pdf"]


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        ({}, "", "non_field_errors"),
        ({"query": "abc"}, "", "query"),
        ({"query": 5}, "", "query"),
        ({"size": {"gt": -1}}, "", "size"),
        ({"size": {"gt": True}}, "", "size"),
        ({"size": {}}, "", "size"),
        ({"datetime_uploaded": {"gt": "yesterday"}}, "", "datetime_uploaded"),
        ({"is_image": "true"}, "", "is_image"),
        ({"tags": {"any": ["a b"]}}, "", "tags"),
        ({"tags": {"any": []}}, "", "tags"),
        ({"exact": {"uuid": ["nope"]}}, "", "exact"),
        ({"exact": {"color": ["red"]}}, "", "exact"),
        ({"exact": {"original_filename": ["a\x00b"]}}, "", "exact"),
        ({"size": {"gt": 2**64}}, "", "size"),
        ({"query": "photo", "sort": ["size", "-size"]}, "", "sort"),
        ({"query": "photo", "sort": ["a", "b", "c", "d", "e"]}, "", "sort"),
        ({"query": "photo", "colour": 1}, "", "colour"),
        ({"phrase": {"original_filename": "photo"}, "exact": {"original_filename": ["a"]}}, "", "non_field_errors"),
        ({"query": "photo"}, "?limit=101", "limit"),
        ({"query": "photo"}, "?offset=990&limit=20", "offset"),
    ],
)
def test_bad_searches_are_a_400_with_errors_by_field(api, team, body, query, field):
    response = api("post", f"files/search/{query}", body)
    assert response.status_code == 400
    assert field in response.json() and "detail" not in response.json()


def test_the_window_may_end_at_a_thousand(api, library):
    assert api("post", "files/search/?offset=980&limit=20", {"query": "photo"}).status_code == 200


def test_the_total_counts_up_to_its_ceiling(api, library, monkeypatch):
    monkeypatch.setattr(search_view, "TOTAL_MAX", 2)
    body = search(api, {"size": {"gte": 0}}, "?limit=1")
    assert body["total"] == 2 and len(body["results"]) == 1 and body["next"]


def test_fuzziness_lets_a_word_with_a_typo_match(api, library):
    assert names(search(api, {"query": "photgrapher"})) == []
    assert names(search(api, {"query": "photgrapher", "fuzziness": True})) == ["Holiday-Photographer.png"]


def test_tags_given_at_upload_are_kept_and_bad_ones_refuse_the_upload(client, team):
    project = team.project
    form = {"UPLOADCARE_PUB_KEY": project.public_key, "UPLOADCARE_STORE": "1", "tags": " Cat,animal,,CAT"}
    response = client.post("/upload/base/", {**form, "file": ContentFile(b"x", name="a.txt")})
    assert response.status_code == 200
    file = File.objects.get(uuid=response.json()["file"])
    assert list(FileTag.objects.filter(file=file).order_by("pk").values_list("tag", flat=True)) == ["cat", "animal"]
    assert Event.objects.filter(file_uuid=file.uuid, type=Event.Type.FILE_UPLOADED).get().payload["tags"] == [
        "cat",
        "animal",
    ]
    refused = client.post("/upload/base/", {**form, "tags": "a b", "file": ContentFile(b"x", name="b.txt")})
    assert refused.status_code == 400 and b"is not valid" in refused.content
    assert File.objects.count() == 1


def test_a_read_only_key_searches_and_reads_tags_but_does_not_change_them(client, team):
    project = team.project
    file = make(project, "a.txt")
    _, secret = make_key(project, label="reader", scopes=[Scope.FILES_READ])
    headers = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {project.public_key}:{secret}", "HTTP_ACCEPT": ACCEPT}

    def call(method, path, body):
        return client.generic(method, f"/api/{path}", json.dumps(body), content_type="application/json", **headers)

    assert call("POST", "files/search/", {"query": "a.txt"}).status_code == 200
    assert call("GET", f"files/{file.uuid}/tags/", {}).status_code == 200
    assert call("PUT", f"files/{file.uuid}/tags/", {"tags": ["x"]}).status_code == 403
