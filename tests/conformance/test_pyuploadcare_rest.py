"""pyuploadcare 6.3, unmodified, against Filedock's REST API with both auth schemes."""

import pytest
from pyuploadcare.exceptions import AuthenticationError, WebhookIsNotUnique

from projects.models import SecretKey
from projects.services import secret_key_revoke
from tests.helpers import png_bytes


@pytest.mark.conformance("project info")
def test_project_info(rest_client, live_project):
    project, _ = live_project
    info = rest_client.get_project_info()
    assert info.name == "conformance" and info.pub_key == project.public_key and info.autostore_enabled
    assert len(info.collaborators) == 1


@pytest.mark.conformance("wrong secret is an authentication error", client="pyuploadcare (signed)")
def test_wrong_secret_is_an_authentication_error(live_project, make_client):
    project, _ = live_project
    with pytest.raises(AuthenticationError):
        make_client(project.public_key, "not-the-secret").get_project_info()


@pytest.mark.conformance("revoked key fails on the next request")
def test_revoked_key_fails_on_the_next_request(rest_client, live_project):
    project, _secret = live_project
    rest_client.get_project_info()
    secret_key_revoke(key=SecretKey.objects.get(project=project, label="conformance"))
    with pytest.raises(AuthenticationError):
        rest_client.get_project_info()


@pytest.mark.conformance("webhooks create/list/update/delete")
def test_webhooks_create_list_update_delete(rest_client, live_project):
    project, _ = live_project
    hook = rest_client.create_webhook("https://hooks.example.com/a", event="file.stored", signing_secret="s1")
    assert isinstance(hook.id, int) and (hook.event, hook.is_active, hook.signing_secret) == ("file.stored", True, "s1")
    assert hook.created is not None and hook.updated is not None
    paused = rest_client.create_webhook("https://hooks.example.com/a", event="file.deleted", is_active=False)
    assert paused.is_active is False and paused.signing_secret is None

    assert [w.id for w in rest_client.list_webhooks()] == [hook.id, paused.id]
    assert len(list(rest_client.list_webhooks(limit=1))) == 1

    changed = rest_client.update_webhook(hook, target_url="https://hooks.example.com/b", is_active=False)
    assert (changed.id, changed.target_url, changed.is_active, changed.event) == (
        hook.id,
        "https://hooks.example.com/b",
        False,
        "file.stored",
    )
    with pytest.raises(WebhookIsNotUnique):
        rest_client.create_webhook("https://hooks.example.com/b", event="file.stored")
    with pytest.raises(WebhookIsNotUnique):
        rest_client.update_webhook(paused.id, target_url="https://hooks.example.com/b", event="file.stored")

    rest_client.delete_webhook(hook)
    rest_client.delete_webhook(paused.id)
    assert list(rest_client.list_webhooks()) == [] and not project.webhooks.exists()


# --- Files and groups (REST v0.7) ----------------------------------------------------------------
# (Imports here rather than at the top: this section is appended next to other people's.)

import urllib.request  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from pyuploadcare.exceptions import InvalidRequestError  # noqa: E402

from files.models import File  # noqa: E402
from files.services import file_upload  # noqa: E402
from projects.services import project_create  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def _file(project, name="a.txt", body=b"hello", store=False, at=None):
    file = file_upload(project=project, content=ContentFile(body, name=name), filename=name, store=store)
    if at is not None:
        File.objects.filter(pk=file.pk).update(datetime_uploaded=at)
    return str(file.uuid)


@pytest.fixture
def foreign_file(transactional_db) -> str:
    return _file(project_create(owner=UserFactory(), name="elsewhere"), "theirs.txt")


@pytest.mark.conformance("file info, store, delete")
def test_file_info_store_and_delete(rest_client, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"some notes")
    with open(path, "rb") as fh:
        uploaded = rest_client.upload(fh, store=False)
    file = rest_client.file(uploaded.uuid)
    assert str(file.info["uuid"]) == uploaded.uuid and file.filename == "notes.txt" and file.size == 10
    assert not file.is_stored and not file.is_removed and file.datetime_uploaded is not None
    assert file.mime_type == "text/plain" and file.is_ready
    assert file.update_info(include_appdata=True)["appdata"] is not None
    file.store()
    assert file.is_stored and file.datetime_stored is not None
    file.delete()
    assert file.is_removed and file.datetime_removed is not None
    assert rest_client.file(uploaded.uuid).is_removed


