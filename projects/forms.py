import re
from datetime import UTC, datetime, time

from django import forms
from django.conf import settings
from django.utils import timezone

from projects.models import INVITABLE_ROLES, ApiLogLine, Membership, Project, Role, Scope, WebhookEvent, all_scopes

MIME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$")


class ProjectNameForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name


class ProjectDeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the project name to confirm", max_length=100)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"]
        if value.strip() != self.project.name:
            raise forms.ValidationError("The name you typed does not match the project's name.")
        return value


class SecretKeyForm(forms.Form):
    label = forms.CharField(max_length=100, strip=True, help_text="Where the key is used, e.g. “production backend”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=all_scopes,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do over the REST API. A call outside them answers 403.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the key stops working at the start of this day (UTC).",
    )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value and value <= timezone.now().date():
            raise forms.ValidationError("Pick a day after today.")
        return value

    def key_settings(self) -> dict:
        day = self.cleaned_data.get("expires_on")
        expires = datetime.combine(day, time.min, tzinfo=UTC) if day else None
        return {"scopes": self.cleaned_data["scopes"], "expires_at": expires}


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=INVITABLE_ROLES, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=INVITABLE_ROLES)


class TransferForm(forms.Form):
    membership = forms.ModelChoiceField(queryset=Membership.objects.none(), label="New owner")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = project.memberships.exclude(role=Role.OWNER).select_related("user")
        self.fields["membership"].label_from_instance = lambda m: f"{m.user.email} ({m.get_role_display()})"


class UploadSettingsForm(forms.ModelForm):
    max_file_size_mb = forms.IntegerField(
        label="Maximum file size (MB)",
        required=False,
        min_value=1,
        help_text="Empty: the server's limit.",
    )

    class Meta:
        model = Project
        fields = ["autostore_enabled", "require_signed_uploads", "allowed_mime_types", "svg_validation", "strip_exif"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strip_exif"].required = False  # a form without the field (an older page) means off
        if self.instance.max_file_size:
            self.initial["max_file_size_mb"] = self.instance.max_file_size // (1024 * 1024)

    def clean_allowed_mime_types(self):
        value = self.cleaned_data["allowed_mime_types"]
        patterns = [p.strip().lower() for p in value.split(",") if p.strip()]
        for pattern in patterns:
            if not MIME_PATTERN.match(pattern):
                raise forms.ValidationError(
                    f"“{pattern}” is not a MIME type or pattern like image/* or application/pdf."
                )
        return ", ".join(patterns)

    def clean_max_file_size_mb(self):
        value = self.cleaned_data["max_file_size_mb"]
        limit_mb = settings.FILEDOCK_MAX_FILE_SIZE // (1024 * 1024)
        if value and value > limit_mb:
            raise forms.ValidationError(f"The server accepts at most {limit_mb} MB.")
        return value

    def upload_settings(self) -> dict:
        mb = self.cleaned_data.get("max_file_size_mb")
        return {
            "autostore_enabled": self.cleaned_data["autostore_enabled"],
            "require_signed_uploads": self.cleaned_data["require_signed_uploads"],
            "allowed_mime_types": self.cleaned_data["allowed_mime_types"],
            "max_file_size": mb * 1024 * 1024 if mb else None,
            "svg_validation": self.cleaned_data["svg_validation"],
            "strip_exif": self.cleaned_data["strip_exif"] or "off",
        }


class WebhookForm(forms.Form):
    target_url = forms.URLField(
        label="Target URL",
        max_length=2000,
        assume_scheme="https",
        help_text="An http or https URL that accepts POST requests with a JSON body.",
    )
    event = forms.ChoiceField(choices=[(value, f"{value} — {label}") for value, label in WebhookEvent.choices])
    is_active = forms.BooleanField(label="Active", required=False, initial=True)


class WebhookEditForm(WebhookForm):
    is_active = None  # turned off and on with its own buttons, which also clear the failure record


class DeliverySettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["signed_delivery", "auto_format", "default_quality", "download_non_images"]


class SafetySettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["malware_protection", "moderation", "moderation_threshold"]

    def clean_moderation_threshold(self):
        value = self.cleaned_data["moderation_threshold"]
        if not 1 <= value <= 100:
            raise forms.ValidationError("A confidence between 1 and 100 %.")
        return value


LOCAL_ATTRS = {"type": "datetime-local"}
LOCAL = "%Y-%m-%dT%H:%M"


class ApiLogFilterForm(forms.Form):
    """The API logs page's filters, read from the query string (the exports take the same ones)."""

    METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    api = forms.ChoiceField(label="API", choices=[("", "All APIs"), *ApiLogLine.Api.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("2xx", "2xx"), ("3xx", "3xx"), ("4xx", "4xx"), ("5xx", "5xx")], required=False
    )
    method = forms.ChoiceField(choices=[("", "Any method"), *((m, m) for m in METHODS)], required=False)
    since = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    before = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def filters(self) -> dict:
        """The valid filters as keyword arguments for `projects.apilogs.api_log_lines`; bad values are ignored."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) or None for name in ("since", "until")} | {
            name: self.cleaned_data.get(name) or "" for name in ("api", "status", "method")
        }
