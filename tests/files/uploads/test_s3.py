"""Uploads through the Upload API into S3-compatible storage (a real moto_server)."""

import os
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from files import services
from files.models import File
from files.storage import sweeps
from tests.helpers import PART, api_upload, png_bytes


def test_direct_upload_into_s3(client, team, s3_storage):
    body = api_upload(client, team.project, {"f": SimpleUploadedFile("a.png", png_bytes())}).json()
    file = File.objects.get(uuid=body["f"])
    assert file.is_image and file.image_info["width"] == 40
    with default_storage.open(file.storage_key) as stored:
        assert stored.read() == png_bytes()


def test_multipart_upload_into_s3(client, team, s3_storage):
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
        response = client.generic(
            "PUT",
            url.replace("http://testserver", ""),
            data[i * PART : (i + 1) * PART],
            content_type="application/octet-stream",
        )
        assert response.status_code == 200
    info = client.post(
        "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "uuid": started["uuid"]}
    ).json()
    with default_storage.open(File.objects.get(uuid=info["uuid"]).storage_key) as stored:
        assert stored.read() == data
    assert not default_storage.exists(f"parts/{started['uuid']}/0")


def test_orphan_sweep_on_s3(team, s3_storage):
    orphan = default_storage.save(
        services.storage_key(team.project.pk, "0b8f4a0e-1111-4222-8333-444455556666"), ContentFile(b"orphan")
    )
    kept = services.file_upload(project=team.project, content=ContentFile(b"k", name="k"), filename="k", store=True)
    assert sweeps.storage_sweep_orphans(older_than=timedelta(seconds=-60)) == 1
    assert not default_storage.exists(orphan) and default_storage.exists(kept.storage_key)
