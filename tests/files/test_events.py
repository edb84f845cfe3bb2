"""Faithful events: each webhook payload says what caused it, in Uploadcare's initiator shape,
and a file stored at upload is announced uploaded first, then stored."""

import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from files.models import File
from files.outbox import relay as outbox
from files.uploads.from_url import from_url_fetch
from projects.models import WebhookDelivery
from tests.helpers import ACCEPT, PART
from tests.projects.webhooks.receiver import subscribe

EVENTS = ("file.uploaded", "file.stored", "file.deleted", "file.info_updated")


@pytest.fixture
def project(team):
    for event in EVENTS:
        subscribe(team.project, f"https://hooks.example.com/{event}", event=event)
    return team.project


def deliveries(file_uuid=None) -> list[dict]:
    """The webhook bodies made so far, in the order the events happened."""
    outbox.outbox_relay()
    bodies = [d.payload for d in WebhookDelivery.objects.order_by("event_id", "pk")]
    return [body for body in bodies if file_uuid is None or body["data"]["uuid"] == str(file_uuid)]


def kinds(bodies) -> list[tuple[str, str | None]]:
    return [(body["hook"]["event"], body["initiator"]["detail"].get("source")) for body in bodies]


def assert_api_initiator(body, source: str) -> None:
    """Uploadcare's shape: type api, detail with request_id (a UUID) and addon_name; ours adds source."""
    initiator = body["initiator"]
    assert initiator["type"] == "api" and initiator["detail"]["source"] == source
    assert initiator["detail"]["addon_name"] is None
    uuid.UUID(initiator["detail"]["request_id"])


def rest(client, project, method, path, data=None):
    auth = f"Uploadcare.Simple {project.public_key}:{project.secret_keys.get().secret}"
    body = {"data": json.dumps(data), "content_type": "application/json"} if data is not None else {}
    return getattr(client, method)(f"/api/{path}", HTTP_AUTHORIZATION=auth, HTTP_ACCEPT=ACCEPT, **body)


def test_a_file_stored_at_upload_fires_uploaded_then_stored_from_one_request(client, project):
    response = client.post(
        "/upload/base/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "UPLOADCARE_STORE": "1", "f": SimpleUploadedFile("a.txt", b"hi")},
    )
    bodies = deliveries(response.json()["f"])
    assert kinds(bodies) == [("file.uploaded", "upload_api"), ("file.stored", "upload_api")]
    for body in bodies:
        assert_api_initiator(body, "upload_api")
        assert body["data"]["datetime_stored"] and body["hook"]["version"] == "0.7"
        assert set(body) == {"initiator", "hook", "data", "file"}
    assert bodies[0]["initiator"] == bodies[1]["initiator"]  # the same request_id


def test_a_temporary_upload_fires_only_uploaded_and_storing_it_later_fires_stored(client, project):
    response = client.post(
        "/upload/base/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "UPLOADCARE_STORE": "0", "f": SimpleUploadedFile("a.txt", b"hi")},
    )
    file_uuid = response.json()["f"]
    assert kinds(deliveries(file_uuid)) == [("file.uploaded", "upload_api")]
    assert rest(client, project, "put", f"files/{file_uuid}/storage/").status_code == 200
    bodies = deliveries(file_uuid)
    assert kinds(bodies) == [("file.uploaded", "upload_api"), ("file.stored", "rest_api")]
    # Uploadcare's webhooks carry the file's appdata (its add-ons' results), whatever the event.
    assert all(body["data"]["appdata"] == {} for body in bodies)


