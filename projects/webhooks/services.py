"""Every change to a project's webhook endpoints goes through these functions (dashboard and REST)."""

import secrets
from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import ProhibitNullCharactersValidator, URLValidator
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit import audit_record, audit_url
from core import rawsql
from projects.models import Project, Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent
from projects.webhooks.outbox import PROJECT_EVENTS, dispatch, sample_file_info, sample_usage_alert, webhook_payload

WEBHOOK_DUPLICATE = "This project is already subscribed on this event"  # the clients match this text
WEBHOOK_SECRET_MAX_LENGTH = 32
WEBHOOK_FIELDS = ("target_url", "event", "is_active", "signing_secret")
_webhook_url = URLValidator(schemes=["http", "https"], message="Enter a valid http or https URL.")


def _webhook_clean(webhook: Webhook) -> None:
    errors = {}
    try:
        ProhibitNullCharactersValidator()(webhook.target_url)
        _webhook_url(webhook.target_url)
        if len(webhook.target_url) > Webhook._meta.get_field("target_url").max_length:
            raise ValidationError("Ensure this URL has at most 2000 characters.")
    except ValidationError as exc:
        errors["target_url"] = exc.messages
    if webhook.event not in WebhookEvent.values:
        errors["event"] = [f"Choose one of: {', '.join(WebhookEvent.values)}."]
    if not isinstance(webhook.is_active, bool):
        errors["is_active"] = ["Must be true or false."]
    if not isinstance(webhook.signing_secret, str) or len(webhook.signing_secret) > WEBHOOK_SECRET_MAX_LENGTH:
        errors["signing_secret"] = [f"Use at most {WEBHOOK_SECRET_MAX_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)
    twins = Webhook.objects.filter(project=webhook.project, event=webhook.event, target_url=webhook.target_url)
    if twins.exclude(pk=webhook.pk).exists():
        raise ValidationError({NON_FIELD_ERRORS: WEBHOOK_DUPLICATE})


def _webhook_save(webhook: Webhook) -> Webhook:
    _webhook_clean(webhook)
    try:
        with transaction.atomic():
            webhook.save()
    except IntegrityError:  # a concurrent request subscribed the same URL between the check and the save
        raise ValidationError({NON_FIELD_ERRORS: WEBHOOK_DUPLICATE}) from None
    return webhook


def webhook_create(
    *, project: Project, target_url: str, event: str, is_active: bool = True, signing_secret: str | None = None
) -> Webhook:
    """Subscribes `target_url` to `event`. Raises ValidationError on bad input or a duplicate subscription."""
    webhook = _webhook_save(
        Webhook(
            project=project,
            target_url=target_url,
            event=event,
            is_active=is_active,
            signing_secret=signing_secret or "",
        )
    )
    audit_record(action="webhook.created", project=project, details=_webhook_audit(webhook))
    return webhook


def _webhook_audit(webhook: Webhook, **extra) -> dict:
    return {"webhook_id": webhook.pk, "target_url": audit_url(webhook.target_url), "event": webhook.event, **extra}


def webhook_update(*, webhook: Webhook, **changes) -> Webhook:
    """Changes any of target_url, event, is_active, signing_secret. Raises ValidationError like webhook_create."""
    unknown = set(changes) - set(WEBHOOK_FIELDS)
    if unknown:
        raise TypeError(f"webhook_update() got unexpected fields: {', '.join(sorted(unknown))}")
    if "signing_secret" in changes and changes["signing_secret"] is None:
        changes["signing_secret"] = ""
    before = {field: getattr(webhook, field) for field in (*changes, "updated")}
    for field, value in changes.items():
        setattr(webhook, field, value)
    webhook.updated = timezone.now()
    if changes.get("is_active") is True and not before.get("is_active", True):
        # Turned back on (dashboard or REST API): it starts with a clean record.
        before.update(consecutive_failures=webhook.consecutive_failures, disabled_reason=webhook.disabled_reason)
        webhook.consecutive_failures, webhook.disabled_reason = 0, ""
    try:
        _webhook_save(webhook)
    except ValidationError:
        for field, value in before.items():  # leave the caller's instance as it is in the database
            setattr(webhook, field, value)
        raise
    if changed := [field for field in changes if before[field] != changes[field]]:
        audit_record(action="webhook.updated", project=webhook.project, details=_webhook_audit(webhook, fields=changed))
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    """Removes the subscription."""
    with transaction.atomic():
        audit_record(action="webhook.deleted", project=webhook.project, details=_webhook_audit(webhook))
        _webhooks_deleted(Webhook.objects.filter(pk=webhook.pk))


def webhook_unsubscribe(*, project: Project, target_url: str) -> int:
    """Removes every subscription of `target_url` in the project, whatever the event; returns how many."""
    with transaction.atomic():
        deleted = _webhooks_deleted(Webhook.objects.filter(project=project, target_url=target_url))
        if deleted:
            audit_record(
                action="webhook.deleted",
                project=project,
                details={"target_url": audit_url(target_url), "count": deleted},
            )
    return deleted


def _webhooks_deleted(webhooks) -> int:
    """Deletes `webhooks` with their deliveries and the deliveries' attempts; returns how many
    webhooks. Deliveries go before their attempts, unlike Django's cascade: deleting a delivery
    waits for a worker still recording an attempt of it, so the attempts deleted next include
    that worker's (the foreign keys are checked at commit). Call inside a transaction."""
    selected, params = WebhookDelivery.objects.filter(webhook__in=webhooks).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {rawsql.table(WebhookDelivery)} WHERE id IN ({selected}) RETURNING id", params)
        ids = [pk for (pk,) in cursor.fetchall()]
    WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
    _, deleted = webhooks.delete()
    return deleted.get(Webhook._meta.label, 0)


WEBHOOK_SECRET_GRACE = timedelta(hours=24)


def webhook_secret_generate() -> str:
    """A new signing secret: 32 URL-safe characters, the longest the Uploadcare API accepts."""
    return secrets.token_urlsafe(24)


def webhook_rotate_secret(*, webhook: Webhook) -> tuple[Webhook, str]:
    """Gives the endpoint a new signing secret and returns it (shown once). The old one also signs for 24 h."""
    plain = webhook_secret_generate()
    webhook.previous_signing_secret = webhook.signing_secret
    webhook.previous_secret_expires_at = timezone.now() + WEBHOOK_SECRET_GRACE if webhook.signing_secret else None
    webhook.signing_secret = plain
    webhook.updated = timezone.now()
    webhook.save(update_fields=["signing_secret", "previous_signing_secret", "previous_secret_expires_at", "updated"])
    audit_record(
        action="webhook.updated",
        project=webhook.project,
        details=_webhook_audit(webhook, fields=["signing_secret"], secret_rotated=True),
    )
    return webhook, plain


def webhook_enable(*, webhook: Webhook) -> Webhook:
    """Turns an endpoint back on with a clean failure count. Deliveries that failed stay failed; redeliver them."""
    return webhook_update(webhook=webhook, is_active=True)


def webhook_disable(*, webhook: Webhook, reason: str = "Turned off from the dashboard.") -> Webhook:
    """Turns an endpoint off; its pending deliveries end as failed when they come due."""
    webhook = webhook_update(webhook=webhook, is_active=False)
    Webhook.objects.filter(pk=webhook.pk).update(disabled_reason=reason)
    webhook.disabled_reason = reason
    return webhook


def webhook_send_test(*, webhook: Webhook):
    """Queues a test event (a sample stored JPEG) to the endpoint, sent even if it is turned off, once."""
    initiator = {"type": "test", "detail": {"note": "Test event sent from the Filedock dashboard."}}
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event_type=webhook.event,
        is_test=True,
        payload=webhook_payload(
            webhook=webhook,
            file_info=sample_usage_alert() if webhook.event in PROJECT_EVENTS else sample_file_info(),
            initiator=initiator,
            event_type=webhook.event,
        ),
    )
    transaction.on_commit(lambda: dispatch([delivery.pk]))
    return delivery


def webhook_redeliver(*, delivery):
    """Sends a delivery again with the same webhook-id, starting a new retry window. Raises ValidationError
    if the endpoint is turned off (test events excepted)."""
    if not delivery.webhook.is_active and not delivery.is_test:
        raise ValidationError("Turn the endpoint back on before redelivering.")
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=now,
        window_started_at=now,
        dispatched_at=None,
    )
    delivery.refresh_from_db()
    transaction.on_commit(lambda: dispatch([delivery.pk]))
    return delivery
