from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """An account: signs in with its email address and owns projects."""

    username = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


class AuditEvent(models.Model):
    """One security-relevant change: who, when, from where, on which project, and what (never secrets).

    Actor and project are kept as snapshots too, so the record outlives a deleted account or a purged project.
    """

    class Action(models.TextChoices):
        KEY_CREATED = "key.created", "Secret key created"
        KEY_REVOKED = "key.revoked", "Secret key revoked"
        PROJECT_SETTINGS_CHANGED = "project.settings_changed", "Project settings changed"
        PROJECT_RENAMED = "project.renamed", "Project renamed"
        PROJECT_DELETED = "project.deleted", "Project deleted"
        COLLABORATOR_INVITED = "collaborator.invited", "Collaborator invited"
        COLLABORATOR_REMOVED = "collaborator.removed", "Collaborator removed"
        COLLABORATOR_ROLE_CHANGED = "collaborator.role_changed", "Collaborator role changed"
        OWNERSHIP_TRANSFERRED = "ownership.transferred", "Ownership transferred"
        BACKUP_CONNECTED = "backup.connected", "Backup bucket connected"
        BACKUP_DISCONNECTED = "backup.disconnected", "Backup bucket disconnected"
        STORAGE_CONNECTED = "storage.connected", "Custom storage connected"
        STORAGE_DISCONNECTED = "storage.disconnected", "Custom storage disconnected"
        WEBHOOK_CREATED = "webhook.created", "Webhook created"
        WEBHOOK_UPDATED = "webhook.updated", "Webhook updated"
        WEBHOOK_DELETED = "webhook.deleted", "Webhook deleted"
        LOGIN_NEW_DEVICE = "login.new_device", "Sign-in from a new device"
        PASSWORD_CHANGED = "password.changed", "Password changed"
        MFA_ENABLED = "mfa.enabled", "Two-factor authentication turned on"
        MFA_DISABLED = "mfa.disabled", "Two-factor authentication turned off"
        RECOVERY_CODE_USED = "mfa.recovery_code_used", "Signed in with a recovery code"
        OAUTH_APP_SAVED = "oauth_app.saved", "Upload source app saved"
        OAUTH_APP_REMOVED = "oauth_app.removed", "Upload source app removed"
        PROXY_DOMAIN_ADDED = "proxy.domain_added", "Proxy domain allowed"
        PROXY_DOMAIN_REMOVED = "proxy.domain_removed", "Proxy domain removed"
        SESSIONS_ENDED = "sessions.ended", "Other sessions signed out"
        PLAN_CHANGED = "plan.changed", "Plan changed"
        DELIVERY_CHANGED = "project.delivery_changed", "Delivery settings changed"
        DELIVERY_SECRET_CREATED = "delivery_secret.created", "Delivery secret generated"
        DELIVERY_SECRET_REMOVED = "delivery_secret.removed", "Delivery secret removed"
        SSO_LOGIN = "sso.login", "Signed in through single sign-on"

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.EmailField(blank=True)
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    project_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_created"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_email or 'system'}"

    @property
    def detail_items(self) -> list[tuple[str, str]]:
        """The details as (name, text) pairs for pages: lists joined, old → new spelled out."""
        return [
            (name, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            for name, value in (self.details or {}).items()
        ]


class KnownDevice(models.Model):
    """A (browser + OS, network) an account has signed in from; a sign-in from an unknown one is audited."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    fingerprint = models.CharField(max_length=64)  # sha256 of browser|os|network, no raw IP kept here
    label = models.CharField(max_length=100, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "fingerprint"], name="known_device_once")]

    def __str__(self) -> str:
        return self.label or self.fingerprint[:12]
