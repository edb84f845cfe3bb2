from django.db.models import F, OuterRef, Subquery
from django.utils.functional import SimpleLazyObject

from projects.models import Membership, Project, Role


def project_switcher(request):
    """The signed-in user's projects for the switcher; queried only if a template reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    owner = Membership.objects.filter(project=OuterRef("pk"), role=Role.OWNER).values("user__email")[:1]
    projects = (
        Project.objects.for_user(user)
        .annotate(my_role=F("memberships__role"), owner_email=Subquery(owner))  # the role: the filter's join
        .order_by("name")
    )
    return {"switcher_projects": SimpleLazyObject(lambda: list(projects))}
