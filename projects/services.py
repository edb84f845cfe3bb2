"""Every change to projects, memberships, invitations and keys goes through these functions."""

import functools
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from core import kept, rawsql
from core.jobs import send_on_commit
from files.services import file_purge_batch
from files.storage.edge import edge_purge_project
from files.storage.sweeps import project_cached_bytes_purge
from projects.models import (
    DELIVERY_SECRETS_MAX,
    OAUTH_PROVIDER_SPECS,
    DeliverySecret,
    Invitation,
    Membership,
    OAuthApp,
    Project,
    Role,
    SecretKey,
    all_scopes,
)

LAST_USED_PRECISION = timedelta(minutes=1)
_keys_kept = kept.Kept()  # public key -> the project's values and its active keys'
PURGE_TASK = "projects.tasks.purge_project"


# Projects


@transaction.atomic
def project_create_with_secret(*, owner, name: str) -> tuple[Project, str]:
    """Creates a project owned by `owner`, with its public key and one secret key; returns the
    project and that key's plain secret, for the dashboard to show once."""
    project = Project.objects.create(name=name.strip())
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    _key, plain = secret_key_create(project=project, label="Default key", created_by=owner)
    return project, plain


def project_create(*, owner, name: str) -> Project:
    """Creates a project as project_create_with_secret does, for callers that show no secret."""
    return project_create_with_secret(owner=owner, name=name)[0]


def project_rename(*, project: Project, name: str) -> Project:
    old_name = project.name
    project.name = name.strip()
    project.save(update_fields=["name"])
    audit_record(action="project.renamed", project=project, details={"old": old_name, "new": project.name})
    kept.changed(project.public_key)
    return project


def project_configure_uploads(
    *,
    project: Project,
    autostore_enabled: bool,
    require_signed_uploads: bool,
    max_file_size: int | None,
    allowed_mime_types: str,
    svg_validation: bool | None = None,
    strip_exif: str | None = None,
) -> Project:
    """Sets how uploads are treated: automatic storing, signatures, size and type limits, SVG
    validation and EXIF stripping (None: left as it is). Audits the fields that changed."""
    values = {
        "autostore_enabled": autostore_enabled,
        "require_signed_uploads": require_signed_uploads,
        "max_file_size": max_file_size,
        "allowed_mime_types": allowed_mime_types,
        "svg_validation": svg_validation,
        "strip_exif": strip_exif,
    }
    _settings_save(
        project, {name: value for name, value in values.items() if value is not None or name == "max_file_size"}
    )
    return project


def project_configure_safety(
    *, project: Project, malware_protection: str, moderation: str, moderation_threshold: int
) -> Project:
    """Sets malware scanning and content moderation of new uploads (files.addons); audited."""
    values = {
        "malware_protection": malware_protection,
        "moderation": moderation,
        "moderation_threshold": moderation_threshold,
    }
    _settings_save(project, values)
    return project


class DeliveryError(Exception):
    """A delivery change that would lock out every URL or break rotation; the message says why."""


def project_configure_delivery(
    *, project: Project, signed_delivery: bool, auto_format: bool, default_quality: str, download_non_images: bool
) -> Project:
    """Sets how the CDN answers: signed URLs, automatic format, default quality, downloads.

    Turning signed URLs on purges the project's URLs from the edge cache, which held them unsigned.
    """
    with transaction.atomic():
        if signed_delivery and not project.delivery_secrets.exists():
            raise DeliveryError("Generate a delivery secret first: signed URLs are signed with it.")
        values = {
            "signed_delivery": signed_delivery,
            "auto_format": auto_format,
            "default_quality": default_quality,
            "download_non_images": download_non_images,
        }
        before = _settings_save(project, values, action="project.delivery_changed")
        if signed_delivery and not before["signed_delivery"]:
            transaction.on_commit(lambda: edge_purge_project(project.pk))
    return project


