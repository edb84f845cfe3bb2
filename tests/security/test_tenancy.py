"""Every URL of the server, walked with every persona: the expected answer is declared once, below.

Personas: the project's owner / admin / member / viewer (signed in), an outsider with a project of
their own (signed in), anonymous, and two API callers without a session: the project's own keys
and ANOTHER project's keys (the outsider's project). A URL in the URLconf without a declaration
here fails `test_every_url_is_declared`.

Besides the status, for the outsider, anonymous and the other project's keys: the answer never
shows this project's data (marker strings) and this project's rows are unchanged afterwards.
Each persona's request runs in a savepoint that is rolled back, so one persona's success (a
delete) never changes what the next one sees.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from files.models import Conversion
from projects.models import Role
from tests.factories import make_key, make_plan
from tests.helpers import ACCEPT, project_url_kwargs
from tests.security.urlmap import (
    ADMIN_LOGIN,
    DECLARED,
    LOGIN,
    MARKER_FILE,
    MARKER_HOOK,
    PERSONAS,
    PNG,
    STRANGERS,
    URLCONF,
    USERS,
    expected_answers,
    project_pages,
)


def test_every_url_is_declared():
    undeclared = sorted(set(URLCONF) - set(DECLARED))
    assert not undeclared, f"declare the expected answers of these URLs in tests/security/urlmap.py: {undeclared}"


def test_no_declaration_is_stale():
    assert sorted(set(DECLARED) - set(URLCONF)) == []


def test_project_pages_are_the_ones_with_a_project_id():
    with_project = {key for key, pattern in URLCONF.items() if "project_id" in pattern.pattern.converters}
    assert with_project == set(project_pages())


# The world each persona's request runs in.


@dataclass
class World:
    team: object
    persona: str
    httpserver: object = None
    seeds: dict = field(default_factory=dict)

    @property
    def project(self):
        return self.team.project

    @property
    def other_project(self):
        return self.team.outsider.memberships.get().project

    def keys(self):
        """(public key, secret) of the caller's key pair, or None."""
        project = {"own_key": self.project, "other_key": self.other_project}.get(self.persona)
        if project is None:
            return None

        _key, secret = make_key(project, label="tenancy")
        return project.public_key, secret

    def seed(self):
        from billing.models import Plan
        from billing.periods import month_bounds, today
        from billing.services import invoice_issue
        from files.cdn.proxy import proxy_domain_add
        from files.services import file_store, file_upload
        from files.uploads.from_url import from_url_create
        from files.uploads.groups import group_create
        from files.uploads.multipart import multipart_start
        from projects.webhooks.services import webhook_create

        project = self.project
        file = file_upload(
            project=project,
            content=ContentFile(PNG, name=MARKER_FILE),
            filename=MARKER_FILE,
            store=False,
            metadata={"k": "v"},
        )
        file_store(file=file)
        start, end = month_bounds(today())
        conversion = partial(Conversion.objects.create, project=project, source=file, params={"format": "pdf"})
        self.seeds = {
            "file": file,
            "group": group_create(project=project, refs=[str(file.uuid)]),
            "webhook": webhook_create(
                project=project, target_url=MARKER_HOOK, event="file.uploaded", signing_secret="s"
            ),
            "invitation": project.invitations.create(email="invited@example.com", role=Role.MEMBER),
            "multipart": multipart_start(
                project=project,
                filename="small.bin",
                size=10,
                content_type="application/octet-stream",
                store="0",
                metadata={},
            ),
            "from_url": from_url_create(project=project, source_url="http://127.0.0.1:9/a.txt", store="0"),
            "convert_document_status": conversion(kind="document", path=f"{file.uuid}/document/"),
            "convert_video_status": conversion(kind="video", path=f"{file.uuid}/video/"),
            "invoice": invoice_issue(
                account=self.team.owner,
                period_start=start,
                period_end=end,
                # A paid plan of its own where a transactional test before it emptied the table.
                plan=Plan.objects.filter(price_cents__gt=0).first() or make_plan("tenancy", 2900),
            ),
        }
        if self.httpserver is not None:
            proxy_domain_add(project=project, pattern=self.httpserver.host)
            self.httpserver.expect_request("/a.txt").respond_with_data(b"remote bytes", content_type="text/plain")

    def kwargs(self, pattern) -> dict:
        converters = pattern.pattern.converters or dict.fromkeys(pattern.pattern.regex.groupindex)
        if "project_id" in converters:
            return project_url_kwargs(pattern, self.team)
        s = self.seeds
        values = {
            "file_id": lambda: str(s["file"].uuid),
            "group_id": lambda: s["group"].id,
            "webhook_id": lambda: s["webhook"].pk,
            "key": lambda: "k",
            "token": lambda: s[pattern.name].pk if pattern.name.startswith("convert_") else s["invitation"].token,
            "number": lambda: s["invoice"].number,
            "slug": lambda: "pro",
            "upload_uuid": lambda: s["multipart"].uuid,
            "index": lambda: 0,
            "filename": lambda: "a.txt",
            "size": lambda: "50x50",
            "ops": lambda: "resize/50x/",
            "public_key": lambda: (self.other_project if self.persona == "other_key" else self.project).public_key,
            "rest": lambda: "" if pattern.name == "group_nth" else self.httpserver.url_for("/a.txt"),
            "kind": lambda: "zip",
            "object_id": lambda: "1",
            "id": lambda: "1",
            "content_type_id": lambda: "1",
            "app_label": lambda: "projects",
            "uidb36": lambda: "1",
            "url": lambda: "nothing-here/",
            "addon": lambda: "uc_clamav_virus_scan",
            "upload_id": lambda: s["multipart"].uuid,
        }
        return {name: values[name]() for name in converters}


