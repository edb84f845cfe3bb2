"""Forms of the files browser: upload, search and filters, bulk actions, metadata."""

import html
import re
import uuid as uuid_lib

from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import IContains
from django.forms.renderers import Jinja2
from django.template.defaultfilters import filesizeformat

from billing.quotas import QuotaExceeded
from core.pagination import InvalidCursor, Keyset, Position, cursor_decode, cursor_encode
from files import services
from files.errors import UploadError
from files.initiators import api_initiator
from files.models import File, FileTag
from files.tags import MAX_LENGTH as TAG_MAX_LENGTH
from files.tags import TagError, tags_normalize, tags_parse

# The files listing: newest first; the (project, -datetime_uploaded, -uuid) index serves it.
NEWEST_FIRST = Keyset("datetime_uploaded", descending=True)
MIME_PREFIX = re.compile(r"^[a-z0-9][a-z0-9.+\-]*/?[a-z0-9.+\-]*$")
BULK_MAX = 500


class PageWidgets(Jinja2):
    """The files page's text inputs and selects written in Python, byte for byte as Django's widget
    templates write them: through templates, each option and each attribute list was an include,
    0.1 ms a select. Any other widget goes through Django's Jinja2 widget templates."""

    def render(self, template_name, context, request=None):
        widget = context["widget"]
        if template_name == "django/forms/widgets/text.html":
            value = "" if widget["value"] is None else f' value="{_e(widget["value"])}"'
            return f'<input type="{_e(widget["type"])}" name="{_e(widget["name"])}"{value}{_attrs(widget)}>'
        if template_name == "django/forms/widgets/select.html" and not any(name for name, _, _ in widget["optgroups"]):
            options = "".join(
                f'\n  <option value="{_e(option["value"])}"{_attrs(option)}>{_e(option["label"])}</option>\n'
                for _, choices, _ in widget["optgroups"]
                for option in choices
            )
            return f'<select name="{_e(widget["name"])}"{_attrs(widget)}>{options}\n</select>'
        return super().render(template_name, context, request)


