"""The files page's own upload form in Chromium: a styled file picker, and a refused file's row that
keeps the list's layout, on a phone and on a laptop."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_picker_is_styled_and_a_refused_upload_keeps_its_row(page, live_server, tmp_path, width):
    user = UserFactory(email="rows@example.com")
    project = project_create(owner=user, name="Rows")
    project.max_file_size = 10
    project.save()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/files/")

    picker = page.locator("form[data-upload] input[type=file]")
    button = picker.evaluate(
        "input => { const s = getComputedStyle(input, '::file-selector-button');"
        " return {radius: s.borderTopLeftRadius, background: s.backgroundColor, border: s.borderTopColor}; }"
    )
    assert button == {"radius": "8px", "background": "rgb(255, 255, 255)", "border": "rgb(227, 230, 238)"}

    small, big = tmp_path / "ok.txt", tmp_path / "quarterly-report-with-a-rather-long-file-name-final.txt"
    small.write_bytes(b"fits")
    big.write_bytes(b"x" * 11)
    picker.set_input_files([str(small), str(big)])
    rows = page.locator("[data-upload-list] li")
    expect(rows.filter(has_text="ok.txt")).to_have_class("done")
    failed = rows.filter(has_text="quarterly-report")
    expect(failed).to_have_class("failed")
    expect(failed.locator(".upload-status")).to_contain_text("files larger than 10")
    page.screenshot(path=str(ARTIFACTS / f"upload-failed-row-{width}.png"), full_page=True)

    listing = page.locator("[data-upload-list]").bounding_box()
    for row in (rows.first, failed):
        box = row.bounding_box()
        assert box["x"] >= listing["x"] - 0.5 and box["x"] + box["width"] <= listing["x"] + listing["width"] + 0.5
    # The name and the bar stay side by side on the failed row, as on the others; the refusal wraps below.
    name, bar = failed.locator(".upload-name").bounding_box(), failed.locator("progress").bounding_box()
    status = failed.locator(".upload-status").bounding_box()
    assert abs((name["y"] + name["height"] / 2) - (bar["y"] + bar["height"] / 2)) < 6
    assert status["y"] >= name["y"] + name["height"] - 1
    assert bar["width"] > 40
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
