"""The client's address, as the audit log, the rate limits and the API log see it."""

from django.test import RequestFactory

from accounts.audit import client_ip


def test_each_request_has_its_own_address_however_often_it_is_asked(settings):
    factory = RequestFactory()
    first, second = factory.get("/", REMOTE_ADDR="198.51.100.1"), factory.get("/", REMOTE_ADDR="198.51.100.2")
    assert [client_ip(first), client_ip(second), client_ip(first), client_ip(second)] == [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.1",
        "198.51.100.2",
    ]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.9")
    assert client_ip(request) == client_ip(request) == "198.51.100.9"


def test_an_unreadable_address_is_none_every_time():
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-address")
    assert client_ip(request) is None and client_ip(request) is None
