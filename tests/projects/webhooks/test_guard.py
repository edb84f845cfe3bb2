"""The outbound guard on webhook deliveries: private targets refused, the checked address connected."""

import pytest

from core.fetch import address_allowed
from projects.models import WebhookAttempt
from projects.webhooks.delivery import webhook_delivery_attempt
from tests.projects.webhooks.receiver import only_delivery, subscribe, upload_and_relay

pytestmark = pytest.mark.usefixtures("webhooks_only")


# The outbound guard


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_private_targets_are_refused_before_connecting(team, httpserver, settings, host):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    httpserver.expect_request("/hook").respond_with_data("should not be reached")
    webhook = subscribe(team.project, f"http://{host}:{httpserver.port}/hook")
    upload_and_relay(team.project)
    assert webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk) == "retry"
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error == "Refused: Only public IPs are allowed."
    assert httpserver.log == []


def test_a_name_that_resolves_to_a_private_address_is_refused(team, httpserver, settings, monkeypatch):
    """The address checked is the address connected to, so a rebinding name cannot slip through."""
    import socket

    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]])
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: next(answers))
    webhook = subscribe(team.project, "http://rebind.example.com/hook")
    upload_and_relay(team.project)
    webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk)
    assert WebhookAttempt.objects.get().error == "Refused: Only public IPs are allowed."


def test_the_connection_goes_to_the_checked_address_with_the_original_host(team, httpserver, monkeypatch):
    import socket

    real = socket.getaddrinfo
    seen = []

    def resolve(host, *args, **kwargs):
        seen.append(host)
        if host == "hooks.customer.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    webhook = subscribe(team.project, f"http://hooks.customer.test:{httpserver.port}/hook")
    upload_and_relay(team.project)
    assert webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk) == "succeeded"
    assert seen.count("hooks.customer.test") == 1  # resolved once, by the guard; never again by the client
    request, _ = httpserver.log[0]
    assert request.headers["Host"] == f"hooks.customer.test:{httpserver.port}"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("198.18.0.1", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fd00::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("2002:c0a8:101::1", False),
    ],
)
def test_address_guard_refuses_non_public_ranges(settings, address, allowed):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    assert address_allowed(address) is allowed


def test_operator_allowed_networks_open_exactly_those(settings):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    assert address_allowed("127.0.0.1") and address_allowed("::1") and address_allowed("::ffff:127.0.0.1")
    assert not address_allowed("10.0.0.1") and not address_allowed("fd00::1")
