from allauth.account.signals import password_changed, password_reset, password_set, user_logged_in, user_signed_up
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_used
from django.dispatch import receiver

from accounts.audit import audit_record, login_device_check
from accounts.models import AuditEvent
from accounts.services import account_setup
from projects.one_shot import FIRST_SECRET, secret_keep


@receiver(user_signed_up)
def give_new_account_a_project(sender, request, user, **kwargs):
    project, secret = account_setup(user=user)
    if secret and request is not None:
        # The new owner sees the secret once, on the first page of the project they open.
        secret_keep(request, FIRST_SECRET, owner_id=project.pk, secret=secret)


@receiver(user_logged_in)
def note_sign_in_device(sender, request, user, **kwargs):
    login_device_check(user=user, request=request)


@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
def note_password_change(sender, request, user, **kwargs):
    audit_record(action=AuditEvent.Action.PASSWORD_CHANGED, actor=user)


@receiver(authenticator_added)
def note_mfa_on(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.TOTP:
        audit_record(action=AuditEvent.Action.MFA_ENABLED, actor=user)


@receiver(authenticator_removed)
def note_mfa_off(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.TOTP:
        audit_record(action=AuditEvent.Action.MFA_DISABLED, actor=user)


@receiver(authenticator_used)
def note_recovery_code(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        audit_record(action=AuditEvent.Action.RECOVERY_CODE_USED, actor=user)
