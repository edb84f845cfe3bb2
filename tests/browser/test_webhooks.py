"""Webhooks in Chromium: add an endpoint, copy its secret, send a test event, read the attempt in the log."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.models import Webhook, WebhookDelivery
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.projects.webhooks.receiver import Receiver

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
@pytest.mark.celery_worker
def test_create_endpoint_send_test_event_and_see_the_attempt(page, live_server, celery_worker, httpserver):
    receiver = Receiver(secret=None)
    httpserver.expect_request("/hooks/filedock", method="POST").respond_with_handler(receiver)
    user = UserFactory(email="hooks@example.com")
    project = project_create(owner=user, name="Storefront")

    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/")
    page.locator("nav.sidebar").get_by_role("link", name="Webhooks").click()
    expect(page).to_have_url(re.compile(r"/webhooks/$"))

    page.get_by_label("Target URL").fill(httpserver.url_for("/hooks/filedock"))
    page.get_by_label("Event").select_option("file.uploaded")
    page.get_by_role("button", name="Add endpoint").click()
    secret_box = page.get_by_test_id("new-webhook-secret")
    expect(secret_box).to_be_visible()
    webhook = Webhook.objects.get(project=project)
    expect(secret_box).to_contain_text(webhook.signing_secret)

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event queued")).to_be_visible()
    expect(page.get_by_test_id("new-webhook-secret")).to_have_count(0)  # shown once
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    # The worker delivers in the background; the log shows it on a later load. Wait for the delivery's
    # state, not only its attempt: the page reads the two with separate queries, so one load can fall
    # between the worker's commit and land with the attempt listed but the state read just before.
    for _ in range(30):
        if "succeeded" in page.get_by_test_id("delivery").first.inner_text() and page.get_by_test_id("attempt").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    attempt = page.get_by_test_id("attempt").first
    expect(attempt.get_by_test_id("attempt-status")).to_have_text("HTTP 200")
    attempt.locator("summary").click()
    expect(attempt).to_contain_text(f"webhook-id: {delivery.delivery_uuid}")
    expect(attempt).to_contain_text("X-Uc-Signature: v1=")
    expect(attempt).to_contain_text('"original_filename": "sample-photo.jpg"')
    expect(page.get_by_test_id("delivery").first).to_contain_text("succeeded")
    assert receiver.ids == [str(delivery.delivery_uuid)]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webhooks.png"), full_page=True)

    page.get_by_role("button", name="Redeliver").first.click()
    expect(page.get_by_text("Redelivery queued")).to_be_visible()
