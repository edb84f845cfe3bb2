"""Login, signup and password reset are rate-limited (allauth's limits, on the cache)."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_repeated_failed_logins_lock_the_address(client, db):
    user = UserFactory()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
        assert "Too many failed login attempts" not in response.content.decode()
    blocked = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_signup_is_limited_per_address(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    statuses = []
    for i in range(3):
        response = client.post(
            reverse("account_signup"),
            {"email": f"n{i}@example.com", "password1": "s3cure-passw0rd!", "password2": "s3cure-passw0rd!"},
        )
        statuses.append(response.status_code)
        client.logout()
    assert statuses[:2] == [302, 302] and statuses[2] == 429
    assert response["Retry-After"] == "60"


def test_healthz_checks_redis_when_configured(client, db, settings):
    assert client.get("/healthz").json()["checks"] == {"database": "ok", "redis": "ok"}
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["redis"].startswith("error")
