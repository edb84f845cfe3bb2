import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from projects.models import SecretKey
from tests.factories import PASSWORD, UserFactory

ADMIN_MODELS = [
    "accounts/user",
    "projects/project",
    "projects/membership",
    "projects/invitation",
    "projects/secretkey",
    "files/file",
]


@pytest.fixture
def staff_client(client, team):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_changelists_load_with_search(staff_client, model):
    response = staff_client.get(f"/admin/{model}/?q=acme")
    assert response.status_code == 200


def test_admin_never_shows_secret_keys(staff_client, team):
    key = SecretKey.objects.filter(project=team.project).first()
    listing = staff_client.get("/admin/projects/secretkey/").content.decode()
    detail = staff_client.get(f"/admin/projects/secretkey/{key.pk}/change/").content.decode()
    assert key.secret not in listing and key.secret not in detail
    assert key.last4 in listing


def test_admin_revoke_action(staff_client, team):
    key = SecretKey.objects.filter(project=team.project).first()
    staff_client.post("/admin/projects/secretkey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_admin_suspend_action_ends_sessions_and_blocks_login(staff_client, team):
    member_client = Client()
    member_client.post(reverse("account_login"), {"login": team.member.email, "password": PASSWORD})
    overview = reverse("projects:overview", args=[team.project.pk])
    assert member_client.get(overview).status_code == 200

    staff_client.post("/admin/accounts/user/", {"action": "suspend", "_selected_action": [team.member.pk]})

    member = User.objects.get(pk=team.member.pk)
    assert not member.is_active and member.suspended_at is not None
    assert member_client.get(overview).status_code == 302
    fresh = Client()
    fresh.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert "_auth_user_id" not in fresh.session


def test_healthz_reports_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
