import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import EncryptedTextField, decrypt


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
INVITABLE_ROLES = [(r.value, r.label) for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER)]
# The URL API's -/quality/ values a project may make its default.
DELIVERY_QUALITIES = [
    ("lightest", "Lightest"),
    ("lighter", "Lighter"),
    ("normal", "Normal"),
    ("better", "Better"),
    ("best", "Best"),
    ("smart", "Smart"),
]
DELIVERY_SECRETS_MAX = 2  # one in use and one to rotate to


def new_public_key() -> str:
    return secrets.token_hex(10)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class ProjectQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def for_user(self, user):
        return self.live().filter(memberships__user=user)


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key, editable=False)
    autostore_enabled = models.BooleanField(
        "automatic file storing", default=True, help_text="Off: uploads are temporary unless stored explicitly."
    )
    require_signed_uploads = models.BooleanField(
        "signed uploads", default=False, help_text="Refuse Upload API requests without a valid signature."
    )
    max_file_size = models.BigIntegerField(
        "maximum file size", null=True, blank=True, help_text="In bytes. Empty: the server's limit."
    )
    allowed_mime_types = models.CharField(
        "allowed MIME types",
        max_length=1000,
        blank=True,
        help_text="Comma-separated, e.g. image/*, application/pdf. Empty: any type.",
    )
    # Delivery: how the CDN answers for this project's files.
    signed_delivery = models.BooleanField(
        "signed URLs",
        default=False,
        help_text="CDN and group URLs answer only with a valid ?token=… signed by a delivery secret.",
    )
    auto_format = models.BooleanField(
        "automatic format",
        default=False,
        help_text="Operation URLs without -/format/ give WebP or AVIF to browsers that accept them.",
    )
    default_quality = models.CharField(
        "default quality",
        max_length=12,
        choices=DELIVERY_QUALITIES,
        default="normal",
        help_text="For operation URLs without -/quality/.",
    )
    download_non_images = models.BooleanField(
        "non-images as downloads",
        default=True,
        help_text="Browsers save files that are not images (Content-Disposition: attachment); off: shown in place.",
    )
    # Upload safety.
    malware_protection = models.CharField(
        "malware protection",
        max_length=8,
        choices=[("off", "Off"), ("report", "Scan and report"), ("remove", "Scan and remove infected files")],
        default="off",
        help_text="Every upload is scanned by ClamAV in the background; infected files fire file.infected.",
    )
    svg_validation = models.BooleanField(
        "SVG validation",
        default=False,
        help_text="Refuse SVG files with scripts, event handlers, javascript: links or external references.",
    )
    strip_exif = models.CharField(
        "EXIF stripping",
        max_length=8,
        choices=[("off", "Off"), ("location", "Location only"), ("all", "All metadata")],
        default="off",
        help_text="Removed from stored originals of images; -/strip_meta/ still works on the CDN.",
    )
    moderation = models.CharField(
        "content moderation",
        max_length=8,
        choices=[("off", "Off"), ("flag", "Flag"), ("remove", "Remove")],
        default="off",
        help_text="Images are checked for explicit content in the background.",
    )
    moderation_threshold = models.PositiveSmallIntegerField(
        "moderation threshold (%)", default=80, help_text="Confidence from which a label counts."
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the owner deletes the project: it vanishes at once, its data goes in the background.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set when the background purge has removed its files. The row stays, with its memberships, so
    # the owner's usage this month still counts against the plan after a delete.
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name

    def signing_secrets(self) -> list[str]:
        """The delivery secrets a CDN URL's token may be signed with, newest first (the CDN's
        lookup reads them with the file, still encrypted: `encrypted_secrets`)."""
        if hasattr(self, "encrypted_secrets"):
            return [decrypt(token) for token in self.encrypted_secrets]
        return [row.secret for row in self.delivery_secrets.all()]

    @property
    def owner_membership(self) -> "Membership | None":
        return self.memberships.filter(role=Role.OWNER).select_related("user").first()


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
            models.UniqueConstraint(fields=["project"], condition=Q(role="owner"), name="membership_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.project} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_admin(self) -> bool:
        """Admins and the owner manage settings, keys and collaborators."""
        return self.has_role(Role.ADMIN)


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        cutoff = timezone.now() - timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
        return self.filter(accepted_at__isnull=True, created_at__gte=cutoff)


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=INVITABLE_ROLES)
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.project}"

    @property
    def expires_at(self):
        return self.created_at + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and timezone.now() < self.expires_at


# What a secret key may do over REST (files.rest.base enforces it); a new key may do everything.
class Scope(models.TextChoices):
    FILES_READ = "files:read", "Read files (list, info, search, tags, metadata)"
    FILES_WRITE = "files:write", "Change files (store, delete, metadata, tags, copies)"
    WEBHOOKS = "webhooks", "Webhooks"
    PROJECT = "project", "Project settings"
    PROCESSING = "processing", "Conversions and add-ons"