def _settings_save(project: Project, values: dict, action: str = "project.settings_changed") -> dict:
    """Writes `values` onto the project and audits the fields that changed; returns what they
    were. Read from the database under a lock: a bound ModelForm has already copied the new values
    onto `project`."""
    with transaction.atomic():
        before = Project.objects.select_for_update().values(*values).get(pk=project.pk)
        for name, value in values.items():
            setattr(project, name, value)
        project.save(update_fields=list(values))
        kept.changed(project.public_key)
        if changed := [name for name in values if before[name] != values[name]]:
            audit_record(action=action, project=project, details={"fields": changed})
    return before


def delivery_secret_create(*, project: Project, created_by=None) -> tuple[DeliverySecret, str]:
    """A new delivery secret (hex, shown once); refused when the project has DELIVERY_SECRETS_MAX."""
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one creation at a time
        if project.delivery_secrets.count() >= DELIVERY_SECRETS_MAX:
            raise DeliveryError(
                f"A project has at most {DELIVERY_SECRETS_MAX} delivery secrets: remove the old one once "
                "your apps sign with the new one."
            )
        value = secrets.token_hex(32)
        row = DeliverySecret.objects.create(project=project, secret=value, last4=value[-4:], created_by=created_by)
        audit_record(action="delivery_secret.created", project=project, details={"last4": row.last4})
    return row, value


def delivery_secret_delete(*, secret: DeliverySecret) -> None:
    """Removes a delivery secret: URLs signed with it stop working at once. The last one cannot go
    while the project signs its URLs."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=secret.project_id)
        if project.signed_delivery and project.delivery_secrets.count() <= 1:
            raise DeliveryError(
                "Signed URLs are on: turn them off, or generate another secret, before removing this one."
            )
        secret.delete()
        audit_record(action="delivery_secret.removed", project=project, details={"last4": secret.last4})


def project_delete(*, project: Project) -> None:
    """Hides the project at once; its files and rows are removed by `project_purge` in the background."""
    if Project.objects.filter(pk=project.pk, deleted_at__isnull=True).update(deleted_at=timezone.now()):
        audit_record(action="project.deleted", project=project)
        kept.changed(project.public_key)
    project_id = str(project.pk)
    # If the broker is away the periodic sweep (purge_deleted_projects) still finds the project.
    send_on_commit(PURGE_TASK, project_id)


def project_purge(*, project_id) -> bool:
    """Removes a deleted project's files (bytes, then rows) and marks it purged. Safe to re-run."""
    if not Project.objects.filter(pk=project_id, deleted_at__isnull=False, purged_at__isnull=True).exists():
        return False
    while file_purge_batch(project_id=project_id, limit=settings.PROJECT_PURGE_BATCH):
        pass
    project_cached_bytes_purge(project_id=project_id)
    Project.objects.filter(pk=project_id).update(purged_at=timezone.now())
    return True


# Secret keys


def secret_key_create(
    *, project: Project, label: str, created_by=None, scopes: list[str] | None = None, expires_at=None
) -> tuple[SecretKey, str]:
    """Creates a secret key and returns it with its plain secret, which is never shown again.
    `scopes`: what it may do over REST (all of them when not given); `expires_at`: when it stops."""
    scopes = all_scopes() if scopes is None else [scope for scope in all_scopes() if scope in scopes]
    if not scopes:
        raise ValidationError({"scopes": "A key needs at least one scope."})
    plain = secrets.token_hex(20)
    key = SecretKey.objects.create(
        project=project,
        label=label.strip(),
        secret=plain,
        last4=plain[-4:],
        created_by=created_by,
        scopes=scopes,
        expires_at=expires_at,
    )
    details = {"label": key.label, "last4": key.last4, "scopes": scopes}
    if expires_at:
        details["expires_at"] = expires_at.isoformat()
    audit_record(action="key.created", actor=created_by, project=project, details=details)
    kept.changed(project.public_key)
    return key, plain


