"""Cross-project attempts beyond the tenancy walk: another project's keys aimed at this project's
files through the Upload API and the REST API (test_tenancy.py walks every URL once per persona)."""

import json

from django.core.files.base import ContentFile

from tests.factories import make_key
from tests.helpers import ACCEPT


def _foreign(team):
    from files.services import file_upload

    file = file_upload(
        project=team.project, content=ContentFile(b"ours", name="ours.txt"), filename="ours.txt", store=True
    )
    return file, team.outsider.memberships.get().project


def test_upload_info_with_another_projects_key_is_not_found(client, team):
    file, other = _foreign(team)
    response = client.get("/upload/info/", {"file_id": str(file.uuid), "pub_key": other.public_key})
    assert response.status_code == 404 and response.content == b"File is not found."


def test_group_of_another_projects_files_is_refused(client, team):
    file, other = _foreign(team)
    response = client.post("/upload/group/", {"pub_key": other.public_key, "files[0]": str(file.uuid)})
    assert response.status_code == 400 and b"Some files not found" in response.content
    assert not other.groups.exists()


def test_rest_calls_with_another_projects_keys_cannot_touch_our_file(client, team):

    file, other = _foreign(team)
    _key, secret = make_key(other, label="x")
    auth = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {other.public_key}:{secret}", "HTTP_ACCEPT": ACCEPT}
    assert client.delete(f"/api/files/{file.uuid}/storage/", **auth).status_code == 404
    batch = client.generic(
        "DELETE", "/api/files/storage/", json.dumps([str(file.uuid)]), content_type="application/json", **auth
    )
    assert batch.json()["problems"] == {str(file.uuid): "Missing in the project"}
    copy = client.post("/api/files/local_copy/", {"source": str(file.uuid)}, content_type="application/json", **auth)
    assert copy.status_code == 404
    file.refresh_from_db()
    assert file.datetime_removed is None and not other.files.exists()


def test_our_keys_with_another_projects_public_key_do_not_authenticate(client, team):
    own_secret = team.project.secret_keys.get().secret
    other = team.outsider.memberships.get().project
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {other.public_key}:{own_secret}", HTTP_ACCEPT=ACCEPT
    )
    assert response.status_code == 401
