"""A project's own bucket as the storage for new uploads (a real moto_server); old files stay put."""

import os
import urllib.request

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from pyuploadcare import Uploadcare

from files import services
from files.models import File
from files.storage import buckets as storage_targets
from files.storage.backends import storage_for
from tests.factories import make_bucket, make_file, make_key
from tests.helpers import PART, api_upload, png_bytes, s3


def cdn(client, file) -> bytes:
    response = client.get(f"/cdn/{file.uuid}/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_new_uploads_land_in_the_customers_bucket_and_old_files_stay(client, team, moto_endpoint, customer_bucket):
    old = make_file(team.project, "old.txt", b"before")
    target = make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage", prefix="filedock/")
    body = api_upload(client, team.project, {"f": SimpleUploadedFile("new.png", png_bytes())}).json()
    new = File.objects.get(uuid=body["f"])

    assert new.storage_target == target and new.is_image and new.image_info["width"] == 40
    key = f"filedock/files/{team.project.pk}/{new.uuid}"
    assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=key)["Body"].read() == png_bytes()
    assert not default_storage.exists(new.storage_key)
    old.refresh_from_db()
    assert old.storage_target is None and default_storage.exists(old.storage_key)
    assert cdn(client, old) == b"before"
    assert cdn(client, new) == png_bytes()
    assert client.get(f"/cdn/{new.uuid}/-/preview/20x20/").status_code == 200  # rendered from the bucket


def test_after_disconnecting_files_in_the_bucket_keep_working(client, team, moto_endpoint, customer_bucket):
    target = make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    inside = make_file(team.project, "inside.txt", b"in the customer's bucket")
    storage_targets.bucket_disconnect(target=target)
    after = make_file(team.project, "after.txt", b"back on the server")
    assert after.storage_target is None and default_storage.exists(after.storage_key)
    inside.refresh_from_db()
    assert inside.storage_target == target
    assert cdn(client, inside) == b"in the customer's bucket"
    ranged = client.get(f"/cdn/{inside.uuid}/", HTTP_RANGE="bytes=3-5")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == b"the"
    keys = [o["Key"] for o in s3(moto_endpoint).list_objects_v2(Bucket=customer_bucket)["Contents"]]
    assert keys == [inside.storage_key]  # disconnecting deleted nothing


def test_cdn_redirects_to_the_customers_bucket_when_redirects_are_on(
    client, team, moto_endpoint, customer_bucket, settings
):
    settings.FILEDOCK_CDN_S3_REDIRECT = True
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    file = make_file(team.project, "r.txt", b"redirected")
    response = client.get(f"/cdn/{file.uuid}/")
    assert response.status_code == 302 and response["Location"].startswith(f"{moto_endpoint}/{customer_bucket}/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    assert opener.open(response["Location"]).read() == b"redirected"


def test_multipart_parts_stay_on_the_server_and_the_file_goes_to_the_bucket(
    client, team, moto_endpoint, customer_bucket
):
    target = make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    data = os.urandom(PART + 1000)
    started = client.post(
        "/upload/multipart/start/",
        {
            "UPLOADCARE_PUB_KEY": team.project.public_key,
            "filename": "big.bin",
            "size": str(len(data)),
            "content_type": "application/octet-stream",
        },
    ).json()
    for i, url in enumerate(started["parts"]):
        client.generic(
            "PUT",
            url.replace("http://testserver", ""),
            data[i * PART : (i + 1) * PART],
            content_type="application/octet-stream",
        )
    client.post("/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "uuid": started["uuid"]})
    file = File.objects.get(uuid=started["uuid"])
    assert file.storage_target == target
    assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=file.storage_key)["Body"].read() == data
    assert not default_storage.exists(f"parts/{file.uuid}/0")


def test_delete_and_copy_work_where_the_bytes_live(
    team, moto_endpoint, customer_bucket, django_capture_on_commit_callbacks
):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    file = make_file(team.project, "c.txt", b"copy me")
    copy = services.file_copy(file=file, store=True)
    with storage_for(copy).open(copy.storage_key) as stored:
        assert stored.read() == b"copy me"
    with django_capture_on_commit_callbacks(execute=True):
        services.file_delete(file=file)  # the bytes go after commit
    keys = [o["Key"] for o in s3(moto_endpoint).list_objects_v2(Bucket=customer_bucket).get("Contents", [])]
    assert keys == [copy.storage_key]


@pytest.mark.django_db(transaction=True)
def test_pyuploadcare_uploads_into_the_customers_bucket(live_server, moto_endpoint, customer_bucket, tmp_path):
    from projects.services import project_create
    from tests.factories import UserFactory

    project = project_create(owner=UserFactory(), name="custom")
    _, secret = make_key(project, label="sdk")
    target = make_bucket(project, moto_endpoint, customer_bucket, purpose="storage")
    uploadcare = Uploadcare(
        public_key=project.public_key,
        secret_key=secret,
        upload_base=f"{live_server.url}/upload/",
        api_base=f"{live_server.url}/api/",
        cdn_base=f"{live_server.url}/cdn/",
    )
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes())
    with open(path, "rb") as f:
        uploaded = uploadcare.upload(f, store=True)
    file = File.objects.get(uuid=uploaded.uuid)
    assert file.storage_target == target
    assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=file.storage_key)["Body"].read() == png_bytes()
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(uploaded.cdn_url) as response:
        assert response.read() == png_bytes()


def test_purging_a_project_removes_its_files_from_its_bucket_and_the_connection(team, moto_endpoint, customer_bucket):
    from projects.services import project_delete, project_purge

    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    make_file(team.project, "gone.txt")
    project_delete(project=team.project)
    assert project_purge(project_id=team.project.pk)
    assert "Contents" not in s3(moto_endpoint).list_objects_v2(Bucket=customer_bucket)
    assert not File.objects.exists()
