"""The sessions list's "last seen" is written at most once a minute per session, not per page view."""

from datetime import timedelta

from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

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

    cache.clear()  # the minute has passed
    client.get(reverse("projects:list"))
    session.refresh_from_db()
    assert timezone.now() - session.last_seen_at < timedelta(minutes=1)
