"""Scoped secret keys: every REST operation × every scope. A key with the scope an operation needs
gets past the check; any other key gets 403 in the API's error shape, naming the scope."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from files.services import file_upload
from files.uploads.groups import group_create
from projects.models import Scope, all_scopes
from tests.factories import make_key
from tests.helpers import ACCEPT

METHODS = ("get", "post", "put", "patch", "delete")


def _operations():
    """(route, method, view class) for every REST endpoint under the api namespace."""
    resolver = next(
        entry for entry in get_resolver().url_patterns if isinstance(entry, URLResolver) and entry.namespace == "api"
    )
    for entry in resolver.url_patterns:
        view = getattr(entry.callback, "cls", None) if isinstance(entry, URLPattern) else None
        if view is None or not hasattr(view, "required_scope"):
            continue  # the schema and docs pages need no key
        for method in METHODS:
            if hasattr(view, method):
                yield entry, method.upper(), view


OPERATIONS = sorted(_operations(), key=lambda item: (str(item[0].pattern), item[1]))


def _kwargs(pattern, project, file, group):
    values = {
        "file_id": str(file.uuid),
        "key": "colour",
        "group_id": group.id,
        "webhook_id": "1",
        "addon": "uc_clamav_virus_scan",
        "token": "1",
        "uuid": str(file.uuid),
    }
    for name in pattern.pattern.converters:
        assert name in values, f"the scope test does not know how to fill <{name}>; add it to _kwargs"
    return {name: values[name] for name in pattern.pattern.converters}


@pytest.fixture
def keyed(team):
    file = file_upload(project=team.project, content=ContentFile(b"x", name="a.txt"), filename="a.txt", store=False)
    group = group_create(project=team.project, refs=[str(file.uuid)])
    keys = {scope: make_key(team.project, label=scope, scopes=[scope])[1] for scope in all_scopes()}
    return team.project, file, group, keys


def test_every_operation_declares_the_scope_it_needs():
    assert OPERATIONS, "no REST operations found"
    for pattern, method, view in OPERATIONS:
        assert view().required_scope(method) in all_scopes(), (pattern.pattern, method)


@pytest.mark.parametrize(
    ("pattern", "method", "view"), OPERATIONS, ids=[f"{method} {p.pattern}" for p, method, _ in OPERATIONS]
)
def test_each_scope_opens_only_its_operations(client, keyed, pattern, method, view):
    project, file, group, keys = keyed
    path = "/api/" + str(pattern.pattern).lstrip("^")
    for name, value in _kwargs(pattern, project, file, group).items():
        path = path.replace(f"<str:{name}>", value).replace(f"<int:{name}>", value).replace(f"<uuid:{name}>", value)
    needed = view().required_scope(method)
    for scope, secret in keys.items():
        response = client.generic(
            method,
            path,
            data="{}",
            content_type="application/json",
            HTTP_ACCEPT=ACCEPT,
            HTTP_AUTHORIZATION=f"Uploadcare.Simple {project.public_key}:{secret}",
        )
        refused = response.status_code == 403 and "scope" in response.json().get("detail", "")
        if scope == needed:
            assert not refused, (scope, method, path, response.content)
        else:
            assert refused, (scope, method, path, response.status_code)
            assert Scope(needed).label in response.json()["detail"]


def test_keys_made_before_scopes_may_do_everything(team):
    key = team.project.secret_keys.get()  # the project's first key
    assert key.scopes == all_scopes()
    assert key.scope_labels == ["everything"]


def test_an_expired_key_is_refused_and_shown_as_expired(client, login, team):
    key, secret = make_key(team.project, label="old", expires_at=timezone.now() + timedelta(days=1))
    headers = {"HTTP_ACCEPT": ACCEPT, "HTTP_AUTHORIZATION": f"Uploadcare.Simple {team.project.public_key}:{secret}"}
    assert client.get("/api/files/", **headers).status_code == 200
    type(key).objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/files/", **headers)
    assert refused.status_code == 401  # as a wrong secret, in Uploadcare's shape
    assert refused.json() == {"detail": "Incorrect authentication credentials."}
    page = login(team.admin).get(f"/projects/{team.project.pk}/keys/").content.decode()
    assert "expired" in page


def test_the_keys_page_makes_a_scoped_key_with_an_expiry(login, team):
    from accounts.models import AuditEvent

    client = login(team.admin)
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    client.post(
        f"/projects/{team.project.pk}/keys/new/",
        {"label": "reader", "scopes": ["files:read"], "expires_on": tomorrow},
    )
    key = team.project.secret_keys.get(label="reader")
    assert key.scopes == ["files:read"] and key.expires_at.date().isoformat() == tomorrow
    page = client.get(f"/projects/{team.project.pk}/keys/").content.decode()
    assert Scope.FILES_READ.label in page
    event = AuditEvent.objects.filter(project=team.project, action="key.created").latest("pk")
    assert event.details["scopes"] == ["files:read"] and event.details["expires_at"].startswith(tomorrow)
