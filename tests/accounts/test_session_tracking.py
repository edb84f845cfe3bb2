"""The sessions list's "last seen" is written at most once a minute per session, not per page view."""

from datetime import timedelta

from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts import middleware
from tests.factories import UserFactory
from tests.helpers import log_in


def _age_the_session(user) -> None:
    UserSession.objects.filter(user=user).update(last_seen_at=timezone.now() - timedelta(hours=1))


def test_page_views_within_a_minute_write_the_session_once(client, db):
    user = UserFactory()
    log_in(client, user)
    client.get(reverse("projects:list"))  # the first tracked view of this session
    _age_the_session(user)

    client.get(reverse("projects:list"))
    session = UserSession.objects.get(user=user)
    assert timezone.now() - session.last_seen_at > timedelta(minutes=59), "tracked again within the minute"

    cache.clear()  # the minute has passed, for the cache and for this process
    middleware._asked.clear()
    client.get(reverse("projects:list"))
    session.refresh_from_db()
    assert timezone.now() - session.last_seen_at < timedelta(minutes=1)


def test_a_process_asks_the_cache_once_a_minute_per_session_not_per_page(client, db, production_cache, monkeypatch):
    user = UserFactory()
    log_in(client, user)
    asked = []
    add = production_cache.add
    monkeypatch.setattr(production_cache, "add", lambda key, *a, **kw: asked.append(key) or add(key, *a, **kw))
    middleware._asked.clear()
    for _ in range(3):
        assert client.get(reverse("projects:list")).status_code == 200
    assert [key for key in asked if key.startswith("usersession-seen:")] == [
        f"usersession-seen:{client.session.session_key}"
    ]


def test_the_processes_memory_of_sessions_is_bounded(monkeypatch):
    monkeypatch.setattr(middleware, "ASKED_KEPT", 3)
    middleware._asked.clear()

    class Request:
        def __init__(self, key):
            self.session = type("Session", (), {"session_key": key})()

    for key in "abcdefg":
        middleware.UserSessionsMiddleware._due(Request(key))
    assert len(middleware._asked) <= 3