def secret_key_revoke(*, key: SecretKey) -> SecretKey:
    """Revokes a key; the next request signed with it fails."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="key.revoked", project=key.project, details={"label": key.label, "last4": key.last4})
        kept.changed(key.project.public_key)
    return key


def secret_key_match(
    *, public_key: str, check: Callable[[str], bool], token: int | object | None = kept.NOT_READ
) -> SecretKey | None:
    """Finds the active secret key of the project with `public_key` whose secret passes `check`.

    Both the plain-secret scheme and HMAC signatures (REST API, signed uploads) go through here:
    one hand-written SELECT (core.rawsql) of the project and its active keys, newest first.
    `token`: what the shared cache held under core.kept.token_key(public_key), read by the caller
    in a round trip it makes anyway (files.rest.auth). With it, the rows this process read under
    the same token are used again instead of that SELECT (core.kept): every change to the project
    or its keys replaces the token, so a revoked key, an expired one or a removed project still
    fails on the very next request, in every process.
    """
    found = _active_key_values(public_key, token)
    if found is None:
        return None
    project_values, key_rows = found
    projects, keys = rawsql.columns(Project, "p"), rawsql.columns(SecretKey, "k")
    project, now = projects.instance(project_values), timezone.now()
    for values in key_rows:
        key = keys.instance(values)
        if key.expires_at is not None and key.expires_at <= now:  # kept rows: expired since read
            continue
        if check(key.secret):
            key.project = project
            if _touch_last_used(key):
                values[keys.attnames.index("last_used_at")] = key.last_used_at
            return key
    return None


def _active_key_values(public_key: str, token) -> tuple[list, list[list]] | None:
    """The project's values and each active key's (converted: secrets decrypted), or None."""

    def load():
        projects, keys = rawsql.columns(Project, "p"), rawsql.columns(SecretKey, "k")
        with connection.cursor() as cursor:
            cursor.execute(_active_keys_query(), [public_key, rawsql.param(SecretKey, "expires_at", timezone.now())])
            rows = cursor.fetchall()
        if not rows:
            return None
        return projects.convert(rows[0][: len(projects)]), [keys.convert(row[len(projects) :]) for row in rows]

    return _keys_kept.read(public_key, token, load)


@functools.cache
def _active_keys_query() -> str:
    """What SecretKey.objects.active() of a live project by public key selects, with the project."""
    return (
        f"SELECT {rawsql.columns(Project, 'p').sql}, {rawsql.columns(SecretKey, 'k').sql} "
        f"FROM {rawsql.table(SecretKey)} k JOIN {rawsql.table(Project)} p ON p.id = k.project_id "
        "WHERE p.public_key = %s AND p.deleted_at IS NULL "
        "AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %s) "
        "ORDER BY k.created_at DESC"
    )


def secret_key_authenticate(
    *, public_key: str, secret: str, token: int | object | None = kept.NOT_READ
) -> SecretKey | None:
    """The active secret key `secret` of the project whose public key is `public_key` (its
    project loaded with it); `token` as secret_key_match takes it."""
    return secret_key_match(public_key=public_key, check=lambda s: hmac.compare_digest(s, secret), token=token)


def _touch_last_used(key: SecretKey) -> bool:
    """Records when the key was last used, to LAST_USED_PRECISION; True when it wrote."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        SecretKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        return True
    return False


# Collaborators


def invitation_create(*, project: Project, email: str, role: str, invited_by) -> Invitation:
    """Invites `email` to the project (replacing a pending invitation) and emails the link."""
    email = email.strip().lower()
    if project.memberships.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is already a collaborator on the project."})
    if role not in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        raise ValidationError({"role": "Choose admin, member or viewer."})
    with transaction.atomic():
        project.invitations.pending().filter(email__iexact=email).delete()
        invitation = Invitation.objects.create(project=project, email=email, role=role, invited_by=invited_by)
        audit_record(
            action="collaborator.invited", actor=invited_by, project=project, details={"email": email, "role": role}
        )
    transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


