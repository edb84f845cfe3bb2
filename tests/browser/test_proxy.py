"""Proxy settings in Chromium: a bad domain shows its error, a good one is listed, the endpoint is copied."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
def test_add_domains_see_errors_and_copy_the_endpoint(page, live_server, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    user = UserFactory(email="proxy@example.com")
    project = project_create(owner=user, name="Storefront")

    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/")
    page.locator("nav.sidebar").get_by_role("link", name="Proxy").click()
    expect(page).to_have_url(re.compile(r"/proxy/$"))
    expect(page.get_by_test_id("proxy-domains")).to_contain_text("No domains yet")

    page.get_by_label("Domain").fill("https://images.example.com/photos")
    page.get_by_role("button", name="Add domain").click()
    expect(page.locator(".field.has-error")).to_contain_text("without scheme or path")
    expect(page.get_by_test_id("proxy-domain")).to_have_count(0)

    page.get_by_label("Domain").fill("Images.Example.com")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text("images.example.com added")).to_be_visible()
    page.get_by_label("Domain").fill("*.cdn.example.net")
    page.get_by_role("button", name="Add domain").click()
    rows = page.get_by_test_id("proxy-domain")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("*.cdn.example.net")
    expect(rows.nth(1)).to_contain_text("images.example.com")

    page.get_by_role("button", name="Copy proxy endpoint").click()
    endpoint = f"{live_server.url}/proxy/{project.public_key}/"
    assert page.evaluate("navigator.clipboard.readText()") == endpoint
    expect(page.locator("#proxy-endpoint")).to_have_text(endpoint)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "proxy.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())  # confirm.js asks before removing
    page.get_by_role("button", name="Remove *.cdn.example.net").click()
    expect(page.get_by_text("*.cdn.example.net removed")).to_be_visible()
    expect(page.get_by_test_id("proxy-domain")).to_have_count(1)
