"""Fixtures of the webhook tests (test_webhook_*): a checking receiver, and the outbox relaying
to webhook deliveries only."""

import pytest

from tests.projects.webhooks.receiver import Receiver


@pytest.fixture
def receiver(httpserver):
    handler = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    handler.url = httpserver.url_for("/hook")
    return handler


@pytest.fixture
def webhooks_only(settings):
    """The outbox relays to webhook deliveries only (no backup jobs)."""
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["projects.webhooks.outbox.deliveries_for_events"]
