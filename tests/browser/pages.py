"""What the browser tests do the way a person does it."""

import re
import urllib.parse

from playwright.sync_api import expect

from tests.factories import PASSWORD


def sign_in(page, user) -> None:
    """Logs in through the login page, as a person would, and waits for the dashboard."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/projects/"))


def live_port(live_server) -> int:
    return urllib.parse.urlsplit(live_server.url).port