def test_a_multipart_upload_is_initiated_by_the_upload_api(client, project):
    data = {
        "UPLOADCARE_PUB_KEY": project.public_key,
        "filename": "big.bin",
        "size": str(PART + 1),
        "UPLOADCARE_STORE": "1",
    }
    started = client.post("/upload/multipart/start/", {**data, "content_type": "application/octet-stream"}).json()
    body = b"x" * (PART + 1)
    for i, url in enumerate(started["parts"]):
        part = body[i * PART : (i + 1) * PART]
        client.generic("PUT", url.replace("http://testserver", ""), part, content_type="application/octet-stream")
    client.post("/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]})
    bodies = deliveries(started["uuid"])
    assert kinds(bodies) == [("file.uploaded", "upload_api"), ("file.stored", "upload_api")]
    assert_api_initiator(bodies[0], "upload_api")


def test_an_upload_from_url_names_the_request_the_client_holds_a_token_of(client, project, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data("fetched")
    fields = {"pub_key": project.public_key, "source_url": httpserver.url_for("/a.txt"), "store": "1"}
    token = client.post("/from_url/", fields).json()["token"]
    from_url_fetch(token=token)
    bodies = deliveries(File.objects.get().uuid)
    assert kinds(bodies) == [("file.uploaded", "from_url"), ("file.stored", "from_url")]
    assert bodies[0]["initiator"]["detail"]["request_id"] == token


def test_rest_changes_and_local_copies_are_initiated_by_the_rest_api(client, project):
    response = client.post(
        "/upload/base/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "UPLOADCARE_STORE": "0", "f": SimpleUploadedFile("a.txt", b"hi")},
    )
    original = response.json()["f"]
    rest(client, project, "put", f"files/{original}/metadata/color/", "blue")
    copy = rest(client, project, "post", "files/local_copy/", {"source": original, "store": True}).json()["result"]
    rest(client, project, "delete", f"files/{original}/storage/")
    assert kinds(deliveries(original)) == [
        ("file.uploaded", "upload_api"),
        ("file.info_updated", "rest_api"),
        ("file.deleted", "rest_api"),
    ]
    updated = next(body for body in deliveries(original) if body["hook"]["event"] == "file.info_updated")
    # Uploadcare's file.info_updated body: what changed, as it was before, beside the file's info.
    assert updated["previous_values"] == {"metadata": {}} and updated["data"]["metadata"] == {"color": "blue"}
    assert set(updated) == {"initiator", "hook", "data", "file", "previous_values"}
    assert "previous_values" not in updated["data"]
    copied = deliveries(copy["uuid"])
    assert kinds(copied) == [("file.uploaded", "rest_api"), ("file.stored", "rest_api")]
    assert all(body["initiator"]["detail"]["source_file_uuid"] == original for body in copied)


def test_dashboard_changes_are_initiated_by_the_dashboard(login, team, project):
    client = login(team.member)
    url = reverse("files:upload", args=[project.pk])
    client.post(url, {"files": [SimpleUploadedFile("d.txt", b"from the browser")]})
    file = File.objects.get()
    client.post(reverse("files:metadata_set", args=[project.pk, file.uuid]), {"key": "k", "value": "v"})
    client.post(reverse("files:metadata_set", args=[project.pk, file.uuid]), {"key": "k", "value": "w"})
    client.post(reverse("files:delete", args=[project.pk, file.uuid]))
    bodies = deliveries(file.uuid)
    stored = [("file.stored", "dashboard")] if project.autostore_enabled else []
    assert kinds(bodies) == [
        ("file.uploaded", "dashboard"),
        *stored,
        ("file.info_updated", "dashboard"),
        ("file.info_updated", "dashboard"),
        ("file.deleted", "dashboard"),
    ]
    assert [body.get("previous_values") for body in bodies if body["hook"]["event"] == "file.info_updated"] == [
        {"metadata": {}},
        {"metadata": {"k": "v"}},
    ]
    for body in bodies:
        assert_api_initiator(body, "dashboard")


def test_an_upload_with_tags_writes_both_events_with_its_info_and_wakes_the_relay_once(
    client, project, broker_queue, django_capture_on_commit_callbacks
):
    from files.info import rest_file_info
    from files.models import Event
    from files.outbox.relay import RELAY_TASK

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/upload/base/",
            {
                "UPLOADCARE_PUB_KEY": project.public_key,
                "UPLOADCARE_STORE": "1",
                "tags": "Red,blue",
                "f": SimpleUploadedFile("a.txt", b"hi"),
            },
        )
    file = File.objects.get(uuid=response.json()["f"])
    events = list(Event.objects.filter(file_uuid=file.uuid).order_by("id"))
    assert [event.type for event in events] == ["file.uploaded", "file.stored"]
    for event in events:
        # The file's info as read back from its row, its tags included.
        assert event.payload == rest_file_info(file, include_appdata=True)
        assert event.payload["tags"] == ["red", "blue"] and event.payload["datetime_stored"]
    assert broker_queue.args(RELAY_TASK) == [[]]  # one wake-up for the two events
    assert kinds(deliveries(file.uuid)) == [("file.uploaded", "upload_api"), ("file.stored", "upload_api")]
