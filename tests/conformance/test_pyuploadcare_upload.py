"""pyuploadcare 6.3, unmodified, uploading to a live Filedock."""

import os
import urllib.request

import pytest
from django.core.files.storage import default_storage
from pyuploadcare.exceptions import InvalidRequestError

from files.models import File
from projects.models import Project
from tests.helpers import png_bytes


def cdn_bytes(file) -> bytes:
    with urllib.request.urlopen(file.cdn_url) as response:
        assert response.status == 200
        return response.read()


def stored_bytes(uuid) -> bytes:
    with default_storage.open(File.objects.get(uuid=uuid).storage_key) as f:
        return f.read()


@pytest.mark.conformance("upload (direct)")
@pytest.mark.parametrize(("store", "expected"), [(True, True), (False, False), (None, True)])
def test_direct_upload(uploadcare, tmp_path, store, expected):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes())
    with open(path, "rb") as f:
        uploaded = uploadcare.upload(f, store=store)
    assert stored_bytes(uploaded.uuid) == png_bytes() == cdn_bytes(uploaded)
    file = File.objects.get(uuid=uploaded.uuid)
    assert file.original_filename == "photo.png" and file.is_image and file.is_stored is expected


@pytest.mark.conformance("upload (multipart)")
def test_multipart_upload(uploadcare, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(11 * 1024 * 1024 + 17))
    with open(path, "rb") as f:
        uploaded = uploadcare.upload(f, store=True)
    assert stored_bytes(uploaded.uuid) == path.read_bytes() == cdn_bytes(uploaded)
    assert File.objects.get(uuid=uploaded.uuid).original_filename == "big.bin"


@pytest.mark.conformance("signed upload (with and without the secret)")
def test_signed_uploads_with_and_without_the_secret(live_project, make_client, tmp_path):
    project, secret = live_project
    Project.objects.filter(pk=project.pk).update(require_signed_uploads=True)
    path = tmp_path / "a.txt"
    path.write_bytes(b"signed")
    with open(path, "rb") as f:
        uploaded = make_client(project.public_key, secret).upload(f)
    assert stored_bytes(uploaded.uuid) == b"signed"
    with open(path, "rb") as f, pytest.raises(InvalidRequestError, match="signature"):
        make_client(project.public_key, None, signed_uploads=False).upload_files([f])


@pytest.mark.conformance("upload from URL")
def test_upload_from_url(uploadcare, httpserver, celery_worker):
    httpserver.expect_request("/img/remote.png").respond_with_data(png_bytes(), content_type="image/png")
    uploaded = uploadcare.upload(httpserver.url_for("/img/remote.png"), store=True)
    assert stored_bytes(uploaded.uuid) == png_bytes()


@pytest.mark.conformance("create group")
def test_create_group(uploadcare, tmp_path):
    files = []
    for name in ("one.txt", "two.txt"):
        (tmp_path / name).write_bytes(name.encode())
        with open(tmp_path / name, "rb") as f:
            files.append(uploadcare.upload(f))
    group = uploadcare.create_file_group(files)
    assert len(group) == 2
    assert [str(f.uuid) for f in group] == [str(f.uuid) for f in files]
