"""The project pages' layout (templates/base.html, base_project.html): the top bar's menus and the
sidebar each role sees, with the current page marked."""

import re

import pytest
from django.urls import reverse

from projects.models import Role

EVERYONE = ["projects:overview", "files:list", "projects:integrate", "projects:collaborators"]
ADMINS = [
    "projects:overview",
    "files:list",
    "projects:integrate",
    "projects:keys",
    "projects:collaborators",
    "projects:webhooks",
    "projects:oauth_apps",
    "projects:settings",
    "projects:delivery",
    "files:storage:index",
    "files:proxy:index",
    "projects:api_logs",
    "projects:audit",
]
SIDEBAR = {"owner": ADMINS, "admin": ADMINS, "member": EVERYONE, "viewer": EVERYONE}
BADGE = {"owner": "Owner", "admin": "Admin", "member": "Member", "viewer": "Viewer"}


def _links(html: str, pattern: str) -> list[tuple[str, bool]]:
    """The (href, current) of each link in the first element matching `pattern`."""
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return [(href, "aria-current" in rest) for href, rest in re.findall(r'<a href="([^"]*)"([^>]*)>', found.group(1))]


@pytest.mark.parametrize("persona", ["owner", "admin", "member", "viewer"])
@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("files:list", "files:list"),
        ("projects:overview", "projects:overview"),
        ("projects:collaborators", "projects:collaborators"),
    ],
)
def test_the_sidebar_shows_what_the_role_may_open_and_marks_the_page(login, team, persona, page, current):
    html = login(team.user(persona)).get(reverse(page, args=[team.project.pk])).content.decode()
    sidebar = r'<nav class="sidebar" aria-label="Project">(.*?)</nav>'
    expected = [(reverse(name, args=[team.project.pk]), name == current) for name in SIDEBAR[persona]]
    assert _links(html, sidebar) == expected
    assert f'<p class="sidebar-project">Acme<span class="role-badge">{BADGE[persona]}</span></p>' in html


@pytest.mark.parametrize(
    ("name", "args_of", "current"),
    [
        ("projects:webhooks", lambda team: [team.project.pk], "projects:webhooks"),
        ("files:storage:index", lambda team: [team.project.pk], "files:storage:index"),
        ("files:proxy:index", lambda team: [team.project.pk], "files:proxy:index"),
        ("projects:api_logs", lambda team: [team.project.pk], "projects:api_logs"),
    ],
)
def test_an_admin_page_marks_its_own_section(login, team, name, args_of, current):
    html = login(team.admin).get(reverse(name, args=args_of(team))).content.decode()
    marked = [href for href, on in _links(html, r'<nav class="sidebar" aria-label="Project">(.*?)</nav>') if on]
    assert marked == [reverse(current, args=[team.project.pk])]


@pytest.mark.parametrize("staff", [False, True])
def test_the_top_bar_links_the_projects_and_the_account(login, team, staff):
    team.member.is_staff = staff
    team.member.save(update_fields=["is_staff"])
    elsewhere = team.outsider.memberships.get().project
    team.member.memberships.create(project=elsewhere, role=Role.VIEWER)
    html = login(team.member).get(reverse("files:list", args=[team.project.pk])).content.decode()
    assert re.search(rf'<a class="brand" href="{reverse("projects:home")}">', html)
    switcher = _links(html, r'data-testid="project-switcher">(.*?)</details>')
    assert switcher == [
        (reverse("projects:overview", args=[team.project.pk]), True),
        (reverse("projects:overview", args=[elsewhere.pk]), False),
        (reverse("projects:list"), False),
        (reverse("projects:create"), False),
    ]
    account = ["account_email", "account_change_password", "mfa_index", "usersessions_list", "accounts:audit"]
    account += ["billing:overview"] + (["admin:index"] if staff else [])
    assert _links(html, r'<details class="menu account-menu">(.*?)</details>') == [
        (reverse(name), False) for name in account
    ]
    assert f'<form method="post" action="{reverse("account_logout")}">' in html
