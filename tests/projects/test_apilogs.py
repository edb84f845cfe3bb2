"""API logs: lines buffered in Redis by real requests, drained in batches, purged by age, and the
admin pages that read and export them."""

import csv
import io
import json
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.redisconn import redis_client, redis_key
from files.services import file_upload
from projects import apilogs
from projects.models import ApiLogLine
from tests.helpers import ACCEPT, wait_until

TABLE = ApiLogLine._meta.db_table


def pending() -> list[dict]:
    return [json.loads(raw) for raw in redis_client().lrange(redis_key(apilogs.PENDING, ""), 0, -1)]


def inserts_into_log(queries) -> list[str]:
    return [q["sql"] for q in queries if "INSERT" in q["sql"] and TABLE in q["sql"]]


def rest_get(client, project, path="/api/project/", secret=None, **extra):
    secret = secret or project.secret_keys.get().secret
    return client.get(
        path,
        HTTP_AUTHORIZATION=f"Uploadcare.Simple {project.public_key}:{secret}",
        HTTP_ACCEPT=ACCEPT,
        HTTP_USER_AGENT="pyuploadcare/6.0",
        **extra,
    )


def make_lines(project, count, **fields):
    """`count` rows a second apart, newest last, straight into the table (for the reading side)."""
    start = timezone.now() - timedelta(hours=1)
    values = {"api": "rest", "method": "GET", "path": "/api/files/", "status": 200, "duration_ms": 3} | fields
    rows = [
        ApiLogLine(id=uuid.uuid4(), project=project, created_at=start + timedelta(seconds=i), **values)
        for i in range(count)
    ]
    return ApiLogLine.objects.bulk_create(rows)


# Recording


def test_upload_api_request_is_buffered_without_a_database_write_then_drained(client, team):
    project = team.project
    upload = SimpleUploadedFile("hello.txt", b"hello", content_type="text/plain")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/upload/base/?signature=deadbeef&expire=1999999999",
            {"UPLOADCARE_PUB_KEY": project.public_key, "UPLOADCARE_STORE": "1", "file": upload},
            HTTP_USER_AGENT="UploadcareUploadClient/6",
        )
    assert response.status_code == 200
    assert inserts_into_log(queries) == []
    assert not ApiLogLine.objects.exists()
    [line] = pending()
    assert line["p"] == str(project.pk) and line["a"] == "upload"

    assert apilogs.api_log_drain() == 1
    row = ApiLogLine.objects.get()
    assert (row.project, row.api, row.method, row.status) == (project, "upload", "POST", 200)
    assert row.path == "/upload/base/?signature=***&expire=***"
    assert row.public_key == project.public_key and row.key_label == ""
    assert row.ip == "127.0.0.1" and row.user_agent == "UploadcareUploadClient/6"
    assert row.error == "" and row.duration_ms >= 0
    assert pending() == []


def test_upload_api_error_is_logged_with_its_message(client, team):
    response = client.get("/upload/info/", {"pub_key": team.project.public_key, "file_id": str(uuid.uuid4())})
    assert response.status_code == 404
    apilogs.api_log_drain()
    row = ApiLogLine.objects.get()
    assert row.status == 404 and row.error == response.content.decode().strip()
    assert row.path.startswith("/upload/info/?pub_key=")


def test_upload_api_json_error_answered_200_keeps_its_message(client, team):
    query = {"pub_key": team.project.public_key, "file_id": str(uuid.uuid4()), "jsonerrors": "1"}
    response = client.get("/upload/info/", query)
    assert response.status_code == 200
    apilogs.api_log_drain()
    assert ApiLogLine.objects.get().error == response.json()["error"]["content"] != ""


def test_multipart_part_is_logged_under_its_uploads_project(client, team):
    project = team.project
    started = client.post(
        "/upload/multipart/start/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "filename": "big.bin", "size": str(11 * 1024 * 1024)},
    ).json()
    part = f"/upload/multipart/part/{started['uuid']}/0/?token=forged"
    assert client.generic("PUT", part, b"x", content_type="application/octet-stream").status_code == 403
    apilogs.api_log_drain()
    row = ApiLogLine.objects.get(method="PUT")
    assert row.project == project and row.status == 403 and "bad or expired part URL" in row.error
    assert row.path == f"/upload/multipart/part/{started['uuid']}/0/?token=***"


