"""Every project-scoped URL, walked with every persona: the roles are declared once, on the view."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from projects.models import ROLE_RANK, Role
from tests.helpers import project_url_kwargs

PERSONAS = ["owner", "admin", "member", "viewer", "outsider", "anonymous"]


def _project_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _project_patterns(entry, namespace)
        elif isinstance(entry, URLPattern) and "project_id" in entry.pattern.converters:
            yield f"{prefix}{entry.name}", entry


PROJECT_URLS = sorted(_project_patterns(), key=lambda item: item[0])


def test_every_project_url_declares_its_role():
    assert PROJECT_URLS, "no project URLs found"
    for name, pattern in PROJECT_URLS:
        assert hasattr(pattern.callback, "project_role"), f"{name} is not wrapped in projects.access.project_view"


# What each view answers an allowed role's plain GET (HEAD), or POST with no data: a status, or the
# name of the project page it redirects to (with the same ids).
EXPECTED = {
    "files:bulk": "files:list",
    "files:convert": "files:detail",
    "files:delete": "files:list",
    "files:detail": 200,
    "files:export_csv": 200,
    "files:list": 200,
    "files:metadata_delete": "files:detail",
    "files:metadata_set": "files:detail",
    "files:proxy:add": "files:proxy:index",
    "files:proxy:index": 200,
    "files:proxy:remove": "files:proxy:index",
    "files:storage:connect": "files:storage:index",
    "files:storage:disconnect": "files:storage:index",
    "files:storage:index": 200,
    "files:storage:retest": "files:storage:index",
    "files:storage:retry": "files:storage:index",
    "files:storage:test": "files:storage:index",
    "files:store": "files:list",
    "files:tags_set": "files:detail",
    "files:tus": 400,  # no Upload-Length: the tus creation is refused
    "files:tus_upload": 200,
    "files:upload": "files:list",
    "projects:api_log_detail": 200,
    "projects:api_logs": 200,
    "projects:api_logs_export_csv": 200,
    "projects:api_logs_export_jsonl": 200,
    "projects:audit": 200,
    "projects:audit_export_csv": 200,
    "projects:audit_export_jsonl": 200,
    "projects:change_role": "projects:collaborators",
    "projects:collaborators": 200,
    "projects:delete": "projects:settings",
    "projects:delivery": 200,
    "projects:delivery_save": "projects:delivery",
    "projects:delivery_secret_create": "projects:delivery",
    "projects:delivery_secret_remove": "projects:delivery",
    "projects:integrate": 200,
    "projects:invitation_cancel": "projects:collaborators",
    "projects:invite": "projects:collaborators",
    "projects:key_create": "projects:keys",
    "projects:key_revoke": "projects:keys",
    "projects:keys": 200,
    "projects:leave": "projects:collaborators",  # the owner cannot leave; anyone else goes home (below)
    "projects:oauth_app_delete": "projects:oauth_apps",
    "projects:oauth_app_edit": 200,
    "projects:oauth_app_save": "projects:oauth_app_edit",
    "projects:oauth_apps": 200,
    "projects:overview": 200,
    "projects:remove": "projects:collaborators",
    "projects:rename": "projects:settings",
    "projects:safety": "projects:settings",
    "projects:settings": 200,
    "projects:transfer": "projects:collaborators",
    "projects:uploads": "projects:settings",
    "projects:webhook_create": "projects:webhooks",
    "projects:webhook_delete": "projects:webhooks",
    "projects:webhook_detail": 200,
    "projects:webhook_disable": "projects:webhook_detail",
    "projects:webhook_enable": "projects:webhook_detail",
    "projects:webhook_redeliver": "projects:webhook_detail",
    "projects:webhook_rotate_secret": "projects:webhook_detail",
    "projects:webhook_send_test": "projects:webhook_detail",
    "projects:webhook_update": "projects:webhook_detail",
    "projects:webhooks": 200,
}
# The views whose POST with no data still changes the project: those acting on the row in their URL
# (and the uploads settings, whose unticked boxes are a choice). Every other one leaves it as it was.
EMPTY_POST_CHANGES = {
    "files:delete",
    "files:proxy:remove",
    "files:storage:retest",
    "files:store",
    "projects:delivery_secret_create",
    "projects:delivery_secret_remove",
    "projects:invitation_cancel",
    "projects:key_revoke",
    "projects:leave",  # but not for the owner, who cannot leave
    "projects:oauth_app_delete",
    "projects:remove",
    "projects:uploads",
    "projects:webhook_delete",
    "projects:webhook_disable",
    "projects:webhook_enable",
    "projects:webhook_redeliver",
    "projects:webhook_rotate_secret",
    "projects:webhook_send_test",
}


def _state(project) -> dict:
    """Every row that belongs to the project, as values: what a refused request must leave as it was."""
    from django.apps import apps

    from projects.models import Project, WebhookDelivery

    state = {"project": list(Project.objects.filter(pk=project.pk).values())}
    state["deliveries"] = list(WebhookDelivery.objects.filter(webhook__project=project).order_by("pk").values())
    for model in apps.get_models():
        field = next((f for f in model._meta.fields if f.name == "project"), None)
        if field is not None and field.related_model is Project:
            state[model._meta.label] = list(model.objects.filter(project=project).order_by("pk").values())
    return state


def test_the_table_names_every_project_url():
    assert sorted(EXPECTED) == [name for name, _ in PROJECT_URLS]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "pattern"), PROJECT_URLS, ids=[name for name, _ in PROJECT_URLS])
def test_project_url_access(client, team, name, pattern, persona):
    view = pattern.callback
    method = view.project_methods[0]
    kwargs = project_url_kwargs(pattern, team)
    url = reverse(name, kwargs=kwargs)
    if persona != "anonymous":
        client.force_login(team.user(persona))
    headers = {"HTTP_TUS_RESUMABLE": "1.0.0"}  # the files page's tus endpoints need it; the others ignore it
    before = _state(team.project)
    if method == "GET":
        response = client.get(url, **headers)
    elif method == "POST":
        response = client.post(url, {}, **headers)
    else:  # HEAD: where one of the files page's tus uploads stands
        response = client.generic(method, url, **headers)

    allowed = (
        persona not in ("anonymous", "outsider") and ROLE_RANK[Role(persona)] >= ROLE_RANK[Role(view.project_role)]
    )
    if persona == "anonymous":
        assert (response.status_code, response["Location"]) == (302, f"{reverse('account_login')}?next={url}")
    elif persona == "outsider":
        assert response.status_code == 404
    elif not allowed:
        assert response.status_code == 403
    elif name == "projects:leave" and persona != "owner":
        assert (response.status_code, response["Location"]) == (302, "/")
    elif isinstance(EXPECTED[name], int):
        assert response.status_code == EXPECTED[name]
    else:
        target = dict(PROJECT_URLS)[EXPECTED[name]]
        ids = {key: value for key, value in kwargs.items() if key in target.pattern.converters}
        assert (response.status_code, response["Location"]) == (302, reverse(EXPECTED[name], kwargs=ids))
    changes = allowed and name in EMPTY_POST_CHANGES and (name, persona) != ("projects:leave", "owner")
    assert (_state(team.project) != before) == changes, "the project changed" if not changes else "nothing changed"


def test_outsider_cannot_use_a_foreign_key_id_through_own_project(client, team):
    own_project = team.outsider.memberships.get().project
    foreign_key = team.project.secret_keys.first()
    client.force_login(team.outsider)
    response = client.post(reverse("projects:key_revoke", args=[own_project.pk, foreign_key.pk]))
    assert response.status_code == 404
    foreign_key.refresh_from_db()
    assert foreign_key.revoked_at is None


def test_deleted_project_is_gone_for_its_owner(client, team):
    from projects.services import project_delete

    project_delete(project=team.project)
    client.force_login(team.owner)
    assert client.get(reverse("projects:overview", args=[team.project.pk])).status_code == 404
