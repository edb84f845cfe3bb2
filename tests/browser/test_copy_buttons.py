"""Every code block of the dashboard has a Copy button that copies its text."""

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.pages import sign_in


def test_every_code_block_has_a_copy_button_that_copies_it(page, team, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, team.owner)
    page.goto(f"/projects/{team.project.pk}/")
    blocks = page.locator("pre")
    expect(blocks.first).to_be_visible()
    assert page.locator("button.copy-pre").count() == blocks.count() >= 2
    page.locator("button.copy-pre").first.click()
    expect(page.locator("button.copy-pre").first).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == blocks.first.text_content() and team.project.public_key in copied
    artifacts = Path(__file__).resolve().parent.parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    blocks.first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "copy-buttons.png"))


def test_a_copy_button_never_covers_the_code_on_a_phone(page, team):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, team.owner)
    page.goto(f"/projects/{team.project.pk}/")
    expect(page.locator("button.copy-pre").first).to_be_visible()
    overlaps = page.evaluate(
        """() => [...document.querySelectorAll("button.copy-pre")].filter(button => {
            const pre = button.nextElementSibling;
            const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            range.selectNodeContents(walker.nextNode());
            const line = range.getClientRects()[0], box = button.getBoundingClientRect();
            return line.top < box.bottom && box.top < line.bottom && line.left < box.right && box.left < line.right;
        }).map(button => button.nextElementSibling.textContent.split("\\n")[0])"""
    )
    assert overlaps == [], f"Copy buttons cover the first line of: {overlaps}"