@pytest.mark.conformance("list and iterate files (both orderings)")
def test_list_files_walks_every_page_in_both_orderings(rest_client, live_project):
    project, _ = live_project
    t0 = datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC)
    # Three of the five in the same microsecond, so pages of two split the tie.
    times = [t0] + [t0 + timedelta(seconds=1)] * 3 + [t0 + timedelta(seconds=2)]
    for i, at in enumerate(times):
        _file(project, f"f{i}.txt", store=i % 2 == 0, at=at)
    removed = _file(project, "gone.txt", at=t0 + timedelta(seconds=3))
    File.objects.filter(uuid=removed).update(datetime_removed=t0 + timedelta(seconds=4))
    present = list(
        File.objects.filter(project=project, datetime_removed__isnull=True)
        .order_by("datetime_uploaded", "uuid")
        .values_list("uuid", "datetime_stored")
    )
    ascending = [str(u) for u, _ in present]

    assert [f.uuid for f in rest_client.list_files(request_limit=2)] == ascending
    assert [f.uuid for f in rest_client.list_files(ordering="-datetime_uploaded", request_limit=2)] == ascending[::-1]
    assert [f.uuid for f in rest_client.list_files(limit=3, request_limit=2)] == ascending[:3]
    stored = [str(u) for u, at in present if at]
    assert [f.uuid for f in rest_client.list_files(stored=True, request_limit=1)] == stored
    assert [f.uuid for f in rest_client.list_files(stored=False, request_limit=1, ordering="-datetime_uploaded")] == [
        str(u) for u, at in reversed(present) if not at
    ]
    assert [f.uuid for f in rest_client.list_files(removed=True, request_limit=1)] == [removed]
    listed = list(rest_client.list_files(removed=True, request_limit=1))
    assert listed[0].is_removed
    from_second = rest_client.list_files(starting_point=t0 + timedelta(seconds=1), request_limit=2)
    assert [f.uuid for f in from_second] == ascending[1:]
    # count() loses its filters on the wire (pyuploadcare sends `query_parameters=...`): every present file.
    assert rest_client.list_files(stored=True).count() == len(present)


@pytest.mark.conformance("batch store/delete (with a bad UUID)")
def test_batch_store_and_delete_report_problems(rest_client, live_project, foreign_file):
    project, _ = live_project
    mine = [_file(project, f"{i}.txt") for i in range(3)]
    response = rest_client.files_api.batch_store([*mine, foreign_file, "not-a-uuid"])
    assert response.status == "ok" and [f.uuid for f in response.result] == [uuid.UUID(u) for u in mine]
    assert all(f.datetime_stored for f in response.result)
    assert set(response.problems) == {foreign_file, "not-a-uuid"}
    rest_client.store_files(mine)  # the high-level call, again: nothing changes, nothing fails
    assert all(rest_client.file(u).is_stored for u in mine)

    response = rest_client.files_api.batch_delete([mine[0], foreign_file])
    assert [f.uuid for f in response.result] == [uuid.UUID(mine[0])] and response.result[0].datetime_removed
    assert list(response.problems) == [foreign_file]
    rest_client.delete_files([rest_client.file(u) for u in mine[1:]])
    assert all(rest_client.file(u).is_removed for u in mine)

    theirs = File.objects.get(uuid=foreign_file)
    assert not theirs.is_stored and not theirs.is_removed


@pytest.mark.conformance("another project's file is an invalid request")
def test_foreign_file_is_an_invalid_request(rest_client, foreign_file):
    for call in (lambda f: f.update_info(), lambda f: f.store(), lambda f: f.delete()):
        with pytest.raises(InvalidRequestError):
            call(rest_client.file(foreign_file))


