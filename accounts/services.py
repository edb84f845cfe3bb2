"""Changes to accounts: set-up after signup, suspension, and the bootstrap used by automation."""

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from projects.models import Invitation, Project, Role
from projects.services import project_create, project_create_with_secret

DEFAULT_PROJECT_NAME = "Default project"


def account_setup(*, user: User) -> tuple[Project | None, str]:
    """Gives a new account its default project (with public and secret keys), once; none for a
    person invited to a project, who arrives to work in that one. Returns the project and, when
    it was made now, its secret key's plain secret (else "")."""
    owned = Project.objects.for_user(user).filter(memberships__role=Role.OWNER).first()
    if owned is not None:
        return owned, ""
    invited = Invitation.objects.pending().filter(email__iexact=user.email, project__deleted_at__isnull=True)
    if invited.exists():
        return None, ""
    return project_create_with_secret(owner=user, name=DEFAULT_PROJECT_NAME)


@transaction.atomic
def account_bootstrap(*, email: str, password: str, project_name: str | None = None) -> Project:
    """Creates or updates a verified account and returns its project named `project_name`."""
    email = User.objects.normalize_email(email).lower()
    user, _created = User.objects.get_or_create(email=email)
    user.set_password(password)
    user.save()
    address, _ = EmailAddress.objects.get_or_create(user=user, email=email, defaults={"primary": True})
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    name = project_name or DEFAULT_PROJECT_NAME
    project = Project.objects.for_user(user).filter(name=name, memberships__role=Role.OWNER).first()
    return project or project_create(owner=user, name=name)


def user_suspend(*, user: User) -> None:
    """Blocks sign-in and ends every session of the account."""
    User.objects.filter(pk=user.pk).update(is_active=False, suspended_at=timezone.now())
    for session in UserSession.objects.filter(user=user):
        session.end()


def user_unsuspend(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=True, suspended_at=None)
