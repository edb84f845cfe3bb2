"""projects.access.project_view called directly, so what it decides is checked at test time
(the URL walk in test_access.py decorates its views when the URLconf is imported)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from projects.access import get_project, project_view
from projects.models import Membership, Project, Role


def _view(request, project, extra=None):
    return HttpResponse(f"{project.pk}|{project.membership.role}|{extra}")


def _request(method, user, path="/p/x/"):
    request = getattr(RequestFactory(), method.lower())(path)
    request.user = user
    return request


def test_the_decorated_view_gets_the_project_and_keeps_its_role_and_methods(team):
    view = project_view(Role.ADMIN, methods=("POST",))(_view)
    assert (view.project_role, view.project_methods, view.__name__) == (Role.ADMIN, ("POST",), "_view")

    response = view(_request("POST", team.admin), team.project.pk, extra="more")
    assert response.status_code == 200
    assert response.content.decode() == f"{team.project.pk}|{Role.ADMIN}|more"


def test_defaults_are_viewer_and_get_or_post(team):
    view = project_view()(_view)
    assert (view.project_role, view.project_methods) == (Role.VIEWER, ("GET", "POST"))
    assert view(_request("GET", team.viewer), team.project.pk).status_code == 200
    assert view(_request("POST", team.viewer), team.project.pk).status_code == 200


def test_a_method_not_listed_is_a_405_naming_the_allowed_ones(team):
    view = project_view(Role.VIEWER, methods=("POST",))(_view)
    response = view(_request("GET", team.owner), team.project.pk)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_anonymous_is_sent_to_sign_in_and_back(team):
    view = project_view()(_view)
    response = view(_request("GET", AnonymousUser(), path="/p/x/?tab=1"), team.project.pk)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/p/x/%3Ftab%3D1"


def test_an_outsider_and_a_deleted_project_are_404(team):
    from django.utils import timezone

    with pytest.raises(Http404):
        get_project(_request("GET", team.outsider), team.project.pk)
    team.project.deleted_at = timezone.now()
    team.project.save(update_fields=["deleted_at"])
    with pytest.raises(Http404):
        get_project(_request("GET", team.owner), team.project.pk)


@pytest.mark.parametrize(("persona", "role"), [("viewer", Role.MEMBER), ("member", Role.ADMIN), ("admin", Role.OWNER)])
def test_a_role_too_low_is_a_403_naming_the_role_needed(team, persona, role):
    with pytest.raises(PermissionDenied, match=f"^This needs the {role} role or higher.$"):
        get_project(_request("GET", team.user(persona)), team.project.pk, role)


@pytest.mark.parametrize("persona", ["viewer", "member", "admin", "owner"])
def test_each_role_reaches_what_its_rank_allows(team, persona):
    project = get_project(_request("GET", team.user(persona)), team.project.pk, persona)
    assert project.pk == team.project.pk and project.membership.user_id == team.user(persona).pk


def test_the_project_and_membership_are_loaded_as_the_orm_loads_them(team):
    """get_project's hand-written SELECT gives what Membership.objects.select_related("project") did."""
    team.project.max_file_size, team.project.allowed_mime_types = 12345, "image/*"
    team.project.save()
    project = get_project(_request("GET", team.member), team.project.pk)
    expected = Project.objects.get(pk=team.project.pk)
    membership = Membership.objects.get(project=team.project, user=team.member)
    for field in Project._meta.concrete_fields:
        assert getattr(project, field.attname) == getattr(expected, field.attname), field.name
    for field in Membership._meta.concrete_fields:
        assert getattr(project.membership, field.attname) == getattr(membership, field.attname), field.name
    assert project.membership.project is project and project.membership.is_admin is False


def test_a_removed_member_is_refused_on_the_next_request(team):
    assert get_project(_request("GET", team.member), team.project.pk).membership.role == Role.MEMBER
    Membership.objects.filter(project=team.project, user=team.member).delete()
    with pytest.raises(Http404):
        get_project(_request("GET", team.member), team.project.pk)


def test_membership_of_another_project_does_not_open_this_one(team):
    with pytest.raises(Http404):
        get_project(_request("GET", team.outsider), team.project.pk)
    elsewhere = team.outsider.memberships.get().project
    with pytest.raises(Http404):
        get_project(_request("GET", team.owner), elsewhere.pk)
