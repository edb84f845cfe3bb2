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
from django.contrib import admin
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from files.models import Conversion
from projects.models import ROLE_RANK, Role
from tests.factories import make_key
from tests.helpers import ACCEPT, png_bytes, project_url_kwargs

USERS = ["owner", "admin", "member", "viewer", "outsider"]
NOBODY = ["anonymous", "own_key", "other_key"]  # no session
PERSONAS = USERS + NOBODY
STRANGERS = ["outsider", "anonymous", "other_key"]  # must never see or change this project's data
MARKER_FILE = "tenantmarker-file.png"
MARKER_HOOK = "https://tenantmarker.example.com/hook"


PNG = png_bytes(60, 40)
LOGIN = "→login"  # 302 to the dashboard's sign-in page
ADMIN_LOGIN = "→admin-login"  # 302 to the admin's sign-in page
DONE = (200, 302, 400)  # allowed: a page, a redirect after the action, or a form error for the empty POST


# How each kind of URL answers each persona.


def by_role() -> str:
    """A project page: the role comes from its `project_view` declaration (see test_access.py)."""
    return "by_role"


def everyone(status, **overrides) -> dict:
    return {"GET": {persona: overrides.get(persona, status) for persona in PERSONAS}}


def signed_in(users=200, method="GET", **overrides) -> dict:
    """An account page: any signed-in person; without a session, to the sign-in page."""
    expected = dict.fromkeys(USERS, users) | dict.fromkeys(NOBODY, LOGIN)
    return {method: expected | overrides}


def guests(nobody=200, users=302) -> dict:
    """Sign-in/sign-up pages: shown without a session, a signed-in person is sent on."""
    return {"GET": dict.fromkeys(USERS, users) | dict.fromkeys(NOBODY, nobody)}


def staff_only() -> dict:
    return {"GET": dict.fromkeys(PERSONAS, ADMIN_LOGIN)}


def rest(**methods: tuple) -> dict:
    """REST API: (own keys, another project's keys) per method; no keys — a session is not enough — 401."""
    return {
        method: dict.fromkeys(PERSONAS, 401) | {"own_key": own, "other_key": other}
        for method, (own, other) in methods.items()
    }


def upload(method: str, own, other) -> dict:
    """Upload API: the public key in the request names the project; without one, 403."""
    return {method: dict.fromkeys(PERSONAS, 403) | {"own_key": own, "other_key": other}}


# The declarations: URL name (or route, for unnamed patterns) → expectation per method and persona.

API = {
    "project": rest(GET=(200, 200)),  # each key pair sees its own project
    "files": rest(GET=(200, 200)),  # the other project's list holds none of ours (markers)
    # Batch calls name our uuids; the other project's answer lists them as "Missing in the project".
    "files_storage": rest(PUT=(200, 200), DELETE=(200, 200)),
    "files_local_copy": rest(POST=(201, 404)),
    # No bucket named so for either project: refused before the file is looked up.
    "files_remote_copy": rest(POST=(400, 400)),
    "files_search": rest(POST=(200, 200)),  # the other project's search finds none of ours
    "file_tags": rest(GET=(200, 404), PUT=(200, 404), PATCH=(200, 404)),
    "file": rest(GET=(200, 404)),
    # Paths naming our file: for the other project's keys a problem ("File not found"), no job.
    "convert_document": rest(POST=(200, 200)),
    "convert_video": rest(POST=(200, 200)),
    "convert_document_status": rest(GET=(200, 404)),
    "convert_video_status": rest(GET=(200, 404)),
    "convert_document_info": rest(GET=(200, 404)),
    "file_storage": rest(PUT=(200, 404), DELETE=(200, 404)),
    "file_metadata": rest(GET=(200, 404)),
    "file_metadata_key": rest(GET=(200, 404), PUT=(200, 404), DELETE=(204, 404)),
    "groups": rest(GET=(200, 200)),
    "group": rest(GET=(200, 404), DELETE=(204, 404)),
    "webhooks": rest(GET=(200, 200), POST=(201, 201)),  # a POST subscribes the caller's own project
    "webhook": rest(PUT=(200, 404), DELETE=(204, 404)),
    "webhook_unsubscribe": rest(DELETE=(204, 204)),  # unsubscribes within the caller's project only
    # No clamd in the tests' settings: our key hears what to install (400); the other project's
    # key cannot name our file (404). Scans themselves: tests/files/addons, tests/conformance.
    "addon_execute": rest(POST=(400, 404)),
    # Without a request_id the answer is a 400 for any key; a request_id of another project's run
    # answers "unknown" (tests/files/addons/test_scanning.py).
    "addon_status": rest(GET=(400, 400)),
    "schema": everyone(200),  # the API's description is public
    "docs": everyone(200),
}

