"""Backups in Chromium: connect a bucket (moto_server), test it, watch the backfill finish."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from files.models import FileBackup
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory, make_file
from tests.helpers import S3_KEY, S3_REGION, s3

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
@pytest.mark.celery_worker
def test_connect_a_backup_bucket_and_watch_the_backfill(page, live_server, moto_endpoint, celery_worker):
    bucket = f"browser-{uuid.uuid4().hex[:10]}"
    s3(moto_endpoint).create_bucket(Bucket=bucket)
    user = UserFactory(email="backups@example.com")
    project = project_create(owner=user, name="Archive")
    files = [make_file(project, f"report-{i}.txt", f"report {i}\n".encode() * 100) for i in range(12)]

    sign_in(page, user)
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    page.get_by_role("link", name="Storage & backups").click()
    expect(page.get_by_role("heading", name="Storage & backups")).to_be_visible()

    backups = page.locator("#backups")
    backups.get_by_label("Provider").select_option("custom")
    backups.get_by_label("Endpoint URL").fill(moto_endpoint)
    backups.get_by_label("Region").fill(S3_REGION)
    backups.get_by_label("Bucket").fill(bucket)
    backups.get_by_label("Access key").fill(S3_KEY)
    backups.get_by_label("Secret key").fill("testing")
    backups.get_by_label("Prefix").fill("archive/")
    backups.get_by_role("button", name="Test connection").click()
    expect(page.locator("#backups [data-test-result]")).to_contain_text("Connection works")

    page.locator("#backups").get_by_role("button", name="Connect backup bucket").click()
    expect(page.get_by_text(f"Backup bucket “{bucket}” connected.")).to_be_visible()
    # The progress region refreshes itself (poll.js + refresh.js) until the backfill is done.
    expect(page.locator("[data-backup-summary]")).to_contain_text("12 of 12", timeout=30_000)
    expect(page.locator("[data-backup-summary]")).to_contain_text("Up to date")
    expect(page.locator("#backup-progress[data-poll]")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "backups.png"), full_page=True)

    assert FileBackup.objects.filter(status="done").count() == 12
    for i, file in enumerate(files):
        key = f"archive/{file.uuid}/report-{i}.txt"
        assert s3(moto_endpoint).get_object(Bucket=bucket, Key=key)["Body"].read() == f"report {i}\n".encode() * 100

    page.goto(f"/projects/{project.pk}/files/{files[0].uuid}/")
    expect(page.locator("[data-backup-status]")).to_have_text("Backed up")
