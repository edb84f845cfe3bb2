"""One webhook delivery attempt: claim, sign, POST through the outbound guard, record, schedule.

Signatures. `X-Uc-Signature: v1=<hex HMAC-SHA256(secret, body)>` is Uploadcare's. The Standard
Webhooks headers are `webhook-id` (the delivery's UUID, the same on every retry and redelivery),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature: v1,<base64
HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`. Uploadcare secrets are plain strings, not
Standard Webhooks' `whsec_<base64>`, so the key is the secret's UTF-8 bytes, the same key as
X-Uc-Signature's. Within a day after a rotation the previous secret signs too (two space-separated
signatures in webhook-signature). Without a secret, id and timestamp are still sent.
"""

import base64
import hashlib
import hmac
import json
import random
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from files.fetch import FetchRefused, guarded_post
from projects.models import Role, Webhook, WebhookAttempt, WebhookDelivery

Status = WebhookDelivery.Status
RETRY_BASE_SECONDS = 10
RETRY_MAX_DELAY_SECONDS = 6 * 3600
USER_AGENT = "Filedock-Webhooks/1.0"


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(webhook: Webhook, now=None) -> list[str]:
    now = now or timezone.now()
    keys = [webhook.signing_secret] if webhook.signing_secret else []
    expires = webhook.previous_secret_expires_at
    if webhook.previous_signing_secret and expires and expires > now:
        keys.append(webhook.previous_signing_secret)
    return keys


def signed_headers(*, webhook: Webhook, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    message_id = str(delivery.delivery_uuid)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    keys = signing_secrets(webhook)
    if keys:
        headers["X-Uc-Signature"] = "v1=" + hmac.new(keys[0].encode(), body, hashlib.sha256).hexdigest()
        signed = f"{message_id}.{timestamp}.".encode() + body
        headers["webhook-signature"] = " ".join(
            "v1," + base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode() for key in keys
        )
    return headers


def retry_delay(attempts: int) -> float:
    """Exponential from 10 s, capped at 6 h, with jitter (half fixed, half random) so retries spread out."""
    delay = min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Makes the delivery's due attempt, if it is due and nobody else claimed it; returns what happened.

    Writes a WebhookAttempt, moves the delivery to its next state, counts the attempt for billing,
    and may disable the endpoint (410, or too many failures in a row; the owner is emailed).
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.FILEDOCK_WEBHOOK_CLAIM_SECONDS)
    # Conditional UPDATE: 0 rows means it is not due, finished, or another worker claimed this attempt.
    # The lease (longer than the task's time limit) makes the attempt due again if this worker dies.
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now).update(
        next_attempt_at=now + lease
    )
    if not claimed:
        return "not-due"
    delivery = WebhookDelivery.objects.select_related("webhook__project").get(pk=delivery_id)
    webhook = delivery.webhook
    if webhook.project.deleted_at is not None or not (webhook.is_active or delivery.is_test):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, next_attempt_at=None)
        return "endpoint-disabled"

    body = body_bytes(delivery.payload)
    headers = signed_headers(webhook=webhook, delivery=delivery, body=body, timestamp=int(time.time()))
    started_at, started = timezone.now(), time.monotonic()
    status_code, excerpt, error = None, b"", ""
    try:
        result = guarded_post(webhook.target_url, content=body, headers=headers,
                              timeout=settings.FILEDOCK_WEBHOOK_TIMEOUT,
                              excerpt_bytes=WebhookAttempt.RESPONSE_EXCERPT_BYTES)
        status_code, excerpt = result.status_code, result.excerpt
    except FetchRefused as exc:
        error = f"Refused: {exc.message}"
    except httpx.TimeoutException:
        error = f"Timed out after {settings.FILEDOCK_WEBHOOK_TIMEOUT} s."
    except httpx.HTTPError as exc:
        error = f"Connection error: {exc.__class__.__name__}: {exc}"[:500]
    attempt = WebhookAttempt(
        delivery=delivery, started_at=started_at, duration_ms=int((time.monotonic() - started) * 1000),
        status_code=status_code, error=error, request_headers=headers, request_body=body.decode(),
        response_excerpt=excerpt.decode("utf-8", errors="replace"),
    )
    return _record(delivery, attempt)


@transaction.atomic
def _record(delivery: WebhookDelivery, attempt: WebhookAttempt) -> str:
    from billing.metering import usage_add

    webhook, now = delivery.webhook, timezone.now()
    attempt.save()
    usage_add(project_id=webhook.project_id, webhook_deliveries=1)
    changes = {"attempts": F("attempts") + 1}
    if attempt.succeeded:
        outcome = "succeeded"
        changes.update(status=Status.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    elif attempt.status_code == 410:
        outcome = "gone"
        changes.update(status=Status.FAILED, next_attempt_at=None)
    elif delivery.is_test:
        outcome = "failed"  # a test event is sent once; "redeliver" sends it again
        changes.update(status=Status.FAILED, next_attempt_at=None)
    else:
        window_end = delivery.window_started_at + timedelta(seconds=settings.FILEDOCK_WEBHOOK_RETRY_WINDOW)
        if now >= window_end:
            outcome = "gave-up"
            changes.update(status=Status.GAVE_UP, next_attempt_at=None)
        else:
            outcome = "retry"
            delay = timedelta(seconds=retry_delay(delivery.attempts + 1))
            changes.update(next_attempt_at=min(now + delay, window_end))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)

    if attempt.status_code == 410:
        _disable(webhook, "The endpoint answered 410 Gone.")
    elif not delivery.is_test:
        if attempt.succeeded:
            Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        else:
            Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
            limit = settings.FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES
            if Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gte=limit).exists():
                _disable(webhook, f"{limit} delivery attempts in a row failed.")
    return outcome


def _disable(webhook: Webhook, reason: str) -> None:
    # Conditional UPDATE: only the attempt that actually turns the endpoint off sends the email.
    changed = Webhook.objects.filter(pk=webhook.pk, is_active=True).update(
        is_active=False, disabled_reason=reason, updated=timezone.now()
    )
    if changed:
        transaction.on_commit(lambda: _email_owner(webhook.pk, reason))


def _email_owner(webhook_id: int, reason: str) -> None:
    from django.urls import reverse

    webhook = Webhook.objects.select_related("project").get(pk=webhook_id)
    owner = webhook.project.memberships.filter(role=Role.OWNER).select_related("user").first()
    if owner is None:
        return
    url = settings.SITE_URL + reverse("projects:webhook_detail", args=[webhook.project_id, webhook.pk])
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Webhook disabled in {webhook.project.name}",
        message=(
            f"Filedock stopped sending {webhook.event} webhooks to {webhook.target_url} "
            f"in the project {webhook.project.name}.\n\n{reason}\n\n"
            f"Check the delivery log and turn the endpoint back on here:\n{url}\n"
        ),
        from_email=None,
        recipient_list=[owner.user.email],
    )
