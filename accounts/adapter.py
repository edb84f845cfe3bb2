from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


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
