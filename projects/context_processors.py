import functools
import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils.functional import SimpleLazyObject

from core import rawsql
from projects.models import Membership, Project, Role


@dataclass(frozen=True, slots=True)
class SwitcherProject:
    """A project as the switcher lists it: its name, the user's role in it, and its owner."""

    pk: uuid.UUID
    name: str
    my_role: str
    owner_email: str | None


def project_switcher(request):
    """The signed-in user's projects for the switcher; queried only if a template reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"switcher_projects": SimpleLazyObject(lambda: switcher_projects(user.pk))}


def switcher_projects(user_id) -> list[SwitcherProject]:
    """The user's live projects by name, each with the role held and the owner's email address.

    Every dashboard page lists them: SQL written once per process (core.rawsql), as the ORM took
    longer to build this query than PostgreSQL to answer it."""
    with connection.cursor() as cursor:
        cursor.execute(_switcher_query(), [Role.OWNER.value, user_id])
        # SQLite answers the id as hex text: made a UUID, as the ORM would.
        return [SwitcherProject(Project._meta.pk.to_python(pk), *rest) for pk, *rest in cursor.fetchall()]


@functools.cache
def _switcher_query() -> str:
    users = rawsql.table(Membership._meta.get_field("user").related_model)
    memberships, projects = rawsql.table(Membership), rawsql.table(Project)
    return (
        "SELECT p.id, p.name, m.role, "
        f"(SELECT u.email FROM {memberships} o JOIN {users} u ON u.id = o.user_id "
        "WHERE o.project_id = p.id AND o.role = %s) "
        f"FROM {memberships} m JOIN {projects} p ON p.id = m.project_id "
        "WHERE m.user_id = %s AND p.deleted_at IS NULL ORDER BY p.name"
    )