def all_scopes() -> list[str]:
    return [scope.value for scope in Scope]


class SecretKeyQuerySet(models.QuerySet):
    def active(self):
        """Not revoked and not past its expiry."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class SecretKey(models.Model):
    """A project's secret API key. Encrypted, not hashed: HMAC checks need the plain secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="secret_keys")
    label = models.CharField(max_length=100)
    secret = EncryptedTextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=all_scopes)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = SecretKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    @property
    def masked(self) -> str:
        return "•" * 12 + self.last4

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def scope_labels(self) -> list[str]:
        return ["everything"] if set(self.scopes) >= set(all_scopes()) else [Scope(s).label for s in self.scopes]


class DeliverySecret(models.Model):
    """A key for signing the project's CDN URLs (hex, as pyuploadcare's secure URL builders take
    it). At most DELIVERY_SECRETS_MAX at once, so a new one can be rolled out before the old one
    is removed; a token signed by either is accepted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="delivery_secrets")
    secret = EncryptedTextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"…{self.last4}"

    @property
    def masked(self) -> str:
        return "•" * 12 + self.last4


class WebhookEvent(models.TextChoices):
    FILE_UPLOADED = "file.uploaded", "File uploaded"
    FILE_STORED = "file.stored", "File stored"
    FILE_DELETED = "file.deleted", "File deleted"
    FILE_INFO_UPDATED = "file.info_updated", "File info updated"
    FILE_INFECTED = "file.infected", "File infected"
    PROJECT_USAGE_ALERT = "project.usage_alert", "Usage alert"


class Webhook(models.Model):
    """A project's subscription of a target URL to one event."""

    # An integer, not a UUID: the Uploadcare clients parse webhook ids as integers.
    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    target_url = models.URLField(max_length=2000)
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    is_active = models.BooleanField(default=True)
    signing_secret = EncryptedTextField(blank=True, default="")
    version = models.CharField(max_length=8, default="0.7", editable=False)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    # After a rotation the previous secret also signs deliveries (Standard Webhooks allows several
    # signatures) until it expires, so receivers can switch without losing a delivery.
    previous_signing_secret = EncryptedTextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Failed attempts in a row (test events excluded); reaching the limit disables the endpoint.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, default="", editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "event", "target_url"], name="webhook_unique_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.target_url}"


class WebhookDelivery(models.Model):
    """One event (or test event) to send to one endpoint; retried until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # ended without retrying: 410 Gone, or the endpoint was disabled
        GAVE_UP = "gave_up", "Gave up"  # still failing when the retry window closed

    id = models.BigAutoField(primary_key=True)
    # The Standard Webhooks `webhook-id`: the same on every attempt and redelivery of this message.
    delivery_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("files.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=32)
    is_test = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due. A worker claims an attempt by moving it a lease into the future.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # When the sweep or the relay last queued a task for it; stops the sweep from queueing a backlog twice.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The retry window (3 days) counts from here; a redelivery starts a new window.
    window_started_at = models.DateTimeField(default=timezone.now)
    created = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=Q(status="pending")),
            models.Index(fields=["webhook", "-created"], name="delivery_by_webhook"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook.target_url} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST to the endpoint: what was sent and what came back."""

    RESPONSE_EXCERPT_BYTES = 2048

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def request_body_pretty(self) -> str:
        """The body indented for reading in the log (the stored body is the exact bytes sent)."""
        try:
            return json.dumps(json.loads(self.request_body), indent=2, ensure_ascii=False)
        except ValueError:
            return self.request_body


class OAuthProvider(models.TextChoices):
    """Upload sources whose import can run through the project's own OAuth application."""

    DROPBOX = "dropbox", "Dropbox"
    GDRIVE = "gdrive", "Google Drive"
    GPHOTOS = "gphotos", "Google Photos"
    ONEDRIVE = "onedrive", "OneDrive"
    BOX = "box", "Box"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    FLICKR = "flickr", "Flickr"
    VK = "vk", "VK"
    EVERNOTE = "evernote", "Evernote"
    HUDDLE = "huddle", "Huddle"


@dataclass(frozen=True)
class OAuthProviderSpec:
    """What a provider's developer console calls the two values, and the shape its client ids have."""

    id_label: str
    secret_label: str
    id_pattern: str | None = None  # full-match regex; None: any value without whitespace
    id_format: str = ""  # how the expected format is described in the error message


