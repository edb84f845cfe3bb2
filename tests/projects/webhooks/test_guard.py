"""The outbound guard on webhook deliveries: private targets refused, the checked address connected."""

import datetime
import socket
import ssl
import threading
from http.server import ThreadingHTTPServer

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.harness import PostHandler
from core import fetch
from core.fetch import address_allowed
from projects.models import WebhookAttempt, WebhookDelivery
from projects.webhooks.delivery import webhook_deliveries_attempt, webhook_delivery_attempt
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


def test_every_send_of_a_batch_is_resolved_and_checked_even_over_a_kept_connection(team, httpserver, monkeypatch):
    real = socket.getaddrinfo
    answers = {"hooks.customer.test": "127.0.0.1"}
    seen = []

    def resolve(host, *args, **kwargs):
        seen.append(host)
        return real(answers.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    webhook = subscribe(team.project, f"http://hooks.customer.test:{httpserver.port}/hook")
    for i in range(6):
        upload_and_relay(team.project, f"{i}.txt")
    ids = sorted(WebhookDelivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    assert webhook_deliveries_attempt(delivery_ids=ids[:3]) == dict.fromkeys(ids[:3], "succeeded")
    assert seen.count("hooks.customer.test") == 3  # once per send, not once per batch or connection

    # The name now points inside the network: the next batch, on the same kept client, is refused.
    answers["hooks.customer.test"] = "10.1.2.3"
    assert webhook_deliveries_attempt(delivery_ids=ids[3:]) == dict.fromkeys(ids[3:], "retry")
    assert seen.count("hooks.customer.test") == 6
    assert len(httpserver.log) == 3
    refused = WebhookAttempt.objects.filter(delivery_id__in=ids[3:])
    assert [a.error for a in refused] == ["Refused: Only public IPs are allowed."] * 3


def _certificate(name: str, issuer_key=None, issuer_name=None):
    """A key and an EC certificate for `name`, self-signed unless an issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer_key is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An HTTPS receiver on 127.0.0.1 with a certificate for hooks.customer.test from a test CA the
    guard's TLS context trusts; records the server name each connection asked for."""
    ca_key, ca = _certificate("Filedock test CA")
    key, cert = _certificate("hooks.customer.test", ca_key, ca.subject)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    client_context = ssl.create_default_context(cafile=certifi.where())
    client_context.load_verify_locations(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    monkeypatch.setattr(fetch, "tls_context", lambda: client_context)

    names = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_context.sni_callback = lambda sock, name, context: names.append(name)

    server = ThreadingHTTPServer(("127.0.0.1", 0), PostHandler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    aliases = {"hooks.customer.test": "127.0.0.1", "other.customer.test": "127.0.0.1"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(aliases.get(host, host), *a, **k))
    server.names = names
    yield server
    server.shutdown()
    server.server_close()


def test_a_tls_endpoint_is_verified_for_its_own_name_at_the_checked_address(team, tls_receiver):
    port = tls_receiver.server_port
    good = subscribe(team.project, f"https://hooks.customer.test:{port}/hook")
    wrong = subscribe(team.project, f"https://other.customer.test:{port}/hook")  # the certificate is not its
    upload_and_relay(team.project)
    assert webhook_delivery_attempt(delivery_id=only_delivery(good).pk) == "succeeded"
    assert webhook_delivery_attempt(delivery_id=only_delivery(wrong).pk) == "retry"
    assert only_delivery(wrong).attempt_log.get().error.startswith("Connection error")
    # The connection went to 127.0.0.1 and still asked for, and verified, each endpoint's own name.
    assert tls_receiver.names == ["hooks.customer.test", "other.customer.test"]


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
