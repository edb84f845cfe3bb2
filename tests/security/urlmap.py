"""The expected answer of every URL of the server to every persona, declared once.

tests/security/test_tenancy.py walks it with every persona; tests/security/test_hardening.py
walks the same URLconf for the pages it checks. A URL without a declaration here fails
`test_every_url_is_declared`.
"""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from projects.models import ROLE_RANK, Role
from tests.helpers import png_bytes, project_url_kwargs

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


def project_pages():
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


DECLARED.update({name: by_role() for name in project_pages()})


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


def expected_answers(key: str, pattern) -> dict:
    declared = DECLARED[key]
    if declared != "by_role":
        return declared
    view = pattern.callback
    rank = ROLE_RANK[Role(view.project_role)]
    members = ["owner", "admin", "member", "viewer"]
    expected = {persona: (DONE if ROLE_RANK[Role(persona)] >= rank else 403) for persona in members}
    return {view.project_methods[0]: expected | {"outsider": 404} | dict.fromkeys(NOBODY, LOGIN)}


# Downloads (CSV, JSON Lines): no HTML, so no page policy to check; tests/security/test_secrets.py reads them.
DOWNLOADS = {
    "files:export_csv",
    "projects:audit_export_csv",
    "projects:audit_export_jsonl",
    "projects:api_logs_export_csv",
    "projects:api_logs_export_jsonl",
}


def dashboard_pages(team, *, downloads: bool = False) -> list[str]:
    """Every GET page of the dashboard the owner can open (project pages and account pages), and
    with `downloads` the files it offers as well."""
    pages = []
    for key, pattern in URLCONF.items():
        if key.startswith(("api", "upload", "cdn", "proxy", "/", "admin:", "healthz")):
            continue
        if key in DOWNLOADS and not downloads:
            continue
        if "GET" not in expected_answers(key, pattern) or expected_answers(key, pattern)["GET"]["owner"] not in (
            200,
            (200, 302, 400),
        ):
            continue
        converters = set(pattern.pattern.converters) | set(pattern.pattern.regex.groupindex)
        if converters - {"project_id", "file_id", "webhook_id", "provider", "key_id", "membership_id"}:
            continue
        pages.append(reverse(key, kwargs=project_url_kwargs(pattern, team)))
    return pages
