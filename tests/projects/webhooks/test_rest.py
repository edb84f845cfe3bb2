"""REST webhooks at the HTTP level: the wire shapes pyuploadcare parses, scoping, and 400s never 500s."""

import json
import re

import pytest

from projects.models import Webhook
from projects.webhooks import services as webhook_services
from tests.helpers import ACCEPT

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
URL = "https://hooks.example.com/filedock"


@pytest.fixture
def api(client, team):
    """The Django test client, authenticated as the team's project with the Simple scheme."""
    project = team.project
    auth = f"Uploadcare.Simple {project.public_key}:{project.secret_keys.get().secret}"

    def call(method, path, data=None, content_type="application/json"):
        body = json.dumps(data) if content_type == "application/json" and data is not None else data
        kwargs = {"data": body, "content_type": content_type} if data is not None else {}
        return getattr(client, method)(f"/api/{path}", HTTP_AUTHORIZATION=auth, HTTP_ACCEPT=ACCEPT, **kwargs)

    return call


@pytest.fixture
def foreign_webhook(team) -> Webhook:
    elsewhere = team.outsider.memberships.get().project
    return webhook_services.webhook_create(project=elsewhere, target_url=URL, event="file.uploaded")


def test_create_form_encoded_as_pyuploadcare_sends_it(api, team):
    body = "target_url=https%3A%2F%2Fhooks.example.com%2Ffiledock&event=file.stored&is_active=false&signing_secret=s"
    response = api("post", "webhooks/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == ACCEPT
    data = response.json()
    webhook = team.project.webhooks.get()
    assert data == {
        "id": webhook.pk,
        "created": data["created"],
        "updated": data["updated"],
        "event": "file.stored",
        "target_url": URL,
        "project": None,
        "is_active": False,
        "signing_secret": "s",
        "version": "0.7",
    }
    assert ISO.match(data["created"]) and ISO.match(data["updated"])


def test_create_json_defaults_to_active_without_secret(api):
    response = api("post", "webhooks/", {"target_url": URL, "event": "file.uploaded"})
    assert response.status_code == 201
    assert response.json()["is_active"] is True and response.json()["signing_secret"] is None


def test_form_create_without_is_active_is_active(api):
    response = api(
        "post", "webhooks/", f"target_url={URL}&event=file.uploaded", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201 and response.json()["is_active"] is True


def test_duplicate_create_is_400_with_the_message_the_clients_match(api):
    assert api("post", "webhooks/", {"target_url": URL, "event": "file.uploaded"}).status_code == 201
    response = api("post", "webhooks/", {"target_url": URL, "event": "file.uploaded"})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This project is already subscribed on this event"]}


def test_list_is_a_plain_array_of_this_projects_webhooks(api, team, foreign_webhook):
    webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    webhook_services.webhook_create(project=team.project, target_url=URL, event="file.deleted")
    response = api("get", "webhooks/")
    assert response.status_code == 200
    data = response.json()
    assert isinstance(data, list) and [hook["event"] for hook in data] == ["file.uploaded", "file.deleted"]
    assert foreign_webhook.pk not in [hook["id"] for hook in data]


def test_update_is_a_partial_json_put(api, team):
    webhook = webhook_services.webhook_create(
        project=team.project, target_url=URL, event="file.uploaded", signing_secret="k"
    )
    response = api("put", f"webhooks/{webhook.pk}/", {"is_active": False})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert (response.json()["event"], response.json()["signing_secret"]) == ("file.uploaded", "k")
    response = api("put", f"webhooks/{webhook.pk}/", {"target_url": "https://new.example.com/", "event": "file.stored"})
    webhook.refresh_from_db()
    assert (webhook.target_url, webhook.event, webhook.is_active) == ("https://new.example.com/", "file.stored", False)


def test_update_into_a_duplicate_is_400(api, team):
    webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    webhook = webhook_services.webhook_create(project=team.project, target_url=URL, event="file.stored")
    response = api("put", f"webhooks/{webhook.pk}/", {"event": "file.uploaded"})
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_delete_is_204(api, team):
    webhook = webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    response = api("delete", f"webhooks/{webhook.pk}/")
    assert response.status_code == 204 and response.content == b""
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_unsubscribe_removes_the_url_from_this_project(api, team, foreign_webhook):
    webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    webhook_services.webhook_create(project=team.project, target_url=URL, event="file.stored")
    response = api("delete", "webhooks/unsubscribe/", {"target_url": URL})
    assert response.status_code == 204
    assert not team.project.webhooks.exists() and Webhook.objects.filter(pk=foreign_webhook.pk).exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_another_projects_webhook_is_404(api, foreign_webhook, method):
    response = api(method, f"webhooks/{foreign_webhook.pk}/", {"is_active": False})
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    foreign_webhook.refresh_from_db()
    assert foreign_webhook.is_active


@pytest.mark.parametrize("webhook_id", ["0", "999999", "99999999999999999999999"])
def test_unknown_ids_are_404(api, webhook_id):
    assert api("put", f"webhooks/{webhook_id}/", {"is_active": False}).status_code == 404
    assert api("delete", f"webhooks/{webhook_id}/").status_code == 404


@pytest.mark.parametrize("webhook_id", ["abc", "-1", "1.5", "null,null", "\u0663"])
def test_malformed_ids_get_the_apis_json_404(api, webhook_id):
    changed, deleted = (
        api("put", f"webhooks/{webhook_id}/", {"is_active": False}),
        api("delete", f"webhooks/{webhook_id}/"),
    )
    for response in (changed, deleted):
        assert response.status_code == 404 and response["Content-Type"] == ACCEPT
        assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"event": "file.uploaded"}, "target_url"),
        ({"target_url": URL}, "event"),
        ({"target_url": "ftp://example.com/", "event": "file.uploaded"}, "target_url"),
        ({"target_url": "not a url", "event": "file.uploaded"}, "target_url"),
        ({"target_url": URL, "event": "file.nope"}, "event"),
        ({"target_url": URL, "event": "file.uploaded", "is_active": "maybe"}, "is_active"),
        ({"target_url": URL, "event": "file.uploaded", "signing_secret": "x" * 33}, "signing_secret"),
        ({"target_url": "https://a.example/\u0000", "event": "file.uploaded"}, "target_url"),
        ({"target_url": ["https://a.example/"], "event": "file.uploaded"}, "target_url"),
        ({"target_url": "https://a.example/" + "a" * 2000, "event": "file.uploaded"}, "target_url"),
    ],
)
def test_bad_create_input_is_400_by_field(api, data, field):
    response = api("post", "webhooks/", data)
    assert response.status_code == 400
    assert list(response.json()) == [field] and isinstance(response.json()[field], list)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "{not json", "null"])
