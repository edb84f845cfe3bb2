"""What an Upload API upload looks up: the project by its public key, with the project's upload
storage in the same query, never from a cache (a removed project or a disconnected bucket counts
at once). Uploads into a customer's bucket are in tests/files/storage/test_custom_storage.py."""

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from files.models import File
from files.storage import buckets as storage_targets
from projects.services import project_delete
from tests.factories import make_bucket
from tests.helpers import api_upload, png_bytes


def test_an_upload_reads_its_storage_with_the_project(client, team):
    with CaptureQueriesContext(connection) as queries:
        body = api_upload(client, team.project, {"f": SimpleUploadedFile("a.png", png_bytes())}).json()
    assert File.objects.get(uuid=body["f"]).storage_target is None
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    lookups = [sql for sql in reads if 'FROM "projects_project"' in sql and "public_key" in sql]
    assert len(lookups) == 1 and "files_bucketconnection" in lookups[0]
    assert not [sql for sql in reads if sql.startswith('SELECT "files_bucketconnection"')]


def test_connecting_and_disconnecting_a_bucket_counts_from_the_next_upload(
    client, team, moto_endpoint, customer_bucket
):
    target = make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    inside = api_upload(client, team.project, {"f": SimpleUploadedFile("in.txt", b"in")}).json()["f"]
    storage_targets.bucket_disconnect(target=target)
    after = api_upload(client, team.project, {"f": SimpleUploadedFile("out.txt", b"out")}).json()["f"]
    assert File.objects.get(uuid=inside).storage_target == target
    after = File.objects.get(uuid=after)
    assert after.storage_target is None and default_storage.exists(after.storage_key)


def test_a_removed_project_refuses_uploads_at_once(client, team):
    assert api_upload(client, team.project, {"f": SimpleUploadedFile("a.txt", b"a")}).status_code == 200
    project_delete(project=team.project)
    response = api_upload(client, team.project, {"f": SimpleUploadedFile("b.txt", b"b")})
    assert response.status_code == 403 and "is marked as removed" in response.content.decode()
