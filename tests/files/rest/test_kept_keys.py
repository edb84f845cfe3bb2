"""A REST call's key rows, kept per process under the shared cache's token (core.kept): read
once, then used again until the project or its keys change, in this process or another."""

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import kept
from projects import services
from tests.factories import UserFactory
from tests.helpers import ACCEPT


def _headers(scheme: str, public: str, secret: str, uri: str) -> dict:
    if scheme == "simple":
        return {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {public}:{secret}", "HTTP_ACCEPT": ACCEPT}
    date = datetime.now(UTC).strftime("%a, %d %b %Y, %H:%M:%S GMT")
    message = "\n".join(["GET", hashlib.md5(b"").hexdigest(), "", date, uri])
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()
    return {"HTTP_AUTHORIZATION": f"Uploadcare {public}:{signature}", "HTTP_DATE": date, "HTTP_ACCEPT": ACCEPT}


pytestmark = pytest.mark.usefixtures("production_cache")


@pytest.fixture
def call(client, team):
    project = team.project
    default = project.secret_keys.get().secret

    def get(secret=None, *, scheme="simple", uri="/api/project/"):
        return client.get(uri, **_headers(scheme, project.public_key, secret or default, uri))

    return get


def _key_reads(queries) -> int:
    """The key lookup's SELECTs (projects.services._active_keys_query) among `queries`."""
    return sum('FROM "projects_secretkey" k JOIN' in query["sql"] for query in queries)


def _warm(call, **kwargs) -> None:
    """The first call starts the token, the second reads the rows under it and keeps them."""
    assert [call(**kwargs).status_code for _ in range(2)] == [200, 200]


@pytest.mark.parametrize("scheme", ["simple", "signed"])
def test_once_kept_a_call_reads_no_key_rows(call, scheme):
    with CaptureQueriesContext(connection) as first:
        assert call(scheme=scheme).status_code == 200
    assert _key_reads(first.captured_queries) == 1
    _warm(call, scheme=scheme)
    with CaptureQueriesContext(connection) as later:
        assert call(scheme=scheme).status_code == 200
    assert _key_reads(later.captured_queries) == 0


@pytest.mark.parametrize("scheme", ["simple", "signed"])
def test_a_revoked_key_fails_on_the_next_call_though_its_rows_were_kept(call, team, scheme):
    _warm(call, scheme=scheme)
    services.secret_key_revoke(key=team.project.secret_keys.get())
    assert call(scheme=scheme).status_code == 401


def test_a_wrong_secret_fails_against_kept_rows(call):
    _warm(call)
    assert call("0" * 40).status_code == 401


def test_a_new_key_works_at_once(call, team):
    _warm(call)
    _, secret = services.secret_key_create(project=team.project, label="New")
    assert call(secret).status_code == 200


def test_a_deleted_project_fails_at_once(call, team):
    _warm(call)
    services.project_delete(project=team.project)
    assert call().status_code == 401


def test_a_renamed_project_shows_at_once(call, team):
    _warm(call)
    services.project_rename(project=team.project, name="Renamed")
    assert call().json()["name"] == "Renamed"


def test_a_project_changed_in_the_admin_shows_at_once(call, team):
    _warm(call)
    staff = Client()
    staff.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    url = reverse("admin:projects_project_change", args=[team.project.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data |= {"name": "Edited by staff", "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}
    assert staff.post(url, data).status_code == 302
    assert call().json()["name"] == "Edited by staff"


def _staff() -> Client:
    staff = Client()
    staff.force_login(UserFactory(email="keys-root@example.com", is_staff=True, is_superuser=True))
    return staff


def test_a_key_deleted_in_the_admin_fails_at_once(call, team):
    _, secret = services.secret_key_create(project=team.project, label="Doomed")
    _warm(call, secret=secret)
    doomed = team.project.secret_keys.get(label="Doomed")
    url = reverse("admin:projects_secretkey_delete", args=[doomed.pk])
    assert _staff().post(url, {"post": "yes"}).status_code == 302
    assert call(secret).status_code == 401
    assert call().status_code == 200


def test_keys_deleted_by_the_admin_action_fail_at_once(call, team):
    _, secret = services.secret_key_create(project=team.project, label="Doomed")
    _warm(call, secret=secret)
    doomed = team.project.secret_keys.get(label="Doomed")
    changelist = reverse("admin:projects_secretkey_changelist")
    response = _staff().post(changelist, {"action": "delete_selected", "_selected_action": [doomed.pk], "post": "yes"})
    assert response.status_code == 302 and not team.project.secret_keys.filter(label="Doomed").exists()
    assert call(secret).status_code == 401


def test_a_key_that_expires_while_its_rows_are_kept_fails(call, team):
    _, secret = services.secret_key_create(
        project=team.project, label="Brief", expires_at=datetime.now(UTC) + timedelta(seconds=1.5)
    )
    _warm(call, secret=secret)
    time.sleep(1.6)
    assert call(secret).status_code == 401
    assert call().status_code == 200  # the project's other key still works


def test_a_token_replaced_by_another_process_makes_this_one_read_again(call, team):
    _warm(call)
    caches["default"].set(kept.token_key(team.project.public_key), "replaced elsewhere", timeout=None)
    with CaptureQueriesContext(connection) as queries:
        assert call().status_code == 200
    assert _key_reads(queries.captured_queries) == 1


def test_kept_rows_age_out(call, monkeypatch):
    _warm(call)
    monkeypatch.setattr(kept, "SECONDS", 0)
    with CaptureQueriesContext(connection) as queries:
        assert call().status_code == 200
    assert _key_reads(queries.captured_queries) == 1


def test_a_change_replaces_the_token_again_once_it_commits(team, django_capture_on_commit_callbacks):
    """A call between the change and its commit reads the rows as they were, under the first new
    token: the second replacement, after the commit, is what makes the next call read them again."""
    token_key = kept.token_key(team.project.public_key)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.secret_key_revoke(key=team.project.secret_keys.get())
        during = caches["default"].get(token_key)
    assert callbacks and during is not None and caches["default"].get(token_key) not in (None, during)


@pytest.mark.parametrize("public", ["x" * 300, "spaced key", "tab\tkey"])
def test_a_public_key_that_cannot_be_one_reads_no_token(client, db, public, recwarn):
    """A long or odd public key is refused as ever, without becoming a cache key (Django warns of
    keys over 250 characters or with spaces and control characters)."""
    headers = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {public}:secret", "HTTP_ACCEPT": ACCEPT}
    assert client.get("/api/project/", **headers).status_code == 401
    assert not [w for w in recwarn if "CacheKeyWarning" in type(w.message).__name__]


def test_a_token_lost_with_redis_is_started_again_and_rows_are_kept_again(call, team):
    caches["default"].delete(kept.token_key(team.project.public_key))  # as after Redis restarted empty
    _warm(call)  # the first call starts a token, the second keeps the rows under it
    assert caches["default"].get(kept.token_key(team.project.public_key)) is not None
    with CaptureQueriesContext(connection) as queries:
        assert call().status_code == 200
    assert _key_reads(queries.captured_queries) == 0
