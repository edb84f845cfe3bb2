"""Single sign-on through a real OpenID Connect provider (panva's oidc-provider, in Node, with its
development login form), driven in Chromium as a person would sign in."""

import re
import socket
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.models import AuditEvent
from projects.models import Membership, Role
from projects.services import invitation_create
from tests.factories import PASSWORD, UserFactory

JS = Path(__file__).resolve().parent.parent / "conformance" / "js"


@pytest.fixture
def provider(live_server, settings):
    """The provider, registered with this server's callback, and the settings that point at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = (
        '{"clientId": "filedock", "clientSecret": "sso-secret", '
        f'"redirectUri": "{live_server.url}/accounts/oidc/sso/login/callback/"}}'
    )
    process = subprocess.Popen(
        ["node", str(JS / "oidc_provider.mjs"), str(port), config], cwd=JS, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Acme SSO",
                    "client_id": "filedock",
                    "secret": "sso-secret",
                    "settings": {"server_url": f"http://127.0.0.1:{port}", "token_auth_method": "client_secret_post"},
                }
            ]
        }
    }
    settings.FILEDOCK_SSO_NAME = "Acme SSO"
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**directives, "form-action": [*directives["form-action"], f"http://127.0.0.1:{port}"]}
    }
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    yield
    process.terminate()
    process.wait(10)


def sso_sign_in(page, email: str, start: str = "/accounts/login/") -> None:
    page.goto(start)
    page.get_by_role("link", name=re.compile("Acme SSO")).click()
    expect(page.get_by_role("heading", name="Log in with Acme SSO")).to_be_visible()
    page.get_by_role("button", name=re.compile("Continue")).click()  # allauth asks before leaving
    page.fill("input[name=login]", email)  # the provider's own login form
    page.fill("input[name=password]", "anything")
    page.get_by_role("button", name=re.compile("Sign-in")).click()
    page.get_by_role("button", name=re.compile("Continue")).click()  # the provider's consent


def test_a_new_person_signs_in_through_the_provider(page, provider, transactional_db):
    sso_sign_in(page, "newcomer@corp.example")
    expect(page).to_have_url(re.compile(r"/projects/"))
    user = get_user_model().objects.get(email="newcomer@corp.example")
    assert user.emailaddress_set.get().verified  # the provider vouched for it
    assert AuditEvent.objects.filter(action="sso.login").exists()


def test_an_existing_account_is_opened_by_its_verified_email(page, provider, transactional_db):
    person = UserFactory(email="alice@corp.example")
    sso_sign_in(page, "alice@corp.example")
    expect(page).to_have_url(re.compile(r"/projects/"))
    assert get_user_model().objects.filter(email__iexact="alice@corp.example").count() == 1
    assert person.socialaccount_set.get().provider == "sso"


def test_an_sso_only_domain_cannot_use_a_password(page, provider, settings, transactional_db):
    settings.FILEDOCK_SSO_ONLY_DOMAINS = ["corp.example"]
    UserFactory(email="bob@corp.example")
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "bob@corp.example")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page.get_by_text("Accounts at corp.example sign in with Acme SSO")).to_be_visible()
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "carol@corp.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page.get_by_text("Accounts at corp.example sign in with Acme SSO")).to_be_visible()
    sso_sign_in(page, "bob@corp.example")  # the provider is the way in
    expect(page).to_have_url(re.compile(r"/projects/"))


def test_an_invitation_is_accepted_through_the_provider(page, provider, settings, transactional_db):
    settings.SIGNUP_OPEN = False  # only invited people may join
    owner = UserFactory(email="owner@example.com")
    from projects.services import project_create

    project = project_create(owner=owner, name="Shared")
    invitation = invitation_create(project=project, email="dana@corp.example", role=Role.MEMBER, invited_by=owner)
    page.goto(f"/invitations/{invitation.token}/")
    page.get_by_role("link", name=re.compile("Log in")).first.click()
    sso_sign_in(page, "dana@corp.example", start=page.url)
    page.goto(f"/invitations/{invitation.token}/")
    page.get_by_role("button", name=re.compile("Accept|Join")).click()
    assert Membership.objects.filter(project=project, user__email="dana@corp.example", role=Role.MEMBER).exists()
