"""core.sessions on the real Redis: a session is read from the cache, and ending one (signing out
other sessions, suspending the account) ends it for the very next request."""

import pytest
import redis
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import user_suspend
from core.sessions import SessionStore
from tests.factories import PASSWORD, UserFactory

PAGE = reverse("accounts:audit")


def _cache(location: str) -> dict:
    options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    return {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": location, "OPTIONS": options}}


@pytest.fixture
def on_redis(settings, db):
    settings.CACHES = _cache(settings.REDIS_URL)
    settings.SESSION_ENGINE = "core.sessions"
    yield settings
    settings.CACHES = _cache(settings.REDIS_URL)
    cache.delete_many([KEY_PREFIX + key for key in Session.objects.values_list("session_key", flat=True)])


def _signed_in(user, count: int) -> list[Client]:
    clients = [Client() for _ in range(count)]
    for client in clients:
        client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
        assert client.get(PAGE).status_code == 200  # read once: cached from here on
    return clients


def _session_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        client.get(PAGE)
    return [query["sql"] for query in queries if '"django_session"' in query["sql"]]


def test_a_signed_in_page_reads_its_session_from_the_cache(on_redis):
    (client,) = _signed_in(UserFactory(), 1)
    assert cache.get(KEY_PREFIX + client.session.session_key)["_auth_user_id"]
    assert _session_queries(client) == []


def test_signing_out_other_sessions_ends_them_for_their_next_request(on_redis):
    user = UserFactory()
    this, *others = _signed_in(user, 3)
    assert this.post(reverse("usersessions_list")).status_code == 302
    for other in others:
        response = other.get(PAGE)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert this.get(PAGE).status_code == 200


def test_a_suspended_account_is_signed_out_at_once(on_redis):
    user = UserFactory()
    clients = _signed_in(user, 2)
    user_suspend(user=user)
    assert all(client.get(PAGE).status_code == 302 for client in clients)
    assert not Session.objects.exists()


def test_signing_out_ends_the_session_in_the_cache_and_the_database(on_redis):
    (client,) = _signed_in(UserFactory(), 1)
    key = client.session.session_key
    client.post(reverse("account_logout"))
    assert cache.get(KEY_PREFIX + key) is None and not Session.objects.filter(session_key=key).exists()
    assert SessionStore(key).load() == {}


def test_while_redis_cannot_be_reached_a_session_is_not_ended_halfway(on_redis):
    """Ending a session that Redis still holds would leave a copy there for when it answers again:
    ending it fails instead (what "sign out other sessions" and a suspension call), and the session
    stays whole until it can be ended everywhere."""
    (client,) = _signed_in(UserFactory(), 1)
    key = client.session.session_key
    on_redis.CACHES = _cache("redis://127.0.0.1:1/0")  # nothing listens there
    with pytest.raises(redis.exceptions.ConnectionError):
        UserSession.objects.get(session_key=key).end()
    on_redis.CACHES = _cache(on_redis.REDIS_URL)
    assert Session.objects.filter(session_key=key).exists()  # not ended in the database behind the cache's back
    assert client.get(PAGE).status_code == 200
    UserSession.objects.get(session_key=key).end()  # once Redis answers, it is ended
    assert client.get(PAGE).status_code == 302
