"""The project switcher's list: the signed-in user's live projects, by name, with role and owner."""

from django.test import RequestFactory
from django.utils import timezone

from projects.context_processors import SwitcherProject, project_switcher, switcher_projects
from projects.models import Membership, Role
from projects.services import project_create


def test_lists_the_users_live_projects_by_name_with_role_and_owner(team):
    team.member.memberships.create(project=team.outsider.memberships.get().project, role=Role.VIEWER)
    own = project_create(owner=team.member, name="Bison")  # made and joined after Elsewhere, listed before it
    gone = project_create(owner=team.member, name="Aardvark")
    gone.deleted_at = timezone.now()
    gone.save(update_fields=["deleted_at"])
    elsewhere = team.outsider.memberships.get().project
    assert switcher_projects(team.member.pk) == [
        SwitcherProject(team.project.pk, "Acme", Role.MEMBER, "owner@example.com"),
        SwitcherProject(own.pk, "Bison", Role.OWNER, "member@example.com"),
        SwitcherProject(elsewhere.pk, "Elsewhere", Role.VIEWER, "outsider@example.com"),
    ]


def test_a_removed_member_no_longer_sees_the_project(team):
    assert [p.name for p in switcher_projects(team.viewer.pk)] == ["Acme"]
    Membership.objects.filter(user=team.viewer).delete()
    assert switcher_projects(team.viewer.pk) == []


def test_the_list_is_read_only_when_a_template_reads_it(team, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = team.admin
    with django_assert_num_queries(0):
        context = project_switcher(request)
    with django_assert_num_queries(1):
        assert [p.my_role for p in context["switcher_projects"]] == [Role.ADMIN]