UPLOAD = {
    "base": upload("POST", 200, 200),  # another key uploads into its own project
    "multipart_start": upload("POST", 200, 200),
    "multipart_complete": upload("POST", 400, 404),  # ours: parts missing; theirs: no such upload
    "from_url": upload("POST", 200, 200),
    "info": upload("GET", 200, 404),
    "group": upload("POST", 200, 400),  # another project cannot group our files: GroupFilesNotFoundError
    "group_info": upload("GET", 200, 404),
    "sources": upload("GET", 200, 200),  # each key sees its own project's sources
    # Capability URLs: the random token (or signed part URL) is the credential, as in Uploadcare.
    "from_url_status": everyone(200),
    "multipart_part": {"PUT": dict.fromkeys(PERSONAS, 200)},
    # tus: a request without Tus-Resumable is refused before anything else (412), for everyone;
    # its project checks are tested with tuspy in tests/conformance/test_tus.py.
    "tus": {"POST": dict.fromkeys(PERSONAS, 412)},
    "tus_upload": everyone(412),
}

DECLARED: dict[str, object] = {
    "healthz": everyone(200),
    # CDN: public by uuid, like Uploadcare's CDN; the uuid is the capability.
    "cdn:file": everyone(200),
    "cdn:preview": everyone(200),
    "cdn:operations": everyone(200),
    "cdn:detect_faces": everyone(200),
    "cdn:gif2video": everyone(400),  # our fixture file is not a GIF: the answer says so
    "cdn:group": everyone(200),  # a group id, like a file UUID, is the capability
    "cdn:group_nth": everyone(200),
    "cdn:group_archive": everyone(200),
    # Proxy: public by public key; the other project's key cannot fetch from our allowed domains.
    "proxy:fetch": {"GET": dict.fromkeys(PERSONAS, 200) | {"other_key": 403}},
    **{f"api:{name}": value for name, value in API.items()},
    **{f"api_root:{name}": value for name, value in API.items()},
    **{f"upload:{name}": value for name, value in UPLOAD.items()},
    "/upload/group//": UPLOAD["group"],
    "/from_url/": UPLOAD["from_url"],
    "/from_url/status/": UPLOAD["from_url_status"],
    "/group/": UPLOAD["group"],
    "/group//": UPLOAD["group"],
    # Account-level dashboard pages.
    "projects:home": signed_in(302),
    "projects:list": signed_in(200),
    "projects:create": signed_in(200),
    "projects:invitation": everyone(200),  # the emailed token is the capability
    "accounts:audit": signed_in(200),
    "billing:overview": signed_in(200),
    "billing:plan": signed_in(200),
    "billing:plan_confirm": signed_in(200),  # Pro, an upgrade from the free plan each persona is on
    "billing:details": signed_in(200),
    "billing:alerts_save": signed_in(302, method="POST"),  # the signed-in account's own thresholds
    # The owner's invoice: only its account sees it.
    "billing:invoice": signed_in(404, owner=200),
    "billing:invoice_pdf": signed_in(404, owner=200),
    # allauth
    "account_login": guests(),
    "account_signup": guests(),
    "account_logout": {"GET": dict.fromkeys(USERS, 200) | dict.fromkeys(NOBODY, 302)},
    "account_inactive": everyone(200),
    "account_reauthenticate": signed_in(200),
    "account_email": signed_in(200),
    "account_email_verification_sent": everyone(200),
    "account_change_password": signed_in(200),
    "account_set_password": signed_in(302),  # everyone here has a password: on to "change"
    "account_reset_password": everyone(200),
    "account_reset_password_done": everyone(200),
    "account_reset_password_from_key": everyone(200),  # a bad key: the "link expired" page
    "account_reset_password_from_key_done": everyone(200),
    "account_confirm_email": everyone(200),  # a bad key: the "link expired" page
    "account_confirm_login_code": everyone(302),  # no login in progress: back to sign-in
    "mfa_index": signed_in(200),
    "mfa_authenticate": everyone(302),  # no login in progress
    "mfa_reauthenticate": signed_in(302),  # no authenticator to reauthenticate with
    "mfa_activate_totp": signed_in(302),  # allauth asks for a verified email first
    "mfa_deactivate_totp": signed_in(404),
    "mfa_view_recovery_codes": signed_in(404),
    "mfa_generate_recovery_codes": signed_in(302),
    "mfa_download_recovery_codes": signed_in(404),
    "usersessions_list": signed_in(200),
    # Single sign-on (allauth socialaccount): no provider is configured in the tests' settings.
    "openid_connect_login": everyone(404),
    "openid_connect_callback": everyone(404),
    "socialaccount_connections": signed_in(200),
    "socialaccount_login_cancelled": everyone(200),
    "socialaccount_login_error": everyone(401),  # allauth's "login failed" page says so in its status
    "socialaccount_signup": everyone(302),  # no provider login in progress: back to sign-in
    # allauth's old addresses of the same pages: permanent redirects to the new ones.
    "/accounts/social/connections/": everyone(301),
    "/accounts/social/login/cancelled/": everyone(301),
    "/accounts/social/login/error/": everyone(301),
    "/accounts/social/signup/": everyone(301),
    # Admin site: staff only; none of the personas is staff.
    "admin:index": staff_only(),
    "admin:login": everyone(200),
    "admin:logout": {"POST": dict.fromkeys(PERSONAS, 302)},
    "admin:password_change": staff_only(),
    "admin:password_change_done": staff_only(),
    "admin:auth_user_password_change": staff_only(),  # UserAdmin's own page
    "admin:autocomplete": staff_only(),
    "admin:jsi18n": staff_only(),
    "admin:view_on_site": staff_only(),
    "admin:app_list": staff_only(),
    "/admin/(?P<url>.*)$": staff_only(),
    "/favicon.ico": everyone(301),
}
# Every model the admin registers gets the same five pages and a redirect for old links: staff only.
for _model in admin.site._registry:
    _meta = _model._meta
    for _page in ("changelist", "add", "history", "delete", "change"):
        DECLARED[f"admin:{_meta.app_label}_{_meta.model_name}_{_page}"] = staff_only()
    DECLARED[f"/admin/{_meta.app_label}/{_meta.model_name}/<path:object_id>/"] = staff_only()


