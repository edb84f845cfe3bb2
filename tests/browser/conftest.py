import re

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
