"""The one place that decides who may see and change a project.

Outsiders (and deleted projects) get 404, so a project's existence is not revealed;
collaborators whose role is too low get 403.
"""

import functools
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponseNotAllowed

from core import rawsql
from projects.models import Membership, Project, Role


def get_project(request, project_id, role: str = Role.VIEWER) -> Project:
    """The live project `project_id` with the signed-in user's membership as `project.membership`.

    Every project page makes this check: one hand-written SELECT (core.rawsql), as the ORM took
    longer to build it than PostgreSQL to answer. Nothing is cached: a removed member or a deleted
    project is refused on the very next request."""
    memberships, projects = rawsql.columns(Membership, "m"), rawsql.columns(Project, "p")
    with connection.cursor() as cursor:
        cursor.execute(_membership_query(), [rawsql.param(Project, "id", project_id), request.user.pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such project.")
    membership = memberships.load(row[: len(memberships)])
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {role} role or higher.")
    project = projects.load(row[len(memberships) :])
    membership.project = project
    project.membership = membership
    return project


@functools.cache
def _membership_query() -> str:
    """The user's membership of a live project, with the project."""
    return (
        f"SELECT {rawsql.columns(Membership, 'm').sql}, {rawsql.columns(Project, 'p').sql} "
        f"FROM {rawsql.table(Membership)} m JOIN {rawsql.table(Project)} p ON p.id = m.project_id "
        "WHERE m.project_id = %s AND m.user_id = %s AND p.deleted_at IS NULL"
    )


def project_view(role: str = Role.VIEWER, methods: tuple[str, ...] = ("GET", "POST")):
    """Decorates a view taking `project_id`: checks sign-in, access and method, passes `project`.

    The role and methods are kept on the view so the access test can walk every project URL.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, project_id, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            project = get_project(request, project_id, role)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, project, *args, **kwargs)

        wrapper.project_role = role
        wrapper.project_methods = methods
        return wrapper

    return decorator
