"""axe-core (from the npm registry, tests/conformance/js) finds no serious or critical accessibility
violation on the dashboard's main pages; the files browser and menus work from the keyboard."""

import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from files.services import file_upload
from projects.services import project_create
from projects.webhooks.services import webhook_create, webhook_secret_generate
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.helpers import png_bytes

AXE = Path(__file__).resolve().parents[1] / "conformance" / "js" / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")


def _violations(page) -> list[str]:
    """axe's serious and critical violations on the page, one line each with where they are."""
    results = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:5]}"
        for v in results["violations"]
        if v["impact"] in SEVERE
    ]


@pytest.fixture
def busy(db):
    owner = UserFactory(email="a11y@example.com")
    project = project_create(owner=owner, name="Accessible")
    photo = file_upload(
        project=project, content=ContentFile(png_bytes(640, 400), name="photo.png"), filename="photo.png", store=True
    )
    file_upload(project=project, content=ContentFile(b"a,b\n", name="orders.csv"), filename="orders.csv", store=False)
    webhook_create(
        project=project,
        target_url="https://example.com/hook",
        event="file.uploaded",
        signing_secret=webhook_secret_generate(),
    )
    return owner, project, photo


@pytest.mark.browser
def test_the_main_pages_have_no_serious_accessibility_violations(page, busy):
    owner, project, photo = busy
    # axe is in every page the browser opens from here on, as the browser's own script: it is not
    # sent over again for each page, nor refused by the dashboard's strict CSP.
    page.add_init_script(path=str(AXE))
    sign_in(page, owner)
    base = f"/projects/{project.pk}/"
    pages = [
        base,
        f"{base}files/?view=table",
        f"{base}files/?view=grid",
        f"{base}files/{photo.uuid}/?geometry=resize&width=200&format=webp",
        f"{base}keys/",
        f"{base}webhooks/",
        f"{base}settings/",
        f"{base}integrate/",
        f"{base}collaborators/",
        "/billing/",
        "/billing/plan/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
        "/account/audit/",
    ]
    found = {}
    for path in pages:
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        if violations := _violations(page):
            found[path] = violations
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


@pytest.mark.browser
def test_the_files_browser_and_menus_work_from_the_keyboard(page, busy):
    owner, project, photo = busy
    sign_in(page, owner)
    page.goto(f"/projects/{project.pk}/files/?view=grid")

    # Tab reaches the view switch, then the first tile's name; Enter opens the file.
    grid = page.get_by_role("link", name="Grid")
    grid.focus()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Table")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # :focus-visible draws a ring
    page.get_by_role("link", name="photo.png").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/files/{photo.uuid}/$"))

    # The account menu opens with Enter on its summary and its links are reachable with Tab.
    page.locator(".account-menu summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".account-menu")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Email address")).to_be_focused()
    page.keyboard.press("Escape")  # closes it and gives the focus back to its summary
    expect(page.locator(".account-menu")).not_to_have_attribute("open", "")
    expect(page.locator(".account-menu summary")).to_be_focused()