def _path(key: str, pattern, world: World) -> str:
    if key.startswith("openid_connect_"):  # the provider id is in the enclosing include's pattern
        return reverse(key, kwargs={"provider_id": "sso"})
    if key.startswith("/"):  # unnamed patterns: the route itself, filled in by hand
        return {
            "/admin/(?P<url>.*)$": "/admin/nothing-here/",
        }.get(key) or key.replace("<path:object_id>", "1")
    return reverse(key, kwargs=world.kwargs(pattern))


def _data(key: str, method: str, world: World, pub_key: str | None):
    """The request's body or query: what a caller of this endpoint would send about our objects."""
    if not key.lstrip("/").startswith(("api", "upload", "from_url", "group")):
        return None
    s = world.seeds
    name = key.split(":")[-1] if ":" in key else key.strip("/").replace("upload/", "")
    file_uuid = str(s["file"].uuid)
    bodies = {
        "files_storage": [file_uuid],
        "files_local_copy": {"source": file_uuid, "store": False},
        "files_remote_copy": {"source": file_uuid, "target": "no-such-bucket"},
        "files_search": {"exact": {"uuid": [file_uuid]}},
        "addon_execute": {"target": file_uuid, "params": {}},
        "file_tags": {"PUT": {"tags": ["ours"]}, "PATCH": {"add": ["ours"]}}.get(method),
        "file_metadata_key": "v2" if method == "PUT" else None,
        "convert_document": {"paths": [f"{file_uuid}/document/-/format/pdf/"]},
        "convert_video": {"paths": [f"{file_uuid}/video/-/format/webm/"]},
        "webhooks": {"target_url": "https://new.example.com/hook", "event": "file.uploaded"}
        if method == "POST"
        else None,
        "webhook": {"is_active": False} if method == "PUT" else None,
        "webhook_unsubscribe": {"target_url": MARKER_HOOK},
    }
    if key.startswith("api"):
        return bodies.get(name)
    form = {} if pub_key is None else {"pub_key": pub_key, "UPLOADCARE_PUB_KEY": pub_key}
    upload_forms = {
        "base": {"file": ContentFile(b"new bytes", name="new.txt")},
        "multipart_start": {
            "filename": "big.bin",
            "size": str(20 * 1024**2),
            "content_type": "application/octet-stream",
        },
        "multipart_complete": {"uuid": str(s["multipart"].uuid)},
        "from_url": {"source_url": "http://127.0.0.1:9/b.txt"},
        "from_url/status": {"token": str(s["from_url"].token)},
        "from_url_status": {"token": str(s["from_url"].token)},
        "info": {"file_id": file_uuid},
        "group": {"files[0]": file_uuid},
        "group/": {"files[0]": file_uuid},
        "group_info": {"group_id": s["group"].id},
    }
    if key.lstrip("/").startswith("upload") or key in ("/from_url/", "/from_url/status/", "/group/", "/group//"):
        return form | upload_forms.get(name, {})
    return None


