"""Fixtures of the webhook tests (test_webhook_*): the outbox relaying to webhook deliveries only
(the checking receiver is tests/conftest.py's, shared with the conformance tests)."""

import pytest


@pytest.fixture
def webhooks_only(settings):
    """The outbox relays to webhook deliveries only (no backup jobs)."""
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["projects.webhooks.outbox.deliveries_for_events"]