def test_malformed_bodies_are_400(api, team, body):
    webhook = webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    assert api("post", "webhooks/", body, content_type="application/json").status_code == 400
    assert api("put", f"webhooks/{webhook.pk}/", body, content_type="application/json").status_code == 400
    assert api("delete", "webhooks/unsubscribe/", body, content_type="application/json").status_code == 400


def test_bad_update_input_is_400_and_changes_nothing(api, team):
    webhook = webhook_services.webhook_create(project=team.project, target_url=URL, event="file.uploaded")
    response = api("put", f"webhooks/{webhook.pk}/", {"is_active": False, "target_url": "gopher://x"})
    assert response.status_code == 400 and list(response.json()) == ["target_url"]
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.target_url == URL


def test_unsubscribe_without_target_url_is_400(api):
    response = api("delete", "webhooks/unsubscribe/", {})
    assert response.status_code == 400 and "target_url" in response.json()


def test_webhooks_need_credentials_and_the_version_header(client, team):
    assert client.get("/api/webhooks/", HTTP_ACCEPT=ACCEPT).status_code == 401
    project = team.project
    auth = f"Uploadcare.Simple {project.public_key}:{project.secret_keys.get().secret}"
    assert client.get("/api/webhooks/", HTTP_AUTHORIZATION=auth, HTTP_ACCEPT="application/json").status_code == 406
