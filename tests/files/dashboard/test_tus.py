"""The files page's own tus endpoint (files/dashboard/tus.py): a member's session uploads in
chunks under the project's URL, without a public key or signature; CSRF, tenancy and the page's
size refusal hold. The browser side is tests/browser/test_tus_uploads.py."""

import base64
import os

import pytest
from django.test import Client
from django.urls import reverse

from files.dashboard.tus import CHUNK_SIZE, TUS_THRESHOLD
from files.models import Event, File, MultipartUpload
from files.storage.backends import open_stream
from files.uploads.tus import tus_create

pytestmark = pytest.mark.django_db
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def _metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def _create(client, project, length: int, **headers):
    return client.post(
        reverse("files:tus", args=[project.pk]),
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": _metadata(**headers)},
    )


def _patch(client, url: str, offset: int, body: bytes, **headers):
    return client.patch(url, body, content_type=OCTETS, headers={**TUS, "Upload-Offset": str(offset), **headers})


def test_a_member_uploads_in_chunks_and_the_file_is_the_dashboards(login, team):
    team.project.autostore_enabled = False
    team.project.save()
    client = login(team.member)
    data = os.urandom(2 * 1024 + 7)

    created = _create(client, team.project, len(data), filename="report.bin", filetype="application/x-demo")
    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0"
    url = created["Location"]
    upload = MultipartUpload.objects.get()
    assert url == f"/projects/{team.project.pk}/files/tus/{upload.uuid}/"
    assert (upload.project, upload.filename, upload.size, upload.received) == (team.project, "report.bin", len(data), 0)

    first = _patch(client, url, 0, data[:1024])
    assert first.status_code == 204 and first["Upload-Offset"] == "1024"
    head = client.head(url, headers=TUS)
    assert (head.status_code, head["Upload-Offset"], head["Upload-Length"]) == (200, "1024", str(len(data)))
    assert not File.objects.exists()
    # A chunk sent again at an old offset is refused, not counted twice.
    assert _patch(client, url, 0, data[:1024]).status_code == 409

    last = _patch(client, url, 1024, data[1024:])
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(data))
    file = File.objects.get()
    assert (file.uuid, file.original_filename, file.size, file.source) == (
        upload.uuid,
        "report.bin",
        len(data),
        "dashboard",
    )
    assert not file.is_stored  # the project's autostore, as the page's form uploads
    with open_stream(file) as stream:
        assert stream.read() == data
    event = Event.objects.get(file_uuid=file.uuid, type=Event.Type.FILE_UPLOADED)
    assert event.initiator["detail"]["source"] == "dashboard"
    upload.refresh_from_db()
    assert upload.received == len(data) and upload.completed_at is not None


def test_no_public_key_or_signature_is_needed_the_session_says_who_uploads(login, team):
    team.project.require_signed_uploads = True
    team.project.save()
    client = login(team.member)
    url = _create(client, team.project, 3, filename="a.txt")["Location"]
    assert _patch(client, url, 0, b"abc").status_code == 204
    assert File.objects.get(project=team.project).original_filename == "a.txt"


def test_every_change_needs_the_csrf_token(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.member)
    assert _create(client, team.project, 3, filename="a.txt").status_code == 403
    assert not MultipartUpload.objects.exists()

    client.get(reverse("files:list", args=[team.project.pk]))  # sets the CSRF cookie, as the page does
    token = {"X-CSRFToken": client.cookies["csrftoken"].value}
    created = client.post(
        reverse("files:tus", args=[team.project.pk]),
        headers={**TUS, **token, "Upload-Length": "3", "Upload-Metadata": _metadata(filename="a.txt")},
    )
    assert created.status_code == 201
    url = created["Location"]
    assert _patch(client, url, 0, b"abc").status_code == 403
    assert client.head(url, headers=TUS)["Upload-Offset"] == "0"  # HEAD only reads: no token needed
    assert _patch(client, url, 0, b"abc", **token).status_code == 204
    assert File.objects.filter(project=team.project).count() == 1


def test_another_projects_upload_is_404_through_this_projects_url(login, team):
    elsewhere = team.outsider.memberships.get().project
    foreign = tus_create(project=elsewhere, length=3, metadata={"filename": "theirs.txt"})
    client = login(team.member)
    url = reverse("files:tus_upload", args=[team.project.pk, foreign.uuid])
    assert client.head(url, headers=TUS).status_code == 404
    assert _patch(client, url, 0, b"abc").status_code == 404
    assert client.delete(url, headers=TUS).status_code == 404
    foreign.refresh_from_db()
    assert foreign.received == 0
    # …and the outsider cannot reach ours through their own project either.
    ours = tus_create(project=team.project, length=3, metadata={"filename": "ours.txt"})
    outsider = login(team.outsider)
    assert outsider.head(reverse("files:tus_upload", args=[elsewhere.pk, ours.uuid]), headers=TUS).status_code == 404


def test_a_file_over_the_limit_is_refused_as_the_form_refuses_it(login, team):
    team.project.max_file_size = 10
    team.project.save()
    response = _create(login(team.member), team.project, 11, filename="big.txt")
    assert response.status_code == 413
    refusal = "“big.txt” is 11\xa0bytes: files larger than 10\xa0bytes are not accepted (a limit set by this project)."
    assert response.content.decode() == refusal and response["Content-Type"] == "text/plain; charset=utf-8"
    assert not MultipartUpload.objects.exists()


def test_termination_deletes_the_unfinished_upload(login, team):
    client = login(team.member)
    url = _create(client, team.project, 10, filename="a.txt")["Location"]
    assert _patch(client, url, 0, b"abcd").status_code == 204
    assert client.delete(url, headers=TUS).status_code == 204
    assert not MultipartUpload.objects.exists()
    assert client.head(url, headers=TUS).status_code == 404


def test_the_page_names_its_tus_endpoint_threshold_and_chunk_size(login, team):
    page = login(team.member).get(reverse("files:list", args=[team.project.pk])).content.decode()
    assert f'data-tus="/projects/{team.project.pk}/files/tus/"' in page
    assert f'data-tus-threshold="{TUS_THRESHOLD}"' in page and f'data-tus-chunk-size="{CHUNK_SIZE}"' in page
    assert "js/tus.js" in page