def _attrs(widget: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"` each, ` name` for True, nothing for False."""
    return "".join(
        f" {_e(name)}" if value is True else f' {_e(name)}="{_e(value)}"'
        for name, value in widget["attrs"].items()
        if value is not False
    )


def _e(value) -> str:
    """Django's conditional_escape, without its lazy-string wrapper (a third of its time)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


# One renderer per process: the widgets it leaves to templates come from its compiled-template cache.
PAGE_WIDGETS = PageWidgets()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        items = [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]
        if not items and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def size_refusal(project, name: str, size: int) -> str | None:
    """Why the page refuses a file of `size` bytes before sending it anywhere, or None."""
    limit, whose = services.upload_limit(project)
    if size <= limit:
        return None
    return (
        f"“{name}” is {filesizeformat(size)}: files larger than "
        f"{filesizeformat(limit)} are not accepted (a limit set by {whose})."
    )


class UploadForm(forms.Form):
    default_renderer = PAGE_WIDGETS
    files = MultipleFileField(label="Files", error_messages={"required": "Choose at least one file."})

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["files"].widget.attrs.update(
            {"accept": project.allowed_mime_types.replace(" ", "")} if project.allowed_mime_types else {}
        )

    def clean_files(self) -> list:
        files = self.cleaned_data["files"]
        for upload in files:
            refusal = size_refusal(self.project, upload.name, upload.size)
            if refusal:
                raise forms.ValidationError(refusal)
        try:
            for upload in files:
                services.check_size(self.project, upload.size)
        except (UploadError, QuotaExceeded) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return files

    def save(self) -> list[File]:
        return services.file_upload_batch(
            project=self.project,
            uploads=self.cleaned_data["files"],
            store=services.resolve_store(self.project, "auto"),
            source="dashboard",
            initiator=api_initiator("dashboard"),
        )


class CursorField(forms.CharField):
    """A position in the files listing (NEWEST_FIRST), as a core.pagination cursor."""

    @staticmethod
    def encode(file: File) -> str:
        return cursor_encode(NEWEST_FIRST.position_of(file))

    def to_python(self, value: str | None) -> Position | None:
        value = super().to_python(value)
        if not value:
            return None
        try:
            return cursor_decode(value, parse_pk=uuid_lib.UUID)
        except InvalidCursor as exc:
            raise forms.ValidationError("This page link is no longer valid.") from exc


STATE_CHOICES = [
    ("", "Stored and temporary"),
    ("stored", "Stored"),
    ("temporary", "Temporary"),
    ("removed", "Removed"),
    ("infected", "Infected"),
    ("all", "All, including removed"),
]
TYPE_CHOICES = [
    ("", "All types"),
    ("images", "Images"),
    ("other", "Other than images"),
    ("video/", "Video"),
    ("audio/", "Audio"),
    ("text/", "Text"),
    ("application/pdf", "PDF"),
]


class NameContains(IContains):
    """`icontains` that PostgreSQL answers from the trigram index on the name (files 0005): ILIKE
    there, where Django's own compares UPPER(name::text), which that index cannot serve."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


class FileFilterForm(forms.Form):
    default_renderer = PAGE_WIDGETS
    q = forms.CharField(
        required=False,
        max_length=255,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Search by file name or UUID", "aria-label": "Search files"}
        ),
    )
    state = forms.ChoiceField(
        required=False, choices=STATE_CHOICES, widget=forms.Select(attrs={"aria-label": "State", "data-autosubmit": ""})
    )
    type = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.Select(choices=TYPE_CHOICES, attrs={"aria-label": "Type", "data-autosubmit": ""}),
    )
    tag = forms.CharField(
        required=False,
        max_length=TAG_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Tag", "aria-label": "Tag", "size": 12}),
    )
    after = CursorField(required=False, widget=forms.HiddenInput)
    before = CursorField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        value = self.data.get("type", "")
        if value and value not in dict(TYPE_CHOICES):
            # Any MIME prefix works from the URL; show it so the select does not lie.
            self.fields["type"].widget.choices = [*TYPE_CHOICES, (value, value)]

    def clean_type(self) -> str:
        value = self.cleaned_data["type"].strip().lower()
        if value and value not in ("images", "other") and not MIME_PREFIX.match(value):
            raise forms.ValidationError("Pick a type, or give a MIME prefix such as image/ or application/pdf.")
        return value

    def filter(self, files: QuerySet) -> QuerySet:
        """The project's files narrowed by search, state and type; invalid fields count as empty."""
        self.is_valid()
        data = self.cleaned_data
        return files.filter(
            self._search(data.get("q", "")),
            self._state(data.get("state", "")),
            self._type(data.get("type", "")),
            self._tag(data.get("tag", "")),
        )

    def clean_tag(self) -> str:
        try:
            tags = tags_normalize([self.cleaned_data["tag"]])
        except TagError as exc:
            raise forms.ValidationError(str(exc)) from None
        return tags[0] if tags else ""

    @staticmethod
    def _tag(tag: str) -> Q:
        # FileTag's (project, tag) index; the outer query is already the project's files.
        return (
            Q(Exists(FileTag.objects.filter(project_id=OuterRef("project_id"), tag=tag, file_id=OuterRef("pk"))))
            if tag
            else Q()
        )

    @staticmethod
    def _search(q: str) -> Q:
        if not q:
            return Q()
        try:
            return Q(uuid=uuid_lib.UUID(q))
        except ValueError:
            return Q(NameContains(F("original_filename"), q))

    @staticmethod
    def _state(state: str) -> Q:
        return {
            "": Q(datetime_removed__isnull=True),
            "stored": Q(datetime_removed__isnull=True, datetime_stored__isnull=False),
            "temporary": Q(datetime_removed__isnull=True, datetime_stored__isnull=True),
            "removed": Q(datetime_removed__isnull=False),
            "infected": Q(infected=True),  # removed ones too: what "scan and remove" took away
        }.get(state, Q())

    @staticmethod
    def _type(kind: str) -> Q:
        if kind == "images":
            return Q(image_info__isnull=False)
        if kind == "other":
            return Q(image_info__isnull=True)
        return Q(mime_type__startswith=kind) if kind else Q()


class UUIDListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[uuid_lib.UUID]:
        try:
            return list(dict.fromkeys(uuid_lib.UUID(str(item)) for item in value or []))
        except ValueError as exc:
            raise forms.ValidationError("Some selected files are not valid.") from exc

    def validate(self, value) -> None:
        if not value:
            raise forms.ValidationError("Select one or more files first.")
        if len(value) > BULK_MAX:
            raise forms.ValidationError(f"Select at most {BULK_MAX} files at once.")


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("store", "Store"), ("delete", "Delete")])
    uuid = UUIDListField()


class MetadataForm(forms.Form):
    key = forms.RegexField(
        regex=services.METADATA_KEY,
        max_length=64,
        error_messages={"invalid": "Use 1–64 letters, digits and _ - . : only."},
        help_text="Letters, digits and _ - . : (up to 64).",
    )
    value = forms.CharField(max_length=services.METADATA_VALUE_MAX, help_text="Up to 512 characters.")


class MetadataKeyForm(forms.Form):
    key = forms.RegexField(regex=services.METADATA_KEY, max_length=64)


class TagsForm(forms.Form):
    tags = forms.CharField(
        required=False,
        max_length=6000,
        help_text="Separated by commas or spaces; lowercase letters, digits and - _ . (up to 100 each, 50 tags).",
    )

    def clean_tags(self) -> list[str]:
        try:
            return tags_parse(self.cleaned_data["tags"])
        except TagError as exc:
            raise forms.ValidationError(str(exc)) from None


BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")


class BucketForm(forms.Form):
    """An S3-compatible bucket: a backup target or the project's custom storage."""

    purpose = forms.ChoiceField(choices=[("backup", "Backup"), ("storage", "Custom storage")], widget=forms.HiddenInput)
    provider = forms.ChoiceField(
        choices=[("aws", "AWS S3"), ("selectel", "Selectel"), ("custom", "Other S3-compatible (endpoint URL)")],
        initial="aws",
        help_text="AWS S3: give the region, the endpoint follows from it. Selectel: endpoint "
        "https://s3.storage.selcloud.ru and region ru-1 unless you give others.",
    )
    endpoint_url = forms.URLField(
        label="Endpoint URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://s3.example.com"}),
        help_text="Needed for other S3-compatible services.",
    )
    region = forms.CharField(required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": "us-east-1"}))
    bucket = forms.CharField(max_length=63)
    access_key = forms.CharField(
        label="Access key", max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    # Shown again only to the person who just typed it (after a test), never read back from the database.
    secret_key = forms.CharField(
        label="Secret key",
        max_length=1000,
        strip=False,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
    )
    prefix = forms.CharField(required=False, max_length=200, help_text="Optional folder in the bucket, e.g. filedock/.")

    def clean_bucket(self) -> str:
        bucket = self.cleaned_data["bucket"].strip()
        if not BUCKET_NAME.match(bucket):
            raise forms.ValidationError("Use 3–63 lowercase letters, digits, dots and hyphens.")
        return bucket

    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip()
        if region and not re.fullmatch(r"[a-z0-9\-]{2,64}", region):
            raise forms.ValidationError("A region looks like us-east-1 or ru-1.")
        return region

    def clean_prefix(self) -> str:
        prefix = self.cleaned_data["prefix"].strip().lstrip("/")
        if ".." in prefix.split("/"):
            raise forms.ValidationError("The prefix may not contain “..”.")
        return prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def clean(self) -> dict:
        data = super().clean()
        if data.get("provider") == "custom" and not data.get("endpoint_url"):
            self.add_error("endpoint_url", "Give the endpoint URL of your S3-compatible service.")
        return data

    def connection_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "purpose",
                "provider",
                "endpoint_url",
                "region",
                "bucket",
                "access_key",
                "secret_key",
                "prefix",
            )
        }


class ProxyDomainForm(forms.Form):
    """An allowed domain of the proxy; files.cdn.proxy.normalize_pattern does the real checking."""

    pattern = forms.CharField(
        label="Domain",
        max_length=255,
        help_text="A host name such as images.example.com, or *.example.com for all its subdomains "
        "(not example.com itself).",
        widget=forms.TextInput(attrs={"placeholder": "images.example.com", "autocomplete": "off"}),
    )
