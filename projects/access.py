"""The one place that decides who may see and change a project.

Outsiders (and deleted projects) get 404, so a project's existence is not revealed;
collaborators whose role is too low get 403.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed

from projects.models import Membership, Project, Role


def get_project(request, project_id, role: str = Role.VIEWER) -> Project:
    membership = (
        Membership.objects.select_related("project")
        .filter(project_id=project_id, project__deleted_at__isnull=True, user_id=request.user.pk)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {role} role or higher.")
    project = membership.project
    project.membership = membership
    return project


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
