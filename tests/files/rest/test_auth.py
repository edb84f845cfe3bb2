"""REST authentication, version negotiation and throttling, at the HTTP level."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from tests.helpers import ACCEPT, one_window


@pytest.fixture
def keys(team):
    return team.project.public_key, team.project.secret_keys.get().secret


def signed_headers(public, secret, method, uri, body=b"", content_type="application/json", date=None):
    date = date or datetime.now(UTC).strftime("%a, %d %b %Y, %H:%M:%S GMT")
    message = "\n".join([method, hashlib.md5(body).hexdigest(), content_type, date, uri])
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()
    return {"HTTP_AUTHORIZATION": f"Uploadcare {public}:{signature}", "HTTP_DATE": date, "HTTP_ACCEPT": ACCEPT}


def test_simple_scheme(client, keys):
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {keys[0]}:{keys[1]}", HTTP_ACCEPT=ACCEPT
    )
    assert response.status_code == 200 and response.json()["pub_key"] == keys[0]
    assert response["Content-Type"] == ACCEPT


def test_signed_scheme_includes_the_query_and_accepts_rfc_dates(client, keys):
    uri = "/api/project/?unknown=1"
    headers = signed_headers(*keys, "GET", uri, content_type="application/json")
    assert client.get(uri, CONTENT_TYPE="application/json", **headers).status_code == 200
    rfc = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = signed_headers(*keys, "GET", uri, content_type="application/json", date=rfc)
    assert client.get(uri, CONTENT_TYPE="application/json", **headers).status_code == 200


def test_signature_over_another_uri_fails(client, keys):
    headers = signed_headers(*keys, "GET", "/api/files/")
    response = client.get("/api/project/", CONTENT_TYPE="application/json", **headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect authentication credentials."}


def test_stale_date_fails(client, keys):
    old = (datetime.now(UTC) - timedelta(minutes=16)).strftime("%a, %d %b %Y, %H:%M:%S GMT")
    headers = signed_headers(*keys, "GET", "/api/project/", date=old)
    response = client.get("/api/project/", CONTENT_TYPE="application/json", **headers)
    assert response.status_code == 401 and "15 minutes" in response.json()["detail"]


@pytest.mark.parametrize("authorization", ["", "Basic abc", "Uploadcare.Simple nocolon", "Uploadcare.Simple a:b"])
def test_bad_credentials_are_401(client, keys, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/api/project/", HTTP_ACCEPT=ACCEPT, **extra)
    assert response.status_code == 401 and "detail" in response.json()
    assert response["WWW-Authenticate"]


def test_another_projects_secret_fails(client, team, keys):
    other = team.outsider.memberships.get().project.secret_keys.get().secret
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {keys[0]}:{other}", HTTP_ACCEPT=ACCEPT
    )
    assert response.status_code == 401


@pytest.mark.parametrize("accept", ["", "application/json", "application/vnd.uploadcare-v0.5+json"])
def test_missing_version_header_is_406(client, keys, accept):
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {keys[0]}:{keys[1]}", HTTP_ACCEPT=accept
    )
    assert response.status_code == 406
    assert ACCEPT in response.json()["detail"]


def test_throttled_with_retry_after(client, keys, settings):
    settings.FILEDOCK_API_RATE = "2/min"
    one_window()
    cache.clear()
    headers = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys[0]}:{keys[1]}", "HTTP_ACCEPT": ACCEPT}
    assert [client.get("/api/project/", **headers).status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/project/", **headers)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    cache.clear()


@pytest.mark.parametrize("credentials", ["{public}:s\u00e9cret", "{public}\x00:{secret}", "{public}:{secret}\x00"])
def test_non_ascii_or_nul_credentials_are_refused_not_a_server_error(client, keys, credentials):
    header = credentials.format(public=keys[0], secret=keys[1])
    for scheme in ("Uploadcare.Simple", "Uploadcare"):
        response = client.get(
            "/api/project/",
            HTTP_AUTHORIZATION=f"{scheme} {header}",
            HTTP_ACCEPT=ACCEPT,
            HTTP_DATE=datetime.now(UTC).strftime("%a, %d %b %Y, %H:%M:%S GMT"),
        )
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect authentication credentials."}


def test_failed_authentication_is_throttled_per_address(client, keys, settings):
    settings.FILEDOCK_RATE_AUTH_FAILED = "3/d"  # a day: no window rolls over mid-test
    cache.clear()
    wrong = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys[0]}:wrong", "HTTP_ACCEPT": ACCEPT}
    right = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys[0]}:{keys[1]}", "HTTP_ACCEPT": ACCEPT}
    assert [client.get("/api/project/", REMOTE_ADDR="203.0.113.7", **wrong).status_code for _ in range(3)] == [401] * 3
    # Over the limit, even the right key gets no answer that tells it apart from a wrong one.
    refused = client.get("/api/project/", REMOTE_ADDR="203.0.113.7", **right)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert client.get("/api/project/", REMOTE_ADDR="203.0.113.8", **right).status_code == 200
    # Successes are not counted.
    assert all(client.get("/api/project/", REMOTE_ADDR="203.0.113.9", **right).status_code == 200 for _ in range(5))


# A key that stops working stops at once, even in a process that has just authenticated with it
# many times (whatever it remembers of keys between requests).


def _both_schemes(keys, uri="/api/files/"):
    simple = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys[0]}:{keys[1]}", "HTTP_ACCEPT": ACCEPT}
    return simple, signed_headers(*keys, "GET", uri)


def _warm(client, keys, uri="/api/files/"):
    for _ in range(3):
        for headers in _both_schemes(keys, uri):
            assert client.get(uri, CONTENT_TYPE="application/json", **headers).status_code == 200


def test_a_revoked_key_fails_on_the_very_next_request(client, team, keys):
    from projects.services import secret_key_revoke

    _warm(client, keys)
    secret_key_revoke(key=team.project.secret_keys.get())
    for headers in _both_schemes(keys):
        response = client.get("/api/files/", CONTENT_TYPE="application/json", **headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect authentication credentials."}


def test_a_key_past_its_expiry_or_of_a_deleted_project_fails_at_once(client, team, keys):
    from django.utils import timezone

    from projects.services import project_delete

    _warm(client, keys)
    team.project.secret_keys.update(expires_at=timezone.now() - timedelta(seconds=1))
    for headers in _both_schemes(keys):
        assert client.get("/api/files/", CONTENT_TYPE="application/json", **headers).status_code == 401
    team.project.secret_keys.update(expires_at=None)
    _warm(client, keys)
    project_delete(project=team.project)
    for headers in _both_schemes(keys):
        assert client.get("/api/files/", CONTENT_TYPE="application/json", **headers).status_code == 401


def test_changed_scopes_apply_to_the_very_next_request(client, team, keys):
    _warm(client, keys)
    team.project.secret_keys.update(scopes=["webhooks"])
    for headers in _both_schemes(keys):
        response = client.get("/api/files/", CONTENT_TYPE="application/json", **headers)
        assert response.status_code == 403 and "files:read" in response.json()["detail"]
    team.project.secret_keys.update(scopes=["files:read"])
    for headers in _both_schemes(keys):
        assert client.get("/api/files/", CONTENT_TYPE="application/json", **headers).status_code == 200


def test_the_rate_is_per_project(client, team, keys, settings):
    from projects.services import secret_key_create

    settings.FILEDOCK_API_RATE = "2/min"

    one_window()
    cache.clear()
    mine = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys[0]}:{keys[1]}", "HTTP_ACCEPT": ACCEPT}
    assert [client.get("/api/files/", **mine).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/files/", **mine)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")
    other = team.outsider.memberships.get().project
    _, secret = secret_key_create(project=other, label="x")
    theirs = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {other.public_key}:{secret}", "HTTP_ACCEPT": ACCEPT}
    assert client.get("/api/files/", **theirs).status_code == 200
    cache.clear()
