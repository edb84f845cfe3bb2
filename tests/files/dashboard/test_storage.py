"""The Storage & backups page: test, connect, disconnect, progress; the file detail's backup state."""

import uuid

import pytest
from django.db import connection
from django.urls import reverse

from files.models import BucketConnection, FileBackup
from files.outbox import relay as outbox
from files.storage import backups
from files.storage import buckets as storage_targets
from tests.factories import make_bucket, make_file
from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, run_open_jobs, s3


@pytest.fixture
def bucket(moto_endpoint) -> str:
    name = f"views-{uuid.uuid4().hex[:12]}"
    s3(moto_endpoint).create_bucket(Bucket=name)
    return name


def form(endpoint, bucket, purpose="backup", **overrides) -> dict:
    return {
        "purpose": purpose,
        "provider": "custom",
        "endpoint_url": endpoint,
        "region": S3_REGION,
        "bucket": bucket,
        "access_key": S3_KEY,
        "secret_key": S3_SECRET,
        "prefix": "",
        **overrides,
    }


def url(name, project, *args):
    return reverse(f"files:storage:{name}", args=[project.pk, *args])


def test_admin_sees_the_page_and_the_sidebar_link(login, team):
    response = login(team.admin).get(url("index", team.project))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Storage &amp; backups" in html and "Test connection" in html
    assert f'href="{url("index", team.project)}" aria-current="page"' in html


@pytest.mark.parametrize(("persona", "status"), [("member", 403), ("viewer", 403), ("outsider", 404)])
def test_only_admins_may_connect_buckets(login, team, moto_endpoint, bucket, persona, status):
    response = login(team.user(persona)).post(url("connect", team.project), form(moto_endpoint, bucket))
    assert response.status_code == status
    assert not BucketConnection.objects.exists()


def test_test_connection_reports_success_and_saves_nothing(login, team, moto_endpoint, bucket):
    response = login(team.admin).post(
        url("test", team.project), form(moto_endpoint, bucket, prefix="probe/"), follow=True
    )
    assert response.redirect_chain == [(url("index", team.project), 302)]  # a reload does not test again
    assert "Connection works" in response.content.decode()
    assert not BucketConnection.objects.exists()
    assert "Contents" not in s3(moto_endpoint).list_objects_v2(Bucket=bucket)  # the probe was deleted


def test_test_connection_reports_a_failure_without_the_secret(login, team, moto_endpoint):
    secret = "do-not-show-this-secret"
    response = login(team.admin).post(
        url("test", team.project), form(moto_endpoint, "no-such-bucket", secret_key=secret), follow=True
    )
    assert response.status_code == 200
    result = response.context["backup_result"]
    assert not result.ok and "NoSuchBucket" in result.message and secret not in result.message


def test_test_connection_to_a_closed_port_is_an_answer_not_a_500(login, team):
    response = login(team.admin).post(url("test", team.project), form("http://127.0.0.1:9", "bucket"), follow=True)
    assert response.status_code == 200
    assert "Could not connect" in response.context["backup_result"].message


def test_private_endpoints_are_refused_unless_allowed(login, team, moto_endpoint, bucket, settings):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    response = login(team.admin).post(url("test", team.project), form(moto_endpoint, bucket), follow=True)
    assert "endpoint is refused" in response.context["backup_result"].message


def test_connect_saves_the_bucket_with_the_secret_encrypted(login, team, moto_endpoint, bucket):
    response = login(team.admin).post(url("connect", team.project), form(moto_endpoint, bucket, prefix="/fd"))
    assert response.status_code == 302
    target = BucketConnection.objects.get()
    assert (target.purpose, target.prefix, target.test_ok, target.secret_key) == ("backup", "fd/", True, S3_SECRET)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key FROM files_bucketconnection")
        assert S3_SECRET not in cursor.fetchone()[0]
    page = login(team.admin).get(url("index", team.project)).content.decode()
    assert f"Backup bucket “{bucket}” connected" in page and S3_SECRET not in page


def test_connect_refuses_a_bucket_that_fails_the_test(login, team, moto_endpoint):
    response = login(team.admin).post(url("connect", team.project), form(moto_endpoint, "missing-bucket"), follow=True)
    assert response.redirect_chain == [(url("index", team.project), 302)]
    assert "Not connected" in response.content.decode()
    assert not BucketConnection.objects.exists()


