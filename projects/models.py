import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from projects.fields import EncryptedTextField


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
INVITABLE_ROLES = [(r.value, r.label) for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER)]


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
        "allowed MIME types", max_length=1000, blank=True,
        help_text="Comma-separated, e.g. image/*, application/pdf. Empty: any type.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the owner deletes the project: it vanishes at once, its data goes in the background.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name

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


class SecretKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


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

    objects = SecretKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    @property
    def masked(self) -> str:
        return "•" * 12 + self.last4


class WebhookEvent(models.TextChoices):
    FILE_UPLOADED = "file.uploaded", "File uploaded"
    FILE_STORED = "file.stored", "File stored"
    FILE_DELETED = "file.deleted", "File deleted"
    FILE_INFO_UPDATED = "file.info_updated", "File info updated"
    FILE_INFECTED = "file.infected", "File infected"  # accepted for compatibility; never emitted


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

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "event", "target_url"], name="webhook_unique_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.target_url}"
