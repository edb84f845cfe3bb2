"""The audit log: every security-relevant change recorded once, with who, where and what, never a secret."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_page, audit_record
from accounts.models import AuditEvent, KnownDevice
from projects import services
from projects.models import Role, all_scopes
from tests.factories import PASSWORD, UserFactory

IP = "203.0.113.7"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


BASELINE = {"pk": 0}


@pytest.fixture
def as_user(client):
    """A client signed in as `user` whose requests come from IP with a Firefox user agent.

    Events recorded while the fixtures were set up (the default key of each project) are left out of `events`.
    """

    def _as(user):
        BASELINE["pk"] = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        client.force_login(user)
        client.defaults.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=FIREFOX)
        return client

    return _as


def events(action, project=None):
    qs = AuditEvent.objects.filter(action=action, pk__gt=BASELINE["pk"])
    return list(qs.filter(project=project) if project else qs)


def only(action, project, actor):
    recorded = events(action, project)
    assert len(recorded) == 1, f"{action}: {len(recorded)} events"
    event = recorded[0]
    assert event.actor == actor and event.actor_email == actor.email
    assert event.ip == IP and event.user_agent == FIREFOX
    assert event.project_name == project.name
    return event


def assert_no_secret(*secrets):
    dump = json.dumps(list(AuditEvent.objects.values("details", "user_agent", "actor_email", "project_name")))
    for secret in secrets:
        assert secret and secret not in dump


def p(name, project, *args):
    return reverse(f"projects:{name}", args=[project.pk, *args])


# Recording


def test_key_created_and_revoked_are_recorded_without_the_secret(as_user, team):
    client = as_user(team.admin)
    client.post(p("key_create", team.project), {"label": "CI", "scopes": all_scopes()})
    key = team.project.secret_keys.get(label="CI")
    created = only("key.created", team.project, team.admin)
    assert created.details == {"label": "CI", "last4": key.last4, "scopes": all_scopes()}

    client.post(p("key_revoke", team.project, key.pk))
    client.post(p("key_revoke", team.project, key.pk))  # revoking again changes nothing
    revoked = only("key.revoked", team.project, team.admin)
    assert revoked.details == {"label": "CI", "last4": key.last4}
    assert_no_secret(key.secret, *team.project.secret_keys.values_list("secret", flat=True))


def test_settings_change_records_the_changed_field_names(as_user, team):
    client = as_user(team.admin)
    data = {
        "autostore_enabled": "on",
        "require_signed_uploads": "on",
        "allowed_mime_types": "image/*",
        "max_file_size_mb": "",
    }
    assert client.post(p("uploads", team.project), data).status_code == 302
    event = only("project.settings_changed", team.project, team.admin)
    assert sorted(event.details["fields"]) == ["allowed_mime_types", "require_signed_uploads"]

    client.post(p("uploads", team.project), data)  # the same values again: nothing changed
    assert len(events("project.settings_changed")) == 1


def test_rename_records_old_and_new_name(as_user, team):
    as_user(team.admin).post(p("rename", team.project), {"name": "Acme 2"})
    team.project.refresh_from_db()
    event = only("project.renamed", team.project, team.admin)
    assert event.details == {"old": "Acme", "new": "Acme 2"}


def test_safety_settings_and_delivery_secrets_are_recorded_in_the_projects_log(as_user, team):
    client = as_user(team.admin)
    data = {"malware_protection": "remove", "moderation": "off", "moderation_threshold": "80"}
    client.post(p("safety", team.project), data)
    assert only("project.settings_changed", team.project, team.admin).details == {"fields": ["malware_protection"]}

    client.post(p("delivery_secret_create", team.project))
    secret = team.project.delivery_secrets.get()
    assert secret.last4 == secret.secret[-4:] and secret.created_by == team.admin  # the page shows both
    assert only("delivery_secret.created", team.project, team.admin).details == {"last4": secret.last4}
    client.post(p("delivery_secret_remove", team.project, secret.pk))
    assert only("delivery_secret.removed", team.project, team.admin).details == {"last4": secret.last4}


def test_project_deletion_is_recorded_and_outlives_the_purge(as_user, team):
    as_user(team.owner).post(p("delete", team.project), {"confirm_name": "Acme"})
    only("project.deleted", team.project, team.owner)
    services.project_purge(project_id=team.project.pk)
    event = AuditEvent.objects.get(action="project.deleted")
    assert event.project_id == team.project.pk and event.project_name == "Acme" and event.actor == team.owner


def test_collaborator_changes_are_recorded(as_user, team):
    client = as_user(team.owner)
    client.post(p("invite", team.project), {"email": "New@Example.com", "role": Role.MEMBER})
    assert only("collaborator.invited", team.project, team.owner).details == {
        "email": "new@example.com",
        "role": "member",
    }
    viewer = team.project.memberships.get(user=team.viewer)
    client.post(p("change_role", team.project, viewer.pk), {"role": Role.MEMBER})
    assert only("collaborator.role_changed", team.project, team.owner).details == {
        "email": "viewer@example.com",
        "old": "viewer",
        "new": "member",
    }
    client.post(p("remove", team.project, viewer.pk))
    assert only("collaborator.removed", team.project, team.owner).details == {
        "email": "viewer@example.com",
        "role": "member",
    }
    admin = team.project.memberships.get(user=team.admin)
    client.post(p("transfer", team.project), {"membership": admin.pk})
    assert only("ownership.transferred", team.project, team.owner).details == {
        "from": "owner@example.com",
        "to": "admin@example.com",
    }


def test_refused_changes_record_nothing(as_user, team):
    owner = team.project.memberships.get(user=team.owner)
    as_user(team.admin).post(p("remove", team.project, owner.pk))
    assert not events("collaborator.removed")


def test_webhook_changes_are_recorded_without_the_signing_secret(as_user, team):
    client = as_user(team.admin)
    client.post(
        p("webhook_create", team.project),
        {"target_url": "https://user:pw@hooks.example.com/in?token=abc", "event": "file.uploaded", "is_active": "on"},
    )
    webhook = team.project.webhooks.get()
    created = only("webhook.created", team.project, team.admin)
    assert created.details == {
        "webhook_id": webhook.pk,
        "target_url": "https://hooks.example.com/in",
        "event": "file.uploaded",
    }
    first_secret = webhook.signing_secret

    client.post(p("webhook_disable", team.project, webhook.pk))
    updated = only("webhook.updated", team.project, team.admin)
    assert updated.details["fields"] == ["is_active"]

    client.post(p("webhook_rotate_secret", team.project, webhook.pk))
    webhook.refresh_from_db()
    rotated = [e for e in events("webhook.updated", team.project) if e.details.get("secret_rotated")]
    assert len(rotated) == 1 and rotated[0].details == {
        **created.details,
        "fields": ["signing_secret"],
        "secret_rotated": True,
    }

    client.post(p("webhook_delete", team.project, webhook.pk))
    assert only("webhook.deleted", team.project, team.admin).details == created.details
    assert_no_secret(first_secret, webhook.signing_secret, "pw", "token=abc")


@pytest.mark.parametrize("purpose", ["backup", "storage"])
def test_bucket_connect_and_disconnect_are_recorded_without_credentials(
    as_user, team, moto_endpoint, customer_bucket, purpose
):
    client = as_user(team.admin)
    form = {
        "purpose": purpose,
        "provider": "custom",
        "endpoint_url": moto_endpoint,
        "region": "",
        "bucket": customer_bucket,
        "access_key": "AKIDEXAMPLEKEY",  # moto_server takes any key; the audit must show neither
        "secret_key": "very-secret-value",
        "prefix": "fd/",
    }
    response = client.post(reverse("files:storage:connect", args=[team.project.pk]), form)
    assert response.status_code == 302
    target = team.project.bucket_connections.get()
    event = only(f"{purpose}.connected", team.project, team.admin)
    assert event.details == {
        "connection_id": str(target.pk),
        "provider": "custom",
        "endpoint": moto_endpoint,
        "bucket": customer_bucket,
        "prefix": "fd/",
    }
    url = reverse("files:storage:disconnect", args=[team.project.pk, target.pk])
    client.post(url)
    client.post(url)  # safe to repeat, recorded once
    only(f"{purpose}.disconnected", team.project, team.admin)
    assert_no_secret("AKIDEXAMPLEKEY", "very-secret-value")


def test_outside_a_request_the_actor_comes_from_the_service_or_is_empty(team):
    key, plain = services.secret_key_create(project=team.project, label="cron", created_by=team.owner)
    event = AuditEvent.objects.filter(action="key.created").latest("created_at")
    assert event.actor == team.owner and event.ip is None and event.details["last4"] == plain[-4:]
    services.secret_key_revoke(key=key)
    revoked = AuditEvent.objects.get(action="key.revoked")
    assert revoked.actor is None and revoked.actor_email == ""
    assert_no_secret(plain)


# New-device sign-ins


@pytest.fixture(autouse=True)
def _reset_baseline():
    BASELINE["pk"] = 0


def sign_in(client, user, user_agent=FIREFOX, ip=IP):
    client.logout()
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": PASSWORD},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 302


def test_new_device_sign_in_is_recorded_once_per_device(client, db, django_capture_on_commit_callbacks):
    user = UserFactory(email="roamer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, user)
    first = AuditEvent.objects.get(action="login.new_device")
    assert first.actor == user and first.ip == IP and first.user_agent == FIREFOX
    assert first.details == {"browser": "Firefox", "os": "Linux", "network": "203.0.113.0/24"}
    assert not mail.outbox  # the account's first device: the sign-in right after signing up

    sign_in(client, user, ip="203.0.113.99")  # same browser, same /24
    assert AuditEvent.objects.filter(action="login.new_device").count() == 1
    assert KnownDevice.objects.filter(user=user).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, user, user_agent=CHROME_MAC)
    assert AuditEvent.objects.filter(action="login.new_device").count() == 2
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert "Chrome on macOS" in mail.outbox[0].body

    sign_in(client, user, ip="198.51.100.1")  # a different network counts as a new device too
    assert AuditEvent.objects.filter(action="login.new_device").count() == 3


def test_devices_are_per_account(client, db):
    first, second = UserFactory(), UserFactory()
    sign_in(client, first)
    sign_in(client, second)
    assert AuditEvent.objects.filter(action="login.new_device").count() == 2


# Pages


@pytest.mark.parametrize(
    ("persona", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403), ("outsider", 404)]
)
def test_project_audit_page_is_for_admins(login, team, persona, status):
    assert login(team.user(persona)).get(p("audit", team.project)).status_code == status


def test_project_audit_page_filters_by_action_and_date(login, team):
    project = team.project
    audit_record(action="webhook.created", actor=team.admin, project=project, details={"event": "file.uploaded"})
    old = audit_record(action="collaborator.invited", actor=team.admin, project=project, details={"email": "x@y.z"})
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    audit_record(action="webhook.created", project=team.outsider.memberships.get().project)  # another project
    client = login(team.admin)

    page = client.get(p("audit", project))
    assert page.status_code == 200
    shown = page.context["events"]
    assert {e.action for e in shown} == {"key.created", "webhook.created", "collaborator.invited"}
    assert all(e.project_id == project.pk for e in shown)
    assert 'href="{}" aria-current="page"'.format(p("audit", project)) in page.content.decode()

    only_webhooks = client.get(p("audit", project), {"action": "webhook.created"}).context["events"]
    assert [e.action for e in only_webhooks] == ["webhook.created"]

    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    recent = client.get(p("audit", project), {"date_from": since}).context["events"]
    assert "collaborator.invited" not in {e.action for e in recent}
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    older = client.get(p("audit", project), {"date_to": until}).context["events"]
    assert [e.action for e in older] == ["collaborator.invited"]


def test_audit_pages_are_keyset_paginated_newest_first(login, team):
    for n in range(120):
        audit_record(action="webhook.updated", actor=team.admin, project=team.project, details={"n": n})
    client = login(team.admin)
    seen, cursor, pages = [], "", 0
    while True:
        response = client.get(p("audit", team.project), {"action": "webhook.updated", "before": cursor})
        seen += [e.details["n"] for e in response.context["events"]]
        pages += 1
        cursor = response.context["next_cursor"]
        if not cursor:
            break
        assert "Older events" in response.content.decode()
    assert pages == 3 and seen == list(range(119, -1, -1))


def test_a_bad_cursor_or_date_is_ignored(login, team):
    response = login(team.admin).get(p("audit", team.project), {"before": "nonsense", "date_from": "soon"})
    assert response.status_code == 200 and response.context["events"]


def test_account_page_shows_own_actions_and_owned_projects_only(login, team):
    elsewhere = team.outsider.memberships.get().project
    audit_record(action="webhook.created", actor=team.admin, project=team.project)  # on a project the owner owns
    audit_record(action="webhook.deleted", actor=team.owner, project=elsewhere)  # the owner's own action elsewhere
    audit_record(action="storage.connected", actor=team.outsider, project=elsewhere)  # not the owner's business
    audit_record(action="login.new_device", actor=team.admin)

    owner_page = login(team.owner).get(reverse("accounts:audit"))
    assert owner_page.status_code == 200
    actions = {(e.action, e.actor_email) for e in owner_page.context["events"]}
    assert ("webhook.created", "admin@example.com") in actions
    assert ("webhook.deleted", "owner@example.com") in actions
    assert not {a for a, who in actions if who in ("outsider@example.com",) or a == "login.new_device"}

    admin_page = login(team.admin).get(reverse("accounts:audit"), {"action": "webhook.created"})
    assert [(e.action, e.actor_email) for e in admin_page.context["events"]] == [
        ("webhook.created", "admin@example.com")
    ]
    assert "Audit log" in admin_page.content.decode()


def test_account_page_needs_sign_in(client, db):
    response = client.get(reverse("accounts:audit"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_audit_page_helper_returns_no_cursor_on_the_last_page(team):
    page, cursor = audit_page(AuditEvent.objects.filter(project=team.project))
    assert cursor is None and len(page) == 1  # the default key's key.created


def test_admin_lists_events_read_only(client, team):
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:accounts_auditevent_changelist")
    response = client.get(url, {"q": "owner@example.com", "action__exact": "key.created"})
    assert response.status_code == 200 and "owner@example.com" in response.content.decode()
    event = AuditEvent.objects.first()
    assert client.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("query", ["before=²-1", "date_to=9999-12-31", "before=99999999999999999999999-1"])
def test_odd_filter_values_never_crash_the_page(client, team, query):
    client.force_login(team.owner)
    assert client.get(f"/account/audit/?{query}").status_code == 200
    assert client.get(f"/projects/{team.project.pk}/audit/?{query}").status_code == 200


def test_password_and_two_factor_changes_are_in_the_account_log(client, db, django_capture_on_commit_callbacks):
    from tests.factories import PASSWORD, UserFactory
    from tests.helpers import activate_totp, log_in

    user = UserFactory()
    log_in(client, user)
    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a-new-battery-77", "password2": "a-new-battery-77"},
    )
    assert changed.status_code == 302
    reauthenticate_with = {"password": "a-new-battery-77"}
    client.post(reverse("account_reauthenticate"), reauthenticate_with)
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals the activation on commit
        activate_totp(client)
    client.post(reverse("account_reauthenticate"), reauthenticate_with)
    assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    actions = list(AuditEvent.objects.filter(actor=user).order_by("created_at", "id").values_list("action", flat=True))
    assert [a for a in actions if a != "login.new_device"] == ["password.changed", "mfa.enabled", "mfa.disabled"]


def test_upload_source_and_proxy_domain_changes_are_in_the_project_log(team):
    from files.cdn import proxy

    AuditEvent.objects.filter(project=team.project).delete()  # the project's creation is logged too
    domain = proxy.proxy_domain_add(project=team.project, pattern="images.example.com")
    proxy.proxy_domain_remove(domain=domain)
    app = services.oauth_app_save(
        project=team.project, provider="dropbox", client_id="abcdefghijklmno", client_secret="s3cret", enabled=True
    )
    services.oauth_app_delete(oauth_app=app)
    logged = list(
        AuditEvent.objects.filter(project=team.project).order_by("created_at", "id").values_list("action", "details")
    )
    assert logged == [
        ("proxy.domain_added", {"pattern": "images.example.com"}),
        ("proxy.domain_removed", {"pattern": "images.example.com"}),
        ("oauth_app.saved", {"provider": "dropbox", "client_id": "abcdefghijklmno", "secret_changed": True}),
        ("oauth_app.removed", {"provider": "dropbox"}),
    ]
    assert "s3cret" not in str(logged)


def test_a_sign_in_with_a_recovery_code_is_in_the_account_log(client, db, django_capture_on_commit_callbacks):
    from allauth.mfa.models import Authenticator

    from tests.factories import PASSWORD, UserFactory
    from tests.helpers import activate_totp, log_in

    user = UserFactory()
    log_in(client, user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        activate_totp(client)
    code = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()[0]
    client.logout()
    step = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == reverse("mfa_authenticate")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert AuditEvent.objects.filter(actor=user, action="mfa.recovery_code_used").count() == 1


def test_audit_and_session_rows_name_the_browser_and_system_not_the_raw_agent(client, db):
    from tests.factories import UserFactory

    user = UserFactory()
    sign_in(client, user)  # as Firefox on Linux
    audit = client.get(reverse("accounts:audit"), HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=IP).content.decode()
    assert f'title="{FIREFOX}">Firefox on Linux</small>' in audit
    sessions = client.get(reverse("usersessions_list"), HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=IP).content.decode()
    assert 'class="user-agent" title="Mozilla/5.0' in sessions and ">Firefox on Linux</span>" in sessions


def test_signing_out_other_sessions_is_in_the_account_log(client, db):
    from django.test import Client

    from tests.helpers import log_in

    user = UserFactory()
    elsewhere = Client(REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT=CHROME_MAC)
    log_in(elsewhere, user)
    client.defaults.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=FIREFOX)
    log_in(client, user)
    assert client.post(reverse("usersessions_list")).status_code == 302
    event = AuditEvent.objects.get(action="sessions.ended")
    assert event.actor == user and event.ip == IP and event.user_agent == FIREFOX
    assert event.details == {"sessions": 1}
    page = client.get(reverse("accounts:audit")).content.decode()
    assert "Other sessions signed out" in page


def test_a_plan_change_is_in_the_account_log(client, db):
    import importlib

    from django.apps import apps as global_apps

    from billing import services as billing
    from billing.models import Plan

    importlib.import_module("billing.migrations.0002_default_plans").create_plans(global_apps, None)
    user = UserFactory()
    client.force_login(user)
    client.defaults.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=FIREFOX)
    plans = {plan.slug: plan for plan in Plan.objects.all()}
    billing.subscription_change_plan(account=user, plan=plans["pro"])
    billing.subscription_change_plan(account=user, plan=plans["pro"])  # unchanged: nothing to record
    billing.subscription_change_plan(account=user, plan=plans["free"])
    recorded = list(AuditEvent.objects.filter(action="plan.changed").order_by("id"))
    assert [(e.actor, e.details["from"], e.details["to"], e.details["change"]) for e in recorded] == [
        (user, "Free", "Pro", "upgrade"),
        (user, "Pro", "Free", "downgrade"),
    ]
    assert "charge" in recorded[0].details and "starts" in recorded[1].details
    assert "Plan changed" in client.get(reverse("accounts:audit")).content.decode()