def test_one_bucket_per_purpose_at_a_time(login, team, moto_endpoint, bucket):
    make_bucket(team.project, moto_endpoint, bucket)
    response = login(team.admin).post(url("connect", team.project), form(moto_endpoint, bucket), follow=True)
    assert response.redirect_chain == [(url("index", team.project), 302)]
    assert BucketConnection.objects.count() == 1
    response = login(team.admin).post(url("connect", team.project), form(moto_endpoint, bucket, purpose="storage"))
    assert response.status_code == 302  # the custom storage is a separate slot


def test_custom_provider_needs_an_endpoint(login, team):
    response = login(team.admin).post(url("test", team.project), form("", "bucket"), follow=True)
    assert response.redirect_chain == [(url("index", team.project), 302)]
    assert "endpoint URL" in response.content.decode()


def test_presets_fill_in_endpoint_and_region():
    complete = storage_targets.bucket_settings_complete
    assert complete(provider="aws", endpoint_url="", region="eu-west-1") == (
        "https://s3.eu-west-1.amazonaws.com",
        "eu-west-1",
    )
    assert complete(provider="aws", endpoint_url="", region="") == ("https://s3.us-east-1.amazonaws.com", "us-east-1")
    assert complete(provider="selectel", endpoint_url="", region="") == ("https://s3.storage.selcloud.ru", "ru-1")
    assert complete(provider="custom", endpoint_url="https://x.example", region="") == ("https://x.example", "")


def test_disconnect_keeps_the_bucket_and_shows_it_in_history(login, team, moto_endpoint, bucket):
    target = make_bucket(team.project, moto_endpoint, bucket)
    response = login(team.admin).post(url("disconnect", team.project, target.pk))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.disconnected_at is not None
    page = login(team.admin).get(url("index", team.project)).content.decode()
    assert "Nothing in the bucket was deleted" in page and "Earlier buckets" in page


def test_retest_records_the_result(login, team, moto_endpoint, bucket):
    target = make_bucket(team.project, moto_endpoint, bucket)
    s3(moto_endpoint).delete_bucket(Bucket=bucket)
    login(team.admin).post(url("retest", team.project, target.pk))
    target.refresh_from_db()
    assert target.test_ok is False and "NoSuchBucket" in target.test_message


def test_a_foreign_connection_id_is_not_found(login, team, moto_endpoint, bucket):
    own_project = team.outsider.memberships.get().project
    foreign = make_bucket(team.project, moto_endpoint, bucket)
    response = login(team.outsider).post(url("disconnect", own_project, foreign.pk))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.disconnected_at is None


def test_progress_lag_and_failures_on_the_page(login, team, moto_endpoint, bucket, settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["files.storage.backups.jobs_for_events"]
    files = [make_file(team.project, f"{i}.txt") for i in range(3)]
    target = make_bucket(team.project, moto_endpoint, bucket)
    backups.backfill_run(target_id=target.pk)
    backups.backup_run(backup_id=FileBackup.objects.get(file=files[0]).pk)
    FileBackup.objects.filter(file=files[1]).update(status="failed", attempts=30, last_error="503: SlowDown")
    page = login(team.admin).get(url("index", team.project))
    html = page.content.decode()
    assert "1 of 3" in html and "33%" in html
    assert "503: SlowDown" in html and "Retry failed" in html
    assert page.context["progress"]["lag"] is not None and "data-poll" in html
    login(team.admin).post(url("retry", team.project, target.pk))
    run_open_jobs(target)
    html = login(team.admin).get(url("index", team.project)).content.decode()
    assert "3 of 3" in html and "Up to date" in html and "data-poll" not in html


def test_file_detail_shows_backup_state_error_and_where_bytes_live(login, team, moto_endpoint, bucket, settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["files.storage.backups.jobs_for_events"]
    storage = make_bucket(team.project, moto_endpoint, bucket, purpose="storage", prefix="own/")
    target = BucketConnection.objects.create(
        project=team.project,
        purpose="backup",
        endpoint_url="http://127.0.0.1:9",
        bucket="down",
        access_key="k",
        secret_key="s",
    )
    file = make_file(team.project, "kept.txt")
    outbox.outbox_relay()
    backups.backup_run(backup_id=FileBackup.objects.get(file=file, target=target).pk)
    html = login(team.viewer).get(reverse("files:detail", args=[team.project.pk, file.uuid])).content.decode()
    assert 'data-backup-status="pending"' in html and "Could not connect" in html
    assert "custom storage" in html and f"{bucket}/own/" in html
    assert storage.location in html