def _prepare(key: str, method: str, world: World, pattern) -> Callable:
    """The persona's request, with every object it names already created; call it to send."""
    client = Client()
    if world.persona in USERS:
        client.force_login(world.team.user(world.persona))
    keys = world.keys() if world.persona in ("own_key", "other_key") else None
    headers = {"HTTP_ACCEPT": ACCEPT} if key.startswith("api") and not key.endswith(("schema", "docs")) else {}
    if keys:
        headers["HTTP_AUTHORIZATION"] = f"Uploadcare.Simple {keys[0]}:{keys[1]}"
    if key.startswith("files:tus"):  # the files page's tus endpoints: the protocol's header
        headers["HTTP_TUS_RESUMABLE"] = "1.0.0"
    path = _path(key, pattern, world)
    if key.endswith("multipart_part"):
        from files.uploads.multipart import part_token

        path += f"?token={part_token(world.seeds['multipart'], 0)}"
    data = _data(key, method, world, keys[0] if keys else None)
    if key.startswith("api"):
        body = "" if data is None else json.dumps(data)
        return lambda: client.generic(method, path, body, content_type="application/json", **headers)
    if method == "GET":
        return lambda: client.get(path, data or {}, **headers)
    if method == "HEAD":  # where a tus upload stands
        return lambda: client.head(path, **headers)
    if method == "PUT":  # the multipart upload's one part
        return lambda: client.put(path, b"x" * 10, content_type="application/octet-stream", **headers)
    return lambda: client.post(path, data or {}, **headers)


def _snapshot(project) -> dict:
    """This project's rows that no stranger may change."""
    from files.models import File, Group

    project.refresh_from_db()
    return {
        "project": (project.name, project.deleted_at, project.autostore_enabled),
        "files": sorted(
            File.objects.filter(project=project).values_list("uuid", "datetime_stored", "datetime_removed", "metadata")
        ),
        "groups": sorted(Group.objects.filter(project=project).values_list("id", flat=True)),
        "webhooks": sorted(project.webhooks.values_list("pk", "target_url", "event", "is_active")),
        "keys": sorted(project.secret_keys.values_list("pk", "revoked_at")),
        "members": sorted(project.memberships.values_list("user_id", "role")),
        "invitations": sorted(project.invitations.values_list("pk", "accepted_at")),
        "proxy_domains": sorted(project.proxy_domains.values_list("pattern", flat=True)),
        "buckets": sorted(project.bucket_connections.values_list("pk", "disconnected_at")),
        "oauth_apps": sorted(project.oauth_apps.values_list("provider", "client_id", "enabled")),
    }


def _matches(response, expected) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and "/accounts/login/" in response["Location"]
    if expected == ADMIN_LOGIN:
        return response.status_code == 302 and "/admin/login/" in response["Location"]
    return response.status_code in (expected if isinstance(expected, tuple) else (expected,))


# Answers whose body names the files on purpose, to whoever holds the id: a group's archive
# holds its files under their names, as Uploadcare's does.
NAMES_BY_DESIGN = {"cdn:group_archive"}


@pytest.mark.parametrize("key", list(URLCONF))
def test_url_answers_every_persona_as_declared(key, team, request):
    if key not in DECLARED:
        pytest.fail(f"{key} has no declared expectation")
    pattern = URLCONF[key]
    httpserver = request.getfixturevalue("httpserver") if key == "proxy:fetch" else None
    failures = []
    seeded = World(team=team, persona="owner", httpserver=httpserver)
    if not key.lstrip("/").startswith(("admin", "account_", "mfa_", "usersessions")):
        seeded.seed()  # once: every persona's savepoint is rolled back to it
    for method, by_persona in expected_answers(key, pattern).items():
        for persona in PERSONAS:
            with transaction.atomic():
                world = World(team=team, persona=persona, httpserver=httpserver, seeds=seeded.seeds)
                send = _prepare(key, method, world, pattern)
                before = _snapshot(team.project)
                response = send()
                expected = by_persona[persona]
                if not _matches(response, expected):
                    failures.append(f"{method} {persona}: {response.status_code} (expected {expected})")
                if persona in STRANGERS and key not in NAMES_BY_DESIGN:
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    for marker in (MARKER_FILE, MARKER_HOOK):
                        if marker.encode() in body:
                            failures.append(f"{method} {persona}: the answer shows {marker}")
                    if _snapshot(team.project) != before:
                        failures.append(f"{method} {persona}: changed this project's data")
                transaction.set_rollback(True)
    assert not failures, failures
