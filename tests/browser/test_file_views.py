"""The files browser's grid view and the transformation playground in Chromium, at laptop and phone
widths: the grid is remembered, the playground's URL and preview follow the options without a reload."""

import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from files.services import file_upload
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.helpers import png_bytes

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.browser
def test_grid_view_and_playground(page):
    owner = UserFactory(email="grid@example.com")
    project = project_create(owner=owner, name="Photos")
    for name in ("sunset-over-the-harbour-wide.png", "portrait.png"):
        file_upload(project=project, content=ContentFile(png_bytes(640, 400), name=name), filename=name, store=True)
    file_upload(project=project, content=ContentFile(b"a,b\n", name="orders.csv"), filename="orders.csv", store=True)
    photo = project.files.get(original_filename="portrait.png")
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, owner)
    page.goto(f"/projects/{project.pk}/files/")
    page.get_by_role("link", name="Grid").click()
    tiles = page.locator("[data-testid=file-grid] li[data-file]")
    expect(tiles).to_have_count(3)
    thumbnail = tiles.filter(has_text="portrait.png").locator("img")
    expect(thumbnail).to_have_attribute("loading", "lazy")
    page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=thumbnail.element_handle())
    expect(tiles.filter(has_text="orders.csv").locator(".file-icon")).to_have_text("CSV")
    page.screenshot(path=str(ARTIFACTS / "files-grid-1280.png"), full_page=True)

    page.goto(f"/projects/{project.pk}/files/")  # no ?view=: the grid was remembered
    expect(page.locator("[data-testid=file-grid]")).to_be_visible()
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert _overflow(page) == 0
    page.screenshot(path=str(ARTIFACTS / "files-grid-375.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/projects/{project.pk}/files/{photo.uuid}/")
    page.evaluate("window.notReloaded = true")
    page.select_option("#pg-geometry", "resize")
    page.fill("#pg-width", "120")
    page.select_option("#pg-format", "png")
    page.check("#pg-grayscale")
    url = page.locator("#playground-url")
    expect(url).to_have_text(re.compile(rf"/cdn/{photo.uuid}/-/resize/120x/-/grayscale/-/format/png/$"))
    preview = page.locator("[data-testid=playground-preview]")
    page.wait_for_function("img => img.complete && img.naturalWidth === 120", arg=preview.element_handle())
    assert page.evaluate("window.notReloaded") is True  # updated in place, not by loading the page
    expect(page).to_have_url(re.compile(r"geometry=resize&width=120"))
    copy = page.locator("#playground-result [data-copy]")
    expect(copy).to_have_attribute("data-copy", url.inner_text())
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar is drawn where the window was
    page.screenshot(path=str(ARTIFACTS / "playground-1280.png"), full_page=True)

    page.fill("#pg-width", "")
    expect(page.locator("#playground-result .form-errors")).to_contain_text("Give a width, a height or both.")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/projects/{project.pk}/files/{photo.uuid}/?geometry=scale_crop&width=200&height=200")
    preview.scroll_into_view_if_needed()  # a lazy image loads once it is near the window
    page.wait_for_function("img => img.complete && img.naturalWidth === 200", arg=preview.element_handle())
    assert _overflow(page) == 0
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar is drawn where the window was
    page.screenshot(path=str(ARTIFACTS / "playground-375.png"), full_page=True)
