"""API logs in Chromium: requests an app made show up on the project's page, filtered by a plain GET form."""

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.apilogs import api_log_drain
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.helpers import ACCEPT

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def rest_call(base: str, public_key: str, secret: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/project/",
        headers={"Accept": ACCEPT, "Authorization": f"Uploadcare.Simple {public_key}:{secret}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.browser
def test_admin_reads_and_filters_the_api_logs(page, live_server):
    user = UserFactory(email="logs@example.com")
    project = project_create(owner=user, name="Storefront")
    secret = project.secret_keys.get().secret
    assert rest_call(live_server.url, project.public_key, secret) == 200
    assert rest_call(live_server.url, project.public_key, "not-the-secret") == 401
    assert api_log_drain() == 2

    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/")
    page.locator("nav.sidebar").get_by_role("link", name="API logs").click()
    expect(page).to_have_url(re.compile(r"/logs/$"))
    table = page.get_by_test_id("api-logs")
    expect(table.locator("tbody tr")).to_have_count(2)

    page.get_by_label("Status").select_option("4xx")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=4xx"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Incorrect authentication credentials.")
    expect(table).not_to_contain_text("not-the-secret")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-logs.png"), full_page=True)

    table.locator("tbody tr a").first.click()
    expect(page.get_by_test_id("api-log-line")).to_contain_text("/api/project/")
    expect(page.get_by_test_id("api-log-line")).to_contain_text("401")
