from django.utils.functional import SimpleLazyObject

from projects.models import Project


def project_switcher(request):
    """The signed-in user's projects for the switcher; queried only if a template reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"switcher_projects": SimpleLazyObject(lambda: list(Project.objects.for_user(user).order_by("name")))}