def _send_invitation_email(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "url": settings.SITE_URL + reverse("projects:invitation", args=[invitation.token]),
    }
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}You are invited to {invitation.project.name}",
        message=render_to_string("projects/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_cancel(*, invitation: Invitation) -> None:
    invitation.delete()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Makes `user` a collaborator with the invited role; raises ValidationError if it cannot."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending or invitation.project.deleted_at is not None:
        raise ValidationError("This invitation has expired or was already used.")
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(f"This invitation is for {invitation.email}. Sign in with that address to accept it.")
    membership, _created = Membership.objects.get_or_create(
        project=invitation.project, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def membership_change_role(*, membership: Membership, role: str) -> Membership:
    """Changes a collaborator's role. The owner's role changes only by transferring ownership."""
    if membership.role == Role.OWNER:
        raise ValidationError("The owner's role changes only by transferring ownership.")
    if role not in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        raise ValidationError("Choose admin, member or viewer.")
    old_role = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action="collaborator.role_changed",
        project=membership.project,
        details={"email": membership.user.email, "old": old_role, "new": role},
    )
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Removes a collaborator (or lets one leave). The owner must transfer ownership first."""
    if membership.role == Role.OWNER:
        raise ValidationError("The owner cannot leave or be removed; transfer ownership first.")
    membership.delete()
    audit_record(
        action="collaborator.removed",
        project=membership.project,
        details={"email": membership.user.email, "role": membership.role},
    )


@transaction.atomic
def ownership_transfer(*, project: Project, to: Membership) -> Membership:
    """Makes `to` the owner; the previous owner stays on as an admin."""
    if to.project_id != project.pk:
        raise ValidationError("That person is not a collaborator on this project.")
    if to.role == Role.OWNER:
        raise ValidationError("That person already owns the project.")
    previous = Membership.objects.filter(project=project, role=Role.OWNER).select_related("user").first()
    # Demote first: a partial unique index allows one owner per project at any moment.
    Membership.objects.filter(project=project, role=Role.OWNER).update(role=Role.ADMIN)
    Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)
    to.refresh_from_db()
    audit_record(
        action="ownership.transferred",
        project=project,
        details={"from": previous.user.email if previous else "", "to": to.user.email},
    )
    return to


# OAuth applications (upload sources)

OAUTH_SECRET_MAX_LENGTH = 1000


def oauth_app_save(*, project: Project, provider: str, client_id: str, client_secret: str | None = None, enabled: bool):
    """Creates or updates the project's OAuth app for `provider`. A blank secret keeps the stored one
    (and is required when there is none). Raises ValidationError with field errors."""
    spec = OAUTH_PROVIDER_SPECS.get(provider)
    if spec is None:
        raise ValidationError({"provider": "Choose one of the supported upload sources."})
    client_id, client_secret = (client_id or "").strip(), (client_secret or "").strip()
    errors = {}
    if not client_id:
        errors["client_id"] = f"Enter the {spec.id_label.lower()}."
    elif len(client_id) > 255 or not re.fullmatch(r"[!-~]+", client_id):
        # Printable ASCII without spaces: every provider's ids are; a space or a stray character is a paste slip.
        errors["client_id"] = f"Remove the spaces or stray characters from the {spec.id_label.lower()}."
    elif spec.id_pattern and not re.fullmatch(spec.id_pattern, client_id):
        errors["client_id"] = f"This does not look right: {spec.id_format}."
    if "\x00" in client_secret or len(client_secret) > OAUTH_SECRET_MAX_LENGTH:
        errors["client_secret"] = f"This is not a {spec.secret_label.lower()}."

    with transaction.atomic():
        app = OAuthApp.objects.select_for_update().filter(project=project, provider=provider).first()
        if app is None and not client_secret and "client_secret" not in errors:
            errors["client_secret"] = f"Enter the {spec.secret_label.lower()}."
        if errors:
            raise ValidationError(errors)
        app = app or OAuthApp(project=project, provider=provider)
        app.client_id, app.enabled, app.updated = client_id, enabled, timezone.now()
        if client_secret:
            app.client_secret = client_secret
        try:
            with transaction.atomic():
                app.save()
        except IntegrityError:
            # Two first saves for the same provider raced; the other one won and this one's values are unsaved.
            raise ValidationError(
                {NON_FIELD_ERRORS: "This source was set up at the same moment elsewhere. Reload and try again."}
            ) from None
        details = {"provider": provider, "client_id": client_id, "secret_changed": bool(client_secret)}
        audit_record(action="oauth_app.saved", project=project, details=details)
    return app


def oauth_app_delete(*, oauth_app) -> None:
    """Removes the project's OAuth app; the uploader falls back to the server's own app for that source."""
    with transaction.atomic():
        oauth_app.delete()
        audit_record(action="oauth_app.removed", project=oauth_app.project, details={"provider": oauth_app.provider})
