from allauth.account import forms as allauth_forms
from django import forms
from django.conf import settings

from accounts.models import AuditEvent


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditEvent.Action.choices], required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)

    def filters(self) -> dict:
        """The valid filters as keyword arguments for `accounts.audit.audit_page`; bad values are ignored."""
        self.is_valid()
        return {
            name: self.cleaned_data.get(name) or default
            for name, default in (("action", ""), ("date_from", None), ("date_to", None), ("before", ""))
        }


class LoginForm(allauth_forms.LoginForm):
    """allauth's login form in the product's words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = "Keep me logged in on this device"

    def clean(self):
        refuse_sso_only(self.data.get("login", ""))
        return super().clean()


class SignupForm(allauth_forms.SignupForm):
    def clean_email(self):
        email = super().clean_email()
        refuse_sso_only(email)
        return email


def sso_only(email: str) -> bool:
    """Whether `email` belongs to a domain whose people sign in through single sign-on only."""
    return email.strip().rpartition("@")[2].lower() in settings.FILEDOCK_SSO_ONLY_DOMAINS


def refuse_sso_only(email: str) -> None:
    if sso_only(email):
        domain = email.strip().rpartition("@")[2].lower()
        raise forms.ValidationError(
            f"Accounts at {domain} sign in with {settings.FILEDOCK_SSO_NAME}: use the button below.",
            code="sso_only",
        )
