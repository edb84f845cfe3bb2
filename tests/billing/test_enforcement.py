"""Plan quotas enforced where uploads and API calls come in, and usage counted there."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import UsageDay
from files.models import File

ACCEPT = "application/vnd.uploadcare-v0.7+json"


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
    )
    assert "Account has reached its limits. Files larger than 500" in response.content.decode()


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
