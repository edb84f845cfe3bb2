"""Who may sign up (accounts.adapter.AccountAdapter.is_open_for_signup)."""

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.services import DEFAULT_PROJECT_NAME, account_setup
from projects.models import Invitation, Project, Role
from projects.services import project_delete
from tests.factories import UserFactory

PASSWORD = "s3cure-passw0rd!"


def _sign_up(client, email):
    return client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})


@pytest.fixture
def closed(settings):
    settings.SIGNUP_OPEN = False


def test_a_closed_server_lets_the_invited_person_sign_up(client, team, closed):
    invitation = Invitation.objects.create(project=team.project, email="asked@example.com", role=Role.MEMBER)
    client.get(reverse("projects:invitation", args=[invitation.token]))

    response = _sign_up(client, "asked@example.com")

    assert response.status_code == 302
    user = User.objects.get(email="asked@example.com")
    assert user.check_password(PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_closed_server_refuses_someone_not_invited(client, db, closed):
    form = client.get(reverse("account_signup"))
    response = _sign_up(client, "stranger@example.com")

    assert form.status_code == 200 and response.status_code == 200
    assert "Sign Up Closed" in form.content.decode() and "Sign Up Closed" in response.content.decode()
    assert not User.objects.filter(email="stranger@example.com").exists()
    assert "_auth_user_id" not in client.session


def test_an_open_server_lets_anyone_sign_up(client, db, settings):
    settings.SIGNUP_OPEN = True
    response = _sign_up(client, "anyone@example.com")

    assert response.status_code == 302
    assert User.objects.filter(email="anyone@example.com").exists()


def test_an_invitation_to_a_deleted_project_does_not_open_a_closed_server(client, team, closed):
    from django.utils import timezone

    invitation = Invitation.objects.create(project=team.project, email="gone@example.com", role=Role.MEMBER)
    team.project.deleted_at = timezone.now()
    team.project.save(update_fields=["deleted_at"])
    client.get(reverse("projects:invitation", args=[invitation.token]))

    response = _sign_up(client, "gone@example.com")

    assert response.status_code == 200 and "Sign Up Closed" in response.content.decode()
    assert not User.objects.filter(email="gone@example.com").exists()


# Single sign-on (accounts.adapter.SocialAccountAdapter): who may get a new account through the provider.


def _sso_decision(rf, email, *, invited=None):
    from types import SimpleNamespace

    from django.contrib.sessions.backends.db import SessionStore

    from accounts.adapter import SocialAccountAdapter

    request = rf.get("/accounts/oidc/sso/login/callback/")
    request.session = SessionStore()
    if invited is not None:
        request.session["account_verified_email"] = invited
    sociallogin = SimpleNamespace(user=SimpleNamespace(email=email))
    return SocialAccountAdapter(request).is_open_for_signup(request, sociallogin)


@pytest.mark.parametrize(
    ("email", "invited", "allowed"),
    [
        ("someone@example.com", None, False),
        ("staff@corp.example", None, True),  # an SSO-only domain: its people have no other way in
        ("Staff@CORP.example", None, True),
        ("asked@example.com", "asked@example.com", True),
        ("Asked@Example.com", "asked@EXAMPLE.com", True),
        ("other@example.com", "asked@example.com", False),
        ("", "", False),
        (None, None, False),
    ],
)
def test_sso_sign_up_on_a_closed_server(rf, closed, settings, email, invited, allowed):
    settings.FILEDOCK_SSO_ONLY_DOMAINS = ["corp.example"]
    assert _sso_decision(rf, email, invited=invited) is allowed


def test_sso_sign_up_on_an_open_server(rf, settings, db):
    settings.SIGNUP_OPEN = True
    settings.FILEDOCK_SSO_ONLY_DOMAINS = []
    assert _sso_decision(rf, "anyone@example.com") is True


@pytest.mark.parametrize("existing", [True, False])
def test_an_sso_sign_in_is_in_the_account_log(rf, team, existing):
    from types import SimpleNamespace

    from accounts.adapter import SocialAccountAdapter
    from accounts.models import AuditEvent

    user = team.member if existing else User(email="new@corp.example")
    sociallogin = SimpleNamespace(user=user, is_existing=existing, account=SimpleNamespace(provider="openid_connect"))
    SocialAccountAdapter(rf.get("/")).pre_social_login(rf.get("/"), sociallogin)

    event = AuditEvent.objects.get(action="sso.login")
    assert event.actor == (team.member if existing else None)
    assert event.details == {"provider": "openid_connect", "email": user.email}


# What a new account starts with (accounts.services.account_setup): its own default project, unless
# an invitation brought the person, who then works in the inviting project only.


def _owned(email):
    return list(Project.objects.filter(memberships__user__email=email, memberships__role=Role.OWNER))


def test_a_new_account_gets_one_default_project_even_when_others_are_invited(client, team, settings):
    settings.SIGNUP_OPEN = True
    Invitation.objects.create(project=team.project, email="asked@example.com", role=Role.MEMBER)

    _sign_up(client, "anyone@example.com")

    assert [project.name for project in _owned("anyone@example.com")] == [DEFAULT_PROJECT_NAME]


def test_an_invited_person_signs_up_without_a_project_of_their_own(client, team, closed):
    invitation = Invitation.objects.create(project=team.project, email="Asked@Example.com", role=Role.MEMBER)
    client.get(reverse("projects:invitation", args=[invitation.token]))

    _sign_up(client, "asked@example.com")

    assert User.objects.filter(email="asked@example.com").exists() and _owned("asked@example.com") == []


def test_an_invitation_to_a_deleted_project_still_gives_a_default_project(client, team, settings):
    settings.SIGNUP_OPEN = True
    Invitation.objects.create(project=team.project, email="gone@example.com", role=Role.MEMBER)
    project_delete(project=team.project)

    _sign_up(client, "gone@example.com")

    assert [project.name for project in _owned("gone@example.com")] == [DEFAULT_PROJECT_NAME]


def test_setting_an_account_up_twice_keeps_its_one_project_and_shows_no_secret_again(db):
    user = UserFactory()
    project, secret = account_setup(user=user)

    assert account_setup(user=user) == (project, "")
    assert len(secret) == 40 and _owned(user.email) == [project]
