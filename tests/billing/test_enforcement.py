"""Plan quotas enforced where uploads and API calls come in, and usage counted there."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from werkzeug import Response

from billing.models import UsageDay
from billing.quotas import QuotaExceeded
from files.dashboard.forms import UploadForm
from files.models import File
from files.services import file_upload, file_upload_batch
from files.uploads.from_url import from_url_fetch
from tests.factories import add_file
from tests.helpers import ACCEPT


def rest(client, project):
    secret = project.secret_keys.get().secret
    return client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {project.public_key}:{secret}", HTTP_ACCEPT=ACCEPT
    )


def test_upload_over_the_plans_file_size_is_refused_with_the_limits_error(client, team, plans):
    response = client.post(
        "/upload/base/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile("f.bin", b"x" * 501)}
    )
    assert (response.status_code, response.content) == (403, b"Account has reached its limits.")
    json_error = client.post(
        "/upload/base/?jsonerrors=1",
        {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile("f.bin", b"x" * 501)},
    )
    assert json_error.json()["error"]["error_code"] == "AccountLimitsExceededError"
    assert not File.objects.exists()


def test_uploads_are_counted_and_the_monthly_quota_enforced(client, team, plans, django_capture_on_commit_callbacks):
    plans.free.file_count, plans.free.uploads = None, 3
    plans.free.save()
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/upload/base/",
                {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile(f"{i}.txt", b"x")},
            )
        assert response.status_code == 200, response.content
    assert UsageDay.objects.get(project=team.project).uploads == 3
    refused = client.post(
        "/upload/base/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile("4.txt", b"x")}
    )
    assert refused.status_code == 403 and File.objects.count() == 3


def test_api_calls_are_counted_and_refused_past_the_quota(client, team, plans):
    assert [rest(client, team.project).status_code for _ in range(10)] == [200] * 10
    assert UsageDay.objects.get(project=team.project).api_calls == 10
    refused = rest(client, team.project)
    assert refused.status_code == 403 and refused.json() == {"detail": "Account has reached its limits."}
    assert UsageDay.objects.get(project=team.project).api_calls == 10  # refused calls are not counted


def test_dashboard_says_which_limit(login, team, plans):
    response = login(team.member).post(
        reverse("files:upload", args=[team.project.pk]),
        {"files": SimpleUploadedFile("big.bin", b"x" * 501)},
        follow=True,
    )
    assert "files larger than 500\xa0bytes are not accepted (a limit set by your plan)" in response.content.decode()


def test_an_operator_can_turn_quotas_off(client, team, plans, settings):
    settings.FILEDOCK_QUOTAS_ENFORCED = False
    response = client.post(
        "/upload/base/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile("f.bin", b"x" * 501)}
    )
    assert response.status_code == 200


def test_deleting_a_project_does_not_reset_the_months_counters(client, team, plans, django_capture_on_commit_callbacks):
    from projects.services import project_create, project_delete, project_purge

    plans.free.file_count, plans.free.uploads = None, 1
    plans.free.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/upload/base/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "f": SimpleUploadedFile("a", b"x")}
        )
    project_delete(project=team.project)
    project_purge(project_id=team.project.pk)
    fresh = project_create(owner=team.owner, name="Fresh start")
    response = client.post(
        "/upload/base/", {"UPLOADCARE_PUB_KEY": fresh.public_key, "f": SimpleUploadedFile("b", b"x")}
    )
    assert response.status_code == 403


def test_multipart_start_over_the_plans_file_size_is_refused_with_the_limits_error(client, team, plans):
    fields = {"UPLOADCARE_PUB_KEY": team.project.public_key, "filename": "big.bin", "size": "501"}
    response = client.post("/upload/multipart/start/", fields)
    assert (response.status_code, response.content) == (403, b"Account has reached its limits.")
    json_error = client.post("/upload/multipart/start/", {**fields, "jsonerrors": "1"})
    assert (json_error.status_code, json_error.json()) == (
        200,
        {
            "error": {
                "content": "Account has reached its limits.",
                "status_code": 403,
                "error_code": "AccountLimitsExceededError",
            }
        },
    )


def test_a_download_over_the_plans_file_size_fails_with_the_limits_error(client, team, plans, httpserver):
    httpserver.expect_request("/big.bin").respond_with_data(b"x" * 501)
    source = {"pub_key": team.project.public_key, "source_url": httpserver.url_for("/big.bin")}
    token = client.post("/from_url/", source).json()["token"]
    from_url_fetch(token=token)
    status = client.get("/from_url/status/", {"token": token}).json()
    assert status == {
        "status": "error",
        "error": "Account has reached its limits.",
        "error_code": "AccountLimitsExceededError",
    }
    assert not File.objects.exists()


def test_a_rest_copy_over_the_plans_storage_is_a_bad_request(client, team, plans):
    original = file_upload(project=team.project, content=ContentFile(b"x" * 400), filename="a.bin", store=True)
    add_file(team.project, 500)
    secret = team.project.secret_keys.get().secret
    response = client.post(
        "/api/files/local_copy/",
        {"source": str(original.uuid)},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Uploadcare.Simple {team.project.public_key}:{secret}",
        HTTP_ACCEPT=ACCEPT,
    )
    assert (response.status_code, response.json()) == (400, {"detail": "Account has reached its limits."})
    assert File.objects.count() == 2


def test_a_batch_whose_files_fit_the_storage_alone_but_not_together_never_goes_past_it(team, plans):
    """The Free plan here stores 1,000 bytes: with 500 used, each 300-byte file fits on its own,
    and the second is refused once the first is written."""
    add_file(team.project, 500)
    uploads = [ContentFile(b"x" * 300, name="a.bin"), ContentFile(b"y" * 300, name="b.bin")]
    with pytest.raises(QuotaExceeded):
        file_upload_batch(project=team.project, uploads=uploads, store=True)
    assert sum(File.objects.filter(project=team.project).values_list("size", flat=True)) <= 1000
    assert not File.objects.filter(original_filename="b.bin").exists()


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_dashboard_says_which_limit_when_the_quota_runs_out_after_the_forms_check(
    login, team, plans, monkeypatch, accept
):
    # Another upload took the last of the storage between the form's check and the upload itself.
    monkeypatch.setattr(UploadForm, "clean_files", lambda form: form.cleaned_data["files"])
    add_file(team.project, 900)
    response = login(team.member).post(
        reverse("files:upload", args=[team.project.pk]),
        {"files": SimpleUploadedFile("late.bin", b"x" * 200)},
        HTTP_ACCEPT=accept,
        follow=True,
    )
    # The page the form is on after a redirect; the uploader's own requests (JSON) get a 400.
    assert response.status_code == (400 if accept == "application/json" else 200)
    assert "Account has reached its limits. The Free plan" in response.content.decode()
    assert not File.objects.filter(original_filename="late.bin").exists()


@pytest.mark.parametrize("with_length", [True, False])
def test_a_download_over_the_plans_file_size_stops_early(client, team, plans, httpserver, with_length):
    """The plan allows 500 bytes: a 64 MiB body is never read to its end, announced or not."""
    sent = []

    def body():
        for _ in range(256):
            sent.append(1)
            yield b"x" * (256 * 1024)

    headers = {"Content-Length": str(256 * 256 * 1024)} if with_length else {}
    httpserver.expect_request("/huge.bin").respond_with_response(Response(body(), headers=headers))
    source = {"pub_key": team.project.public_key, "source_url": httpserver.url_for("/huge.bin")}
    token = client.post("/from_url/", source).json()["token"]
    from_url_fetch(token=token)
    status = client.get("/from_url/status/", {"token": token}).json()
    assert status["error_code"] == "AccountLimitsExceededError"
    assert len(sent) < 64  # what the sockets buffer before the fetch hangs up, not the 256 chunks
    assert not File.objects.exists()


def start_multipart(client, project, size: int):
    return client.post(
        "/upload/multipart/start/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "filename": "big.bin", "size": size, "content_type": "x/y"},
    )


def test_open_multipart_uploads_hold_their_declared_size_until_they_finish_or_expire(client, team, plans, settings):
    plans.free.max_file_size = 1000
    plans.free.save()
    settings.FILEDOCK_MULTIPART_PART_SIZE = 400
    first = start_multipart(client, team.project, 600)
    assert first.status_code == 200
    refused = start_multipart(client, team.project, 500)  # 600 held + 500 > the plan's 1000 bytes
    assert refused.status_code == 403 and refused.content == b"Account has reached its limits."
    assert start_multipart(client, team.project, 400).status_code == 200  # 600 + 400 fits exactly
    for url, length in zip(first.json()["parts"], (400, 200), strict=True):
        put = client.put(url.removeprefix("http://testserver"), b"x" * length, content_type="application/octet-stream")
        assert put.status_code == 200, put.content
    completed = client.post(
        "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": team.project.public_key, "uuid": first.json()["uuid"]}
    )
    assert completed.status_code == 200, completed.content  # its own hold does not count against it
    settings.FILEDOCK_MULTIPART_LIFETIME = 0  # the other one expires: its hold is gone
    assert start_multipart(client, team.project, 400).status_code == 200


def test_a_project_has_a_cap_on_open_multipart_uploads(client, team, settings):
    settings.FILEDOCK_MULTIPART_OPEN_MAX = 2
    assert [start_multipart(client, team.project, 10).status_code for _ in range(2)] == [200, 200]
    refused = start_multipart(client, team.project, 10)
    assert refused.status_code == 400 and b"already has 2 unfinished multipart uploads" in refused.content


@pytest.mark.parametrize(
    ("server_limit", "project_limit", "shown", "whose"),
    [
        (None, None, "500\xa0bytes", "your plan"),
        (None, 300, "300\xa0bytes", "this project"),
        (200, 300, "200\xa0bytes", "the server"),
    ],
)
def test_the_files_page_shows_the_limit_that_applies_and_names_whose_it_is(
    login, team, plans, settings, server_limit, project_limit, shown, whose
):
    if server_limit:
        settings.FILEDOCK_MAX_FILE_SIZE = server_limit
    team.project.max_file_size = project_limit
    team.project.save()
    client = login(team.member)
    page = client.get(reverse("files:list", args=[team.project.pk])).content.decode()
    assert f"Up to {shown} each (set by {whose})" in page
    refused = client.post(
        reverse("files:upload", args=[team.project.pk]),
        {"files": SimpleUploadedFile("big.bin", b"x" * 501)},
        follow=True,
    )
    assert f"files larger than {shown} are not accepted (a limit set by {whose})" in refused.content.decode()