def test_rest_request_keeps_the_key_label_never_the_secret(client, team):
    key = team.project.secret_keys.get()
    response = rest_get(client, team.project, "/api/files/?limit=5")
    assert response.status_code == 200
    assert key.secret not in json.dumps(pending())  # not even in Redis
    apilogs.api_log_drain()
    row = ApiLogLine.objects.get()
    assert (row.api, row.method, row.path, row.status) == ("rest", "GET", "/api/files/?limit=5", 200)
    assert (row.public_key, row.key_label, row.user_agent) == (team.project.public_key, key.label, "pyuploadcare/6.0")
    assert key.secret not in json.dumps(apilogs.api_log_record(row))


def test_failed_rest_authentication_is_logged_under_the_public_key(client, team):
    response = rest_get(client, team.project, secret="wrong-secret-value")
    assert response.status_code == 401
    assert "wrong-secret-value" not in json.dumps(pending())
    apilogs.api_log_drain()
    row = ApiLogLine.objects.get()
    assert row.project == team.project and row.status == 401 and row.key_label == ""
    assert row.error == "Incorrect authentication credentials."


def test_a_secret_sent_without_its_public_key_is_not_kept(client, team):
    secret = team.project.secret_keys.get().secret
    client.get("/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {secret}", HTTP_ACCEPT=ACCEPT)
    [line] = pending()
    assert secret not in json.dumps(line)


def test_cdn_errors_are_logged_and_successes_are_not(client, team):
    text = file_upload(project=team.project, content=ContentFile(b"hi", name="a.txt"), filename="a.txt", store=True)
    assert client.get(f"/cdn/{text.uuid}/").status_code == 200
    assert client.get(f"/cdn/{text.uuid}/-/preview/").status_code == 404  # not an image
    assert client.get(f"/cdn/{uuid.uuid4()}/").status_code == 404  # nobody's file: nobody's log
    assert len(pending()) == 2
    assert apilogs.api_log_drain() == 2
    row = ApiLogLine.objects.get()
    assert (row.project, row.api, row.status, row.error) == (team.project, "cdn", 404, "Not found.")
    assert row.path == f"/cdn/{text.uuid}/-/preview/"


def test_cdn_token_is_masked(client, team):
    text = file_upload(project=team.project, content=ContentFile(b"hi", name="a.txt"), filename="a.txt", store=True)
    client.get(f"/cdn/{text.uuid}/-/preview/", {"token": "exp=1~acl=/*~hmac=abc"})
    apilogs.api_log_drain()
    assert ApiLogLine.objects.get().path == f"/cdn/{text.uuid}/-/preview/?token=***"


def test_unknown_rest_path_is_logged_as_the_rest_apis_404(client, team):
    assert rest_get(client, team.project, "/api/nothing/here/").status_code == 404
    apilogs.api_log_drain()
    row = ApiLogLine.objects.get()
    assert (row.api, row.status, row.path, row.project) == ("rest", 404, "/api/nothing/here/", team.project)


def test_dashboard_requests_are_not_logged(client, team):
    client.force_login(team.owner)
    assert client.get(reverse("projects:overview", args=[team.project.pk])).status_code == 200
    assert pending() == []


def test_pending_lines_are_bounded_to_the_newest(client, team, settings):
    settings.FILEDOCK_API_LOG_PENDING_MAX = 3
    for index in range(5):
        client.get("/upload/info/", {"pub_key": f"nobody{index}"})
        assert len(pending()) == min(index + 1, 3)
    assert [line["u"] for line in pending()] == [f"/upload/info/?pub_key=nobody{index}" for index in (2, 3, 4)]


def test_logging_can_be_turned_off(team, settings):
    settings.FILEDOCK_API_LOG = False
    client = Client()  # its middleware chain is built on its first request, with the setting off
    assert rest_get(client, team.project).status_code == 200
    assert pending() == []