@pytest.mark.conformance("metadata set/get/delete")
def test_metadata_set_get_delete(rest_client, live_project):
    project, _ = live_project
    file_id = _file(project)
    api = rest_client.metadata_api
    assert api.get_all_metadata(file_id) == {}
    assert api.update_or_create_key(file_id, "-:45az_", "blue") == "blue"
    assert api.update_or_create_key(file_id, "size", "L") == "L"
    assert api.get_key(file_id, "-:45az_") == "blue"
    assert api.get_all_metadata(file_id) == {"-:45az_": "blue", "size": "L"}
    assert rest_client.file(file_id).info["metadata"] == {"-:45az_": "blue", "size": "L"}
    api.delete_key(file_id, "-:45az_")
    assert api.get_all_metadata(file_id) == {"size": "L"}
    with pytest.raises(InvalidRequestError):
        api.get_key(file_id, "-:45az_")
    with pytest.raises(InvalidRequestError):
        api.update_or_create_key(file_id, "empty", "")


@pytest.mark.conformance("local copy")
def test_create_local_copy(rest_client, live_project):
    project, _ = live_project
    original = rest_client.file(_file(project, "photo.txt", body=b"copy me"))
    stored_copy = original.create_local_copy(store=True)
    temporary_copy = original.create_local_copy()
    assert len({original.uuid, stored_copy.uuid, temporary_copy.uuid}) == 3
    assert stored_copy.is_stored and not temporary_copy.is_stored
    assert stored_copy.filename == "photo.txt"
    with default_storage.open(File.objects.get(uuid=stored_copy.uuid).storage_key) as fh:
        assert fh.read() == b"copy me"
    # The client's effects travel in `source`; the copy is the rendered image.
    photo = rest_client.file(_file(project, "photo.png", body=png_bytes(40, 20)))
    thumb = photo.create_local_copy(effects="resize/10x/-/format/jpeg/")
    thumb.update_info()
    assert (thumb.filename, thumb.info["mime_type"], thumb.info["content_info"]["image"]["width"]) == (
        "photo.jpg",
        "image/jpeg",
        10,
    )
    with pytest.raises(InvalidRequestError):  # image operations on a text file
        original.create_local_copy(effects="resize/10x10/")
    with pytest.raises(InvalidRequestError, match="answers with JSON"):  # a copy is of an image
        photo.create_local_copy(effects="json/")


@pytest.mark.conformance("groups create/read/list/delete")
def test_groups_create_read_list_delete(rest_client, live_project):
    project, _ = live_project
    files = [rest_client.file(_file(project, f"{i}.txt", body=f"file {i}".encode())) for i in range(3)]
    first = rest_client.create_file_group(files[:2])
    second = rest_client.create_file_group(files[1:])
    third = rest_client.create_file_group([files[0]])

    group = rest_client.file_group(first.id)
    assert group.info["id"] == first.id and group.info["files_count"] == 2 and len(group) == 2
    assert [f.uuid for f in group] == [files[0].uuid, files[1].uuid]
    # (FileGroup.datetime_created parses only strings, and model_dump() gives it a datetime: always None.)
    assert group.info["datetime_created"] is not None and not group.is_stored
    # The client's own CDN URLs for the group and each file in it, fetched over HTTP.
    with urllib.request.urlopen(group.cdn_url) as page:
        assert page.status == 200 and files[1].uuid in page.read().decode()
    fetched = [urllib.request.urlopen(url).read() for url in group.file_cdn_urls]
    assert fetched == [b"file 0", b"file 1"]

    ids = [first.id, second.id, third.id]
    assert [g.id for g in rest_client.list_file_groups(request_limit=2)] == ids
    assert [g.id for g in rest_client.list_file_groups(ordering="-datetime_created", request_limit=1)] == ids[::-1]
    listed = next(iter(rest_client.list_file_groups(limit=1)))
    assert [f.uuid for f in listed] == [files[0].uuid, files[1].uuid]
    assert rest_client.list_file_groups().count() == 3

    group.delete()
    assert group.is_deleted
    with pytest.raises(InvalidRequestError):
        rest_client.file_group(first.id).update_info()
    assert [g.id for g in rest_client.list_file_groups()] == ids[1:]
    assert File.objects.filter(project=project, datetime_removed__isnull=True).count() == 3