def _project_pages():
    """Project pages: the role is declared on the view; listed here by name so a new one is noticed."""
    return [
        "files:list",
        "files:export_csv",
        "files:upload",
        "files:bulk",
        "files:detail",
        "files:store",
        "files:delete",
        "files:metadata_set",
        "files:metadata_delete",
        "files:convert",
        "files:tags_set",
        "files:tus",
        "files:tus_upload",
        "files:storage:index",
        "files:storage:test",
        "files:storage:connect",
        "files:storage:retest",
        "files:storage:disconnect",
        "files:storage:retry",
        "files:proxy:index",
        "files:proxy:add",
        "files:proxy:remove",
        "projects:overview",
        "projects:integrate",
        "projects:settings",
        "projects:rename",
        "projects:uploads",
        "projects:safety",
        "projects:delete",
        "projects:delivery",
        "projects:delivery_save",
        "projects:delivery_secret_create",
        "projects:delivery_secret_remove",
        "projects:keys",
        "projects:key_create",
        "projects:key_revoke",
        "projects:collaborators",
        "projects:invite",
        "projects:leave",
        "projects:transfer",
        "projects:change_role",
        "projects:remove",
        "projects:invitation_cancel",
        "projects:webhooks",
        "projects:webhook_create",
        "projects:webhook_detail",
        "projects:webhook_update",
        "projects:webhook_delete",
        "projects:webhook_rotate_secret",
        "projects:webhook_enable",
        "projects:webhook_disable",
        "projects:webhook_send_test",
        "projects:webhook_redeliver",
        "projects:oauth_apps",
        "projects:oauth_app_edit",
        "projects:oauth_app_save",
        "projects:oauth_app_delete",
        "projects:audit",
        "projects:audit_export_csv",
        "projects:audit_export_jsonl",
        "projects:api_logs",
        "projects:api_log_detail",
        "projects:api_logs_export_csv",
        "projects:api_logs_export_jsonl",
    ]


DECLARED.update({name: by_role() for name in _project_pages()})


# The URLconf, walked.


def _walk(resolver=None, namespace="", route=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner, route + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            full_route = route + str(entry.pattern)
            yield (f"{namespace}{entry.name}" if entry.name else "/" + full_route), entry


URLCONF = dict(sorted(_walk(), key=lambda item: item[0]))


def test_every_url_is_declared():
    undeclared = sorted(set(URLCONF) - set(DECLARED))
    assert not undeclared, f"declare the expected answers of these URLs in tests/security/test_tenancy.py: {undeclared}"


def test_no_declaration_is_stale():
    assert sorted(set(DECLARED) - set(URLCONF)) == []


def test_project_pages_are_the_ones_with_a_project_id():
    with_project = {key for key, pattern in URLCONF.items() if "project_id" in pattern.pattern.converters}
    assert with_project == set(_project_pages())


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
                plan=Plan.objects.filter(price_cents__gt=0).first() or Plan.objects.first(),
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


def _expected(key: str, pattern) -> dict:
    declared = DECLARED[key]
    if declared != "by_role":
        return declared
    view = pattern.callback
    rank = ROLE_RANK[Role(view.project_role)]
    members = ["owner", "admin", "member", "viewer"]
    expected = {persona: (DONE if ROLE_RANK[Role(persona)] >= rank else 403) for persona in members}
    return {view.project_methods[0]: expected | {"outsider": 404} | dict.fromkeys(NOBODY, LOGIN)}


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
    for method, by_persona in _expected(key, pattern).items():
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
