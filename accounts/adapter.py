from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.conf import settings

from accounts.audit import audit_record
from accounts.forms import sso_only
from accounts.models import AuditEvent


class AccountAdapter(DefaultAccountAdapter):
    # allauth's "Please type your current password." read as if nothing had been typed.
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "enter_current_password": "That is not your current password.",
    }

    def is_open_for_signup(self, request) -> bool:
        # A closed server still lets invited people sign up with the address they were invited at.
        if settings.SIGNUP_OPEN:
            return True
        return bool(request.session.get("account_verified_email"))


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    def end_sessions(self, sessions) -> None:
        # allauth sends no signal when sessions are ended ("Sign out other sessions"); the account
        # log should still show it, as it shows a password change.
        sessions = list(sessions)
        super().end_sessions(sessions)
        if sessions:
            audit_record(
                action=AuditEvent.Action.SESSIONS_ENDED, actor=sessions[0].user, details={"sessions": len(sessions)}
            )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: who may come in through the organisation's provider."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        # A new account through the provider: where signup is open, for an SSO-only domain (its
        # people have no other way in), or for an invited address.
        email = (sociallogin.user.email or "").lower()
        if settings.SIGNUP_OPEN or sso_only(email):
            return True
        return email != "" and email == (request.session.get("account_verified_email") or "").lower()

    def pre_social_login(self, request, sociallogin) -> None:
        audit_record(
            action=AuditEvent.Action.SSO_LOGIN,
            actor=sociallogin.user if sociallogin.is_existing else None,
            details={"provider": sociallogin.account.provider, "email": sociallogin.user.email},
        )