_GOOGLE = OAuthProviderSpec(
    # Google Cloud console OAuth clients: "<project number>-<lowercase id>.apps.googleusercontent.com".
    "Client ID",
    "Client secret",
    r"[0-9]+-[0-9a-z]+\.apps\.googleusercontent\.com",
    "a Google client ID ends in .apps.googleusercontent.com",
)
_NUMERIC_META_ID = (
    # Meta's app dashboard shows the app id as digits only (Instagram apps live in the same dashboard).
    r"[0-9]+",
    "an app ID is a number",
)

OAUTH_PROVIDER_SPECS: dict[str, OAuthProviderSpec] = {
    # Dropbox App Console: app keys are 15 lowercase letters and digits.
    OAuthProvider.DROPBOX: OAuthProviderSpec(
        "App key", "App secret", r"[a-z0-9]{15}", "a Dropbox app key is 15 lowercase letters and digits"
    ),
    OAuthProvider.GDRIVE: _GOOGLE,
    OAuthProvider.GPHOTOS: _GOOGLE,
    # Microsoft Entra "Application (client) ID" is a GUID; apps registered with the old Live SDK have
    # 16 hex digits (e.g. 000000004C12345A) and still sign in to OneDrive.
    OAuthProvider.ONEDRIVE: OAuthProviderSpec(
        "Application (client) ID",
        "Client secret",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16}",
        "an application ID is a GUID like 12345678-abcd-…",
    ),
    # Box developer console: client ids are 32 letters and digits.
    OAuthProvider.BOX: OAuthProviderSpec(
        "Client ID", "Client secret", r"[a-zA-Z0-9]{32}", "a Box client ID is 32 letters and digits"
    ),
    OAuthProvider.FACEBOOK: OAuthProviderSpec("App ID", "App secret", *_NUMERIC_META_ID),
    OAuthProvider.INSTAGRAM: OAuthProviderSpec("Instagram app ID", "Instagram app secret", *_NUMERIC_META_ID),
    # Flickr App Garden: the API key is 32 hex digits (the secret, 16 hex digits, is not checked).
    OAuthProvider.FLICKR: OAuthProviderSpec(
        "API key", "Secret", r"[0-9a-fA-F]{32}", "a Flickr API key is 32 hexadecimal characters"
    ),
    # VK app settings: the app id is a number.
    OAuthProvider.VK: OAuthProviderSpec("App ID", "Secure key", r"[0-9]+", "a VK app ID is a number"),
    # Evernote consumer keys are derived from a name the developer picks (their docs use "sampleKey"),
    # and Huddle issues free-form client ids (their docs use "CloudHack"): no format to check.
    OAuthProvider.EVERNOTE: OAuthProviderSpec("Consumer key", "Consumer secret"),
    OAuthProvider.HUDDLE: OAuthProviderSpec("Client ID", "Client secret"),
}


class OAuthAppQuerySet(models.QuerySet):
    def upload_sources(self) -> list[dict]:
        """What an uploader may read: provider, on/off, client id. Never the secret."""
        return [
            {"provider": app.provider, "enabled": app.enabled, "client_id": app.client_id}
            for app in self.order_by("provider").only("provider", "enabled", "client_id")
        ]


class OAuthApp(models.Model):
    """A project's own OAuth client for one upload source, used instead of the server's default one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="oauth_apps")
    provider = models.CharField(max_length=16, choices=OAuthProvider.choices)
    client_id = models.CharField("client ID", max_length=255)
    client_secret = EncryptedTextField(editable=False)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = OAuthAppQuerySet.as_manager()

    class Meta:
        verbose_name = "OAuth app"
        ordering = ["provider"]
        constraints = [
            models.UniqueConstraint(fields=["project", "provider"], name="oauth_app_one_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} · {self.project}"

    @property
    def secret_last4(self) -> str:
        return self.client_secret[-4:] if len(self.client_secret) > 8 else ""

    @property
    def masked_secret(self) -> str:
        return "•" * 12 + self.secret_last4


class ApiLogLine(models.Model):
    """One Upload API, REST API or failed CDN request of a project, as `projects.apilogs` recorded it.

    Written in batches by the drain task, never by the request itself; kept FILEDOCK_API_LOG_DAYS days.
    The path has secrets masked (signature, expire, token values); no header is kept whole.
    """

    class Api(models.TextChoices):
        UPLOAD = "upload", "Upload API"
        REST = "rest", "REST API"
        CDN = "cdn", "CDN"

    # Made by the request when it is buffered, so a batch inserted twice (a crash) is one set of rows.
    id = models.UUIDField(primary_key=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_index=True)  # when the request came in; the purge's order
    api = models.CharField(max_length=10, choices=Api.choices)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    public_key = models.CharField(max_length=64, blank=True)
    key_label = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "API log line"
        indexes = [models.Index(fields=["project", "-created_at", "-id"], name="apilog_project_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"

    @property
    def status_class(self) -> str:
        return f"{self.status // 100}xx"
