"""An upload's project, kept per process under the token its rate limit reads (core.kept): read
once, then used again until the project or its storage changes, in this process or another."""

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import kept
from files.models import File
from projects import services
from tests.factories import make_bucket

pytestmark = pytest.mark.usefixtures("production_cache")


@pytest.fixture
def upload(client, team):
    def post(name="a.txt", body=b"hello"):
        form = {"UPLOADCARE_PUB_KEY": team.project.public_key, "file": SimpleUploadedFile(name, body)}
        return client.post("/upload/base/", form)

    return post


def _project_reads(queries) -> int:
    """project_for's SELECTs (files.uploads.auth._project_query) among `queries`."""
    return sum('FROM "projects_project" p WHERE p.public_key' in query["sql"] for query in queries)


def _limit_size(project, max_file_size: int) -> None:
    """A change of the project's upload settings, through its service."""
    services.project_configure_uploads(
        project=project,
        autostore_enabled=True,
        require_signed_uploads=False,
        max_file_size=max_file_size,
        allowed_mime_types="",
    )


def _warm(upload) -> None:
    """The first upload starts the token, the second reads the project under it and keeps it."""
    assert [upload().status_code for _ in range(2)] == [200, 200]


def test_once_kept_an_upload_reads_no_project_row(upload):
    with CaptureQueriesContext(connection) as first:
        assert upload().status_code == 200
    assert _project_reads(first.captured_queries) == 1
    _warm(upload)
    with CaptureQueriesContext(connection) as later:
        assert upload().status_code == 200
    assert _project_reads(later.captured_queries) == 0


def test_a_deleted_project_refuses_the_next_upload(upload, team):
    _warm(upload)
    services.project_delete(project=team.project)
    response = upload()
    assert response.status_code == 403 and "marked as removed" in response.content.decode()


def test_new_upload_settings_apply_to_the_next_upload(upload, team):
    _warm(upload)
    _limit_size(team.project, 3)
    refused = upload(body=b"four")
    assert refused.status_code == 400 and "too large" in refused.content.decode().lower()


def test_a_storage_bucket_connected_takes_the_next_upload(upload, team, moto_endpoint, customer_bucket):
    _warm(upload)
    target = make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    response = upload(name="b.txt")
    assert response.status_code == 200
    assert File.objects.get(uuid=response.json()["file"]).storage_target_id == target.pk


def test_a_token_replaced_by_another_process_makes_this_one_read_again(upload, team):
    _warm(upload)
    caches["default"].set(kept.token_key(team.project.public_key), 12345, timeout=None)
    with CaptureQueriesContext(connection) as queries:
        assert upload().status_code == 200
    assert _project_reads(queries.captured_queries) == 1


def test_an_unknown_public_key_is_refused_and_nothing_is_kept(client, db):
    form = {"UPLOADCARE_PUB_KEY": "0" * 20, "file": SimpleUploadedFile("a.txt", b"x")}
    assert [client.post("/upload/base/", form).status_code for _ in range(3)] == [403] * 3
    assert caches["default"].get(kept.token_key("0" * 20)) is None


def test_a_rate_limit_read_for_another_key_keeps_nothing_for_this_one(client, team):
    """The rate limit counts the query's pub_key; the form names the project. The token read is
    the query key's: keeping the form's project under it would outlive the project's changes."""
    other = team.outsider.memberships.get().project

    def post():
        form = {"UPLOADCARE_PUB_KEY": team.project.public_key, "file": SimpleUploadedFile("a.txt", b"hello")}
        return client.post(f"/upload/base/?pub_key={other.public_key}", form)

    assert [post().status_code for _ in range(3)] == [200] * 3
    _limit_size(team.project, 3)
    assert post().status_code == 400
