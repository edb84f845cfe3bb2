"""Local storage runs out of space, with real processes: gunicorn on production settings whose
media root is a 1 MiB tmpfs mounted by the test, filled by uploads until the disk is full.

Guarantees checked:
- The upload that does not fit is refused with 507 Insufficient Storage and Uploadcare's error shape
  (text body, or the JSON error with `jsonerrors=1`), not a crash page; so is a multipart part.
- Nothing half-written: no partial blob on disk and no File row for it; every accepted upload has
  its row and all its bytes.
- Once space is freed (files deleted), uploads are accepted again.
"""

import subprocess

import httpx
import pytest
from django.db import connection

from files.models import File
from files.services import file_delete
from projects.services import project_create
from tests.factories import UserFactory
from tests.faults.processes import Gunicorn, database_url, server_env, stored_blobs

SIZE = 200 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (we run as root); unmounted at the end."""
    mount = tmp_path / "media"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"cannot mount a tmpfs: {result.stderr}"
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def upload(client: httpx.Client, public_key: str, content: bytes, **fields) -> httpx.Response:
    return client.post(
        "/upload/base/",
        data={"UPLOADCARE_PUB_KEY": public_key, "UPLOADCARE_STORE": "1", **fields},
        files={"file": ("f.bin", content, "application/octet-stream")},
    )


def content(n: int) -> bytes:
    return bytes([n % 256]) * SIZE


@pytest.mark.django_db(transaction=True)
def test_upload_to_full_disk_is_refused_cleanly_and_works_after_space_is_freed(
    redis_server, small_disk, tmp_path, settings
):
    settings.MEDIA_ROOT = str(small_disk)  # this process deletes files from the same disk
    project = project_create(owner=UserFactory(), name="disk full")
    env = server_env(
        database_url(connection.settings_dict), redis_server.url, tmp_path, FILEDOCK_MEDIA_ROOT=str(small_disk)
    )
    with (
        Gunicorn(env, tmp_path / "gunicorn.log") as server,
        httpx.Client(base_url=server.base, timeout=30, trust_env=False) as client,
    ):
        accepted = {}
        for n in range(1, 20):
            response = upload(client, project.public_key, content(n))
            if response.status_code != 200:
                break
            accepted[response.json()["file"]] = content(n)
        assert 2 <= len(accepted) < 19, server.log()
        assert response.status_code == 507, (response.status_code, response.text, server.log())
        assert response.text == "Not enough storage space on the server."
        assert "text/plain" in response.headers["content-type"]

        response = upload(client, project.public_key, content(99), jsonerrors="1")
        assert response.json() == {
            "error": {
                "content": "Not enough storage space on the server.",
                "status_code": 507,
                "error_code": "UploadAPIError",
            }
        }

        started = client.post(
            "/upload/multipart/start/",
            data={
                "UPLOADCARE_PUB_KEY": project.public_key,
                "filename": "big.bin",
                "size": str(6 * 1024 * 1024),
                "content_type": "application/octet-stream",
            },
        ).json()
        response = client.put(started["parts"][0], content=b"p" * 5 * 1024 * 1024)
        assert (response.status_code, response.text) == (507, "Not enough storage space on the server."), server.log()
        response = client.post(
            "/upload/multipart/complete/", data={"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]}
        )
        assert response.status_code == 400  # the part is not whole: no file is made of it

        files = {str(f.uuid): f for f in File.objects.filter(project=project)}
        assert set(files) == set(accepted)
        assert stored_blobs(small_disk) == {files[file_id].storage_key: data for file_id, data in accepted.items()}

        for file_id in list(accepted)[:2]:
            file_delete(file=files[file_id])
        response = upload(client, project.public_key, content(100))
        assert response.status_code == 200, (response.text, server.log())
        new = File.objects.get(uuid=response.json()["file"])
        assert (small_disk / new.storage_key).read_bytes() == content(100)
