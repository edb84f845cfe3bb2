import re
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD


@pytest.fixture
def browser_context_args(browser_context_args, live_server):
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "viewport": {"width": 1360, "height": 1000},
        "accept_downloads": True,
    }


def sign_in(page, user) -> None:
    """Logs in through the login page, as a person would, and waits for the dashboard."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/projects/"))


@pytest.fixture
def cdn_origin(live_server, settings) -> str:
    """The CDN on an origin of its own for this test: the live server's host, localhost (the
    page reaches the rest of Filedock as 127.0.0.1)."""
    origin = f"http://localhost:{live_port(live_server)}"
    settings.CDN_BASE = f"{origin}/"
    settings.CDN_ORIGIN = origin
    if "localhost" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    return origin


def live_port(live_server) -> int:
    return urllib.parse.urlsplit(live_server.url).port