def test_without_redis_the_line_is_written_at_once(team, settings):
    settings.REDIS_URL = ""
    assert rest_get(Client(), team.project).status_code == 200
    assert ApiLogLine.objects.get().key_label == team.project.secret_keys.get().label


# Drain and purge


def test_a_batch_left_by_a_crash_is_drained_once(client, team):
    for _ in range(3):
        rest_get(client, team.project)
    client_ = redis_client()
    batch = redis_key(apilogs.DRAINING, "crashed")
    client_.rename(redis_key(apilogs.PENDING, ""), batch)
    # The crashed run had written the first line before dying.
    apilogs.api_log_write([json.loads(client_.lindex(batch, 0))])
    rest_get(client, team.project)  # a new line meanwhile

    assert apilogs.api_log_drain() == 4
    assert ApiLogLine.objects.count() == 4
    assert apilogs.api_log_drain() == 0
    assert ApiLogLine.objects.count() == 4
    assert list(client_.scan_iter(match=redis_key(apilogs.DRAINING, "*"))) == []


def test_drain_by_the_celery_worker(celery_worker, team):
    from projects.tasks import drain_api_logs

    assert rest_get(Client(), team.project).status_code == 200
    drain_api_logs.delay()
    assert wait_until(lambda: ApiLogLine.objects.filter(project=team.project).exists())


def test_lines_of_unknown_or_deleted_projects_are_dropped(client, team):
    from projects.services import project_delete

    rest_get(client, team.project)
    project_delete(project=team.project)
    assert apilogs.api_log_drain() == 1
    assert not ApiLogLine.objects.exists()


def test_purge_deletes_lines_past_the_retention_only(team, settings):
    settings.FILEDOCK_API_LOG_DAYS = 7
    old = make_lines(team.project, 3)
    ApiLogLine.objects.filter(pk__in=[r.pk for r in old]).update(created_at=timezone.now() - timedelta(days=8))
    recent = make_lines(team.project, 2)
    assert apilogs.api_log_purge(batch=2) == 3
    assert set(ApiLogLine.objects.values_list("pk", flat=True)) == {r.pk for r in recent}


def test_drain_skips_lines_already_past_the_retention(team, settings):
    settings.FILEDOCK_API_LOG_DAYS = 1
    line = {"i": uuid.uuid4().hex, "t": time.time() - 2 * 86400, "a": "rest", "m": "GET", "u": "/", "s": 200, "d": 1}
    assert apilogs.api_log_write([line | {"p": str(team.project.pk)}]) == 0


# The page


@pytest.fixture
def admin_client(client, team):
    client.force_login(team.admin)
    return client


def test_page_lists_newest_first_with_a_detail_view(admin_client, team):
    first, second = make_lines(team.project, 2, error="boom", status=500, path="/api/files/?x=1")
    page = admin_client.get(reverse("projects:api_logs", args=[team.project.pk])).content.decode()
    assert page.index(str(second.pk)) < page.index(str(first.pk))
    detail = admin_client.get(reverse("projects:api_log_detail", args=[team.project.pk, first.pk]))
    assert detail.status_code == 200
    assert "/api/files/?x=1" in detail.content.decode() and "boom" in detail.content.decode()


