"""The files browser in Chromium: upload two files with progress bars, search, copy a URL, delete."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from files.models import File
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.helpers import png_bytes

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
def test_upload_search_copy_and_delete_files(page, live_server, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    user = UserFactory(email="files@example.com")
    project = project_create(owner=user, name="Photos")
    project.autostore_enabled = False  # new uploads stay temporary: the listing shows the time left
    project.save()

    sign_in(page, user)
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    page.get_by_role("link", name="Files", exact=True).click()
    expect(page.get_by_text("No files yet.")).to_be_visible()
    # upload.js marks the form once it listens; a file picked before that would only sit in the input.
    expect(page.locator("form[data-upload].js-upload")).to_have_count(1)

    page.set_input_files(
        "input[type=file]",
        [
            {"name": "alpha-report.txt", "mimeType": "text/plain", "buffer": b"alpha report\n" * 4000},
            {"name": "beta-photo.png", "mimeType": "image/png", "buffer": png_bytes(320, 200)},
        ],
    )
    expect(page.locator("[data-upload-list] li progress")).to_have_count(2)
    expect(page.locator("[data-upload-list] li.done")).to_have_count(2)
    rows = page.locator("#file-table tbody tr[data-file]")
    expect(rows).to_have_count(2)  # in the order the uploads finished: they run in parallel
    beta = rows.filter(has_text="beta-photo.png")
    expect(rows.filter(has_text="alpha-report.txt")).to_contain_text("temporary")
    expect(beta).to_contain_text("temporary")
    thumbnail = beta.locator("td.thumb img")
    expect(thumbnail).to_have_attribute("src", re.compile(r"/cdn/[0-9a-f-]{36}/-/preview/160x160/$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "files.png"), full_page=True)

    page.fill("input[name=q]", "ALPHA")
    page.press("input[name=q]", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("alpha-report.txt")

    alpha = File.objects.get(project=project, original_filename="alpha-report.txt")
    page.get_by_role("button", name="Copy CDN URL of alpha-report.txt").click()
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/cdn/{alpha.uuid}/"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete alpha-report.txt").click()
    expect(page.get_by_text("Deleted “alpha-report.txt”.")).to_be_visible()
    expect(rows).to_have_count(0)
    page.get_by_role("link", name="Reset").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("beta-photo.png")
    page.select_option("select[name=state]", "all")  # applies at once
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="alpha-report.txt")).to_contain_text("removed")
    alpha.refresh_from_db()
    assert alpha.is_removed

    page.get_by_role("link", name="beta-photo.png").click()
    expect(page.get_by_role("heading", name="beta-photo.png")).to_be_visible()
    expect(page.locator("#file-info")).to_contain_text('"original_filename": "beta-photo.png"')
    preview = page.get_by_role("img", name="Preview of beta-photo.png")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    page.screenshot(path=str(ARTIFACTS / "file-detail.png"), full_page=True)
