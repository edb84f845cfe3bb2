"""A new project's first secret key is shown in full once, on the first of its pages the owner opens
(projects.one_shot.FIRST_SECRET), and works on the REST API; after that it is only masked."""

import re

import pytest
from django.urls import reverse

from projects.models import Project
from tests.helpers import ACCEPT

PASSWORD = "s3cure-passw0rd!"
SECRET = re.compile(r'id="new-secret-value">([0-9a-f]{40})</code>')


def _sign_up_and_confirm(client, mailoutbox, email: str) -> Project:
    client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body)[0]
    path = link.split("testserver", 1)[1]
    assert client.post(path).status_code == 302  # confirming signs the person in (same browser)
    return Project.objects.get(memberships__user__email=email)


def _rest(client, project: Project, secret: str) -> int:
    response = client.get(
        "/api/project/", HTTP_AUTHORIZATION=f"Uploadcare.Simple {project.public_key}:{secret}", HTTP_ACCEPT=ACCEPT
    )
    return response.status_code


@pytest.mark.django_db
def test_the_default_projects_secret_is_shown_once_after_signup_and_works(client, mailoutbox):
    project = _sign_up_and_confirm(client, mailoutbox, "first@example.com")

    first = client.get(reverse("projects:overview", args=[project.pk]))
    body = first.content.decode()
    secret = SECRET.search(body)[1]
    assert "it won't be shown again" in body and first["Cache-Control"] == "no-store"
    assert f"secret_key=&quot;{secret}&quot;" in body  # the quick start is ready to paste
    assert secret == project.secret_keys.get().secret
    assert _rest(client, project, secret) == 200

    second = client.get(reverse("projects:overview", args=[project.pk]))
    keys = client.get(reverse("projects:keys", args=[project.pk]))
    for page in (second, keys):
        assert secret not in page.content.decode() and 'data-testid="new-secret"' not in page.content.decode()
    assert "secret_key=&quot;YOUR_SECRET_KEY&quot;" in second.content.decode()
    assert project.secret_keys.get().masked in keys.content.decode()


@pytest.mark.django_db
def test_the_keys_page_shows_it_if_opened_first(client, mailoutbox):
    project = _sign_up_and_confirm(client, mailoutbox, "keys-first@example.com")
    keys = client.get(reverse("projects:keys", args=[project.pk]))
    assert SECRET.search(keys.content.decode())[1] == project.secret_keys.get().secret
    assert (
        'data-testid="new-secret"' not in client.get(reverse("projects:overview", args=[project.pk])).content.decode()
    )


def test_a_project_made_in_the_dashboard_shows_its_secret_once(login, team):
    client = login(team.member)
    client.post(reverse("projects:create"), {"name": "Side project"})
    project = Project.objects.get(name="Side project")
    body = client.get(reverse("projects:overview", args=[project.pk])).content.decode()
    assert SECRET.search(body)[1] == project.secret_keys.get().secret
    assert not SECRET.search(client.get(reverse("projects:overview", args=[project.pk])).content.decode())


def test_another_projects_page_does_not_take_the_secret(login, team):
    client = login(team.owner)
    client.post(reverse("projects:create"), {"name": "Side project"})
    project = Project.objects.get(name="Side project")
    assert not SECRET.search(client.get(reverse("projects:overview", args=[team.project.pk])).content.decode())
    assert SECRET.search(client.get(reverse("projects:overview", args=[project.pk])).content.decode())
