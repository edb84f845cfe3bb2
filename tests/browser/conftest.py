import pytest

from tests.browser.pages import live_port


@pytest.fixture
def browser_context_args(browser_context_args, live_server):
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "viewport": {"width": 1360, "height": 1000},
        "accept_downloads": True,
    }


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