def test_filters_by_status_class_method_api_and_time(admin_client, team):
    make_lines(team.project, 2, status=200)
    bad = make_lines(team.project, 1, status=404, method="POST", api="upload", path="/upload/base/")[0]
    make_lines(team.project, 1, status=503, api="cdn")
    url = reverse("projects:api_logs", args=[team.project.pk])

    def shown(**query):
        return list(admin_client.get(url, query).context["lines"])

    assert [line.pk for line in shown(status="4xx")] == [bad.pk]
    assert [line.pk for line in shown(method="POST")] == [bad.pk]
    assert [line.pk for line in shown(api="upload")] == [bad.pk]
    assert len(shown(status="2xx")) == 2 and len(shown(status="5xx", api="cdn")) == 1
    since = (bad.created_at + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert shown(since=since) == []
    assert f'value="{since}"' in admin_client.get(url, {"since": since}).content.decode()  # as the input shows it
    assert len(shown(until=since)) == 4
    assert len(shown(status="bogus")) == 4  # a bad value is ignored


def test_keyset_pages_cover_every_line_once(admin_client, team):
    rows = make_lines(team.project, apilogs.PAGE_SIZE + 7)
    url = reverse("projects:api_logs", args=[team.project.pk])
    first = admin_client.get(url)
    second = admin_client.get(url, {"before": first.context["next_cursor"]})
    seen = [line.pk for line in first.context["lines"]] + [line.pk for line in second.context["lines"]]
    assert seen == [row.pk for row in reversed(rows)]
    assert second.context["next_cursor"] is None
    assert f"before={first.context['next_cursor']}" in first.content.decode()


def test_another_projects_line_is_not_found(admin_client, team):
    foreign = make_lines(team.outsider.memberships.get().project, 1)[0]
    response = admin_client.get(reverse("projects:api_log_detail", args=[team.project.pk, foreign.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("member", 403), ("viewer", 403)])
def test_only_admins_see_the_logs(client, team, persona, status):
    line = make_lines(team.project, 1)[0]
    client.force_login(team.user(persona))
    for url in (
        reverse("projects:api_logs", args=[team.project.pk]),
        reverse("projects:api_log_detail", args=[team.project.pk, line.pk]),
        reverse("projects:api_logs_export_csv", args=[team.project.pk]),
    ):
        assert client.get(url).status_code == status


def test_sidebar_links_the_logs_for_admins_only(client, team):
    url = reverse("projects:api_logs", args=[team.project.pk])
    client.force_login(team.admin)
    assert url in client.get(reverse("projects:overview", args=[team.project.pk])).content.decode()
    client.force_login(team.member)
    assert url not in client.get(reverse("projects:overview", args=[team.project.pk])).content.decode()


# Exports


def streamed(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_holds_every_filtered_line(admin_client, team):
    make_lines(team.project, 3, status=200)
    errors = make_lines(team.project, 1005, status=404, error="=HYPERLINK(x)")  # more than one batch
    response = admin_client.get(
        reverse("projects:api_logs_export_csv", args=[team.project.pk]), {"status": "4xx", "before": "ignored"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [row["id"] for row in rows] == [str(line.pk) for line in reversed(errors)]
    assert {row["status"] for row in rows} == {"404"}
    assert rows[0]["error"] == "'=HYPERLINK(x)"  # not a formula in a spreadsheet


def test_jsonl_export_with_filters(admin_client, team):
    make_lines(team.project, 2, api="rest")
    uploads = make_lines(team.project, 2, api="upload", method="POST")
    response = admin_client.get(reverse("projects:api_logs_export_jsonl", args=[team.project.pk]), {"api": "upload"})
    records = [json.loads(line) for line in streamed(response).splitlines()]
    assert [r["id"] for r in records] == [str(line.pk) for line in reversed(uploads)]
    assert records[0]["method"] == "POST" and records[0]["created_at"] == uploads[1].created_at.isoformat()


def test_audit_exports_follow_the_filters(admin_client, team):
    from accounts.audit import audit_record
    from accounts.models import AuditEvent

    AuditEvent.objects.all().delete()  # the team's own set-up (its first key) is audited too
    audit_record(action=AuditEvent.Action.PROJECT_RENAMED, project=team.project, details={"to": "New"})
    audit_record(action=AuditEvent.Action.KEY_CREATED, project=team.project, details={"label": "ci"})
    audit_record(action=AuditEvent.Action.KEY_CREATED, project=team.outsider.memberships.get().project)
    query = {"action": "key.created"}
    text = streamed(admin_client.get(reverse("projects:audit_export_csv", args=[team.project.pk]), query))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["action"], json.loads(r["details"])) for r in rows] == [("key.created", {"label": "ci"})]
    text = streamed(admin_client.get(reverse("projects:audit_export_jsonl", args=[team.project.pk])))
    actions = [json.loads(line)["action"] for line in text.splitlines()]
    assert actions == ["key.created", "project.renamed"]  # newest first, this project's only
    page = admin_client.get(reverse("projects:audit", args=[team.project.pk]), query).content.decode()
    assert reverse("projects:audit_export_csv", args=[team.project.pk]) + "?action=key.created" in page
