"""Upload sources in Chromium: set up a Dropbox app (a typo first, the secret kept), edit it keeping the secret,
remove it."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.models import OAuthApp
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SECRET = "dbxsecret0123456wxyz"


@pytest.mark.browser
def test_set_up_edit_and_remove_a_dropbox_app(page, live_server):
    user = UserFactory(email="sources@example.com")
    project = project_create(owner=user, name="Storefront")
    csp_errors = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)

    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/")
    page.locator("nav.sidebar").get_by_role("link", name="Upload sources").click()
    expect(page).to_have_url(re.compile(r"/sources/$"))
    dropbox = page.get_by_test_id("source-dropbox")
    expect(dropbox.get_by_test_id("source-state")).to_have_text("not configured")

    # A typo: uppercase letters are not in any Dropbox app key.
    dropbox.get_by_role("link", name="Set up Dropbox").click()
    page.get_by_label("App key").fill("A1B2C3D4E5F6G7H")
    page.get_by_label("App secret").fill(SECRET)
    # The redirect URL: Filedock has none of its own; the uploader's sources address to copy instead.
    expect(page.get_by_test_id("oauth-redirect")).to_contain_text("Filedock has none of its own")
    page.get_by_role("button", name="Copy upload sources address").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("a Dropbox app key is 15 lowercase letters and digits")).to_be_visible()
    # Redirected back to the form: a reload shows the page, it does not post again.
    expect(page).to_have_url(re.compile(r"/sources/dropbox/$"))
    expect(page.get_by_label("App secret")).to_have_value(SECRET)  # kept: not to be pasted again
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "oauth-error-keeps-secret.png"), full_page=True)
    assert not OAuthApp.objects.exists()

    page.get_by_label("App key").fill("a1b2c3d4e5f6g7h")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Dropbox app saved.")).to_be_visible()
    dropbox = page.get_by_test_id("source-dropbox")
    expect(dropbox.get_by_test_id("source-state")).to_have_text("enabled")
    expect(dropbox).to_contain_text("a1b2c3d4e5f6g7h")
    expect(dropbox).to_contain_text("wxyz")
    expect(page.get_by_test_id("oauth-app-list")).not_to_contain_text(SECRET)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "oauth.png"), full_page=True)

    # Edit: turn it off and leave the secret blank; the stored secret stays.
    dropbox.get_by_role("link", name="Edit Dropbox").click()
    expect(page.get_by_label("App secret")).to_have_value("")
    expect(page.get_by_text("Leave blank to keep it")).to_be_visible()
    page.get_by_label("Enabled").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("source-dropbox").get_by_test_id("source-state")).to_have_text("disabled")
    app = OAuthApp.objects.get()
    assert (app.client_secret, app.enabled) == (SECRET, False)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("source-dropbox").get_by_role("button", name="Remove Dropbox").click()
    expect(page.get_by_text("Dropbox app removed.")).to_be_visible()
    expect(page.get_by_test_id("source-dropbox").get_by_test_id("source-state")).to_have_text("not configured")
    assert not OAuthApp.objects.exists()
    assert csp_errors == []
