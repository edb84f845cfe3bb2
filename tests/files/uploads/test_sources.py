"""What the uploader reads about upload sources: the Upload API's sources/ and REST project info."""

import pytest

from projects.services import oauth_app_save
from tests.helpers import ACCEPT

SECRET = "dbx-secret-0123456789WXYZ"


@pytest.fixture
def apps(team):
    oauth_app_save(
        project=team.project, provider="dropbox", client_id="a1b2c3d4e5f6g7h", client_secret=SECRET, enabled=True
    )
    oauth_app_save(
        project=team.project, provider="vk", client_id="51234567", client_secret="vk-secret-value", enabled=False
    )
    other = team.outsider.memberships.get().project
    oauth_app_save(project=other, provider="box", client_id="b" * 32, client_secret="other-secret", enabled=True)
    return team.project


EXPECTED = [
    {"provider": "dropbox", "enabled": True, "client_id": "a1b2c3d4e5f6g7h"},
    {"provider": "vk", "enabled": False, "client_id": "51234567"},
]


def test_sources_endpoint_lists_client_ids_without_secrets(client, apps):
    response = client.get("/upload/sources/", {"pub_key": apps.public_key})
    assert response.status_code == 200
    assert response.json() == {"sources": EXPECTED}
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.content.decode()
    assert SECRET not in body and "vk-secret-value" not in body and "secret" not in body


def test_sources_endpoint_is_empty_without_apps(client, team):
    assert client.get("/upload/sources/", {"pub_key": team.project.public_key}).json() == {"sources": []}


def test_sources_endpoint_answers_cors_preflight(client, team):
    response = client.options("/upload/sources/")
    assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == "*"


def test_sources_endpoint_refuses_unknown_and_missing_keys(client, db):
    response = client.get("/upload/sources/", {"pub_key": "nope"})
    assert response.status_code == 403 and response.content == b"pub_key is invalid."
    assert client.get("/upload/sources/").status_code == 403
    body = client.get("/upload/sources/", {"pub_key": "nope", "jsonerrors": "1"}).json()
    assert body["error"]["error_code"] == "ProjectPublicKeyInvalidError"


def test_sources_endpoint_refuses_deleted_project(client, team):
    from projects.services import project_delete

    project_delete(project=team.project)
    assert client.get("/upload/sources/", {"pub_key": team.project.public_key}).status_code == 403


def test_sources_endpoint_is_get_only(client, team):
    assert client.post("/upload/sources/", {"pub_key": team.project.public_key}).status_code == 405


def test_rest_project_info_includes_upload_sources_without_secrets(client, apps):
    secret_key = apps.secret_keys.get().secret
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {apps.public_key}:{secret_key}", HTTP_ACCEPT=ACCEPT
    )
    assert response.status_code == 200
    data = response.json()
    assert data["upload_sources"] == EXPECTED
    assert {"name", "pub_key", "autostore_enabled", "collaborators"} <= set(data)
    assert SECRET not in response.content.decode() and "vk-secret-value" not in response.content.decode()
