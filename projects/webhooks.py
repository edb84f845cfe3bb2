"""Webhook deliveries from outbox events: the payload, the outbox consumer and dispatching to workers.

A delivery row is the truth; Celery messages only say "look at this row now". The relay creates
deliveries in its own transaction and queues them after commit; `webhook_dispatch_due` (beat)
queues anything due that no message is known to be on its way for, so a lost message (Redis
restarted, worker killed) only delays a delivery.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from projects.bases import absolute
from projects.models import Webhook, WebhookDelivery

log = logging.getLogger(__name__)

WEBHOOK_API_VERSION = "0.7"


def _iso(value) -> str | None:
    from files.info import iso

    return iso(value)


def hook_info(webhook: Webhook) -> dict:
    project = webhook.project
    return {
        "id": webhook.pk,
        "project_id": str(project.pk),
        "project_pub_key": project.public_key,
        "target": webhook.target_url,
        "event": webhook.event,
        "is_active": webhook.is_active,
        "version": WEBHOOK_API_VERSION,
        "created_at": _iso(webhook.created),
        "updated_at": _iso(webhook.updated),
    }


def webhook_payload(*, webhook: Webhook, file_info: dict, initiator: dict) -> dict:
    """The JSON body API.md describes: initiator, hook, data (REST file info at event time), file (CDN URL)."""
    file_url = file_info.get("original_file_url") or f"{absolute(settings.CDN_BASE)}{file_info.get('uuid')}/"
    return {"initiator": initiator, "hook": hook_info(webhook), "data": file_info, "file": file_url}


def deliveries_for_event(event) -> list[WebhookDelivery]:
    """Outbox consumer: one delivery per active endpoint of the project subscribed to the event's type.

    Runs inside the relay's transaction; the deliveries are queued once it commits.
    """
    webhooks = Webhook.objects.select_related("project").filter(
        project_id=event.project_id, event=event.type, is_active=True, project__deleted_at__isnull=True
    )
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(
            webhook=webhook, event=event, event_type=event.type,
            payload=webhook_payload(webhook=webhook, file_info=event.payload, initiator=event.initiator),
        )
        for webhook in webhooks
    ])
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: dispatch(ids))
    return deliveries


def dispatch(delivery_ids: Iterable[int]) -> int:
    """Queues a delivery task per id; stops at the first broker error (the sweep retries). Returns how many."""
    from projects.tasks import deliver_webhook

    sent = []
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.apply_async(args=[delivery_id], retry=False)
        except Exception:
            log.warning("broker unavailable; the delivery sweep will queue the remaining deliveries")
            break
        sent.append(delivery_id)
    if sent:
        WebhookDelivery.objects.filter(pk__in=sent).update(dispatched_at=timezone.now())
    return len(sent)


def webhook_dispatch_due(*, limit: int = 500) -> int:
    """Queues due pending deliveries that have no message known to be on its way. Harmless to re-run.

    A delivery needs a message when it has never been queued, became due again after it was last
    queued (a retry, or a claim whose worker died), or was queued so long ago that the message
    must have been lost.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FILEDOCK_WEBHOOK_CLAIM_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=F("next_attempt_at")) | Q(dispatched_at__lt=stale))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )
    return dispatch(ids)


def sample_file_info() -> dict:
    """A realistic file info for test events: a stored 1200×800 JPEG, as the REST API describes one."""
    file_uuid = uuid.uuid4()
    now = _iso(timezone.now())
    cdn = absolute(settings.CDN_BASE)
    return {
        "uuid": str(file_uuid),
        "datetime_uploaded": now,
        "datetime_stored": now,
        "datetime_removed": None,
        "size": 184_320,
        "mime_type": "image/jpeg",
        "original_filename": "sample-photo.jpg",
        "original_file_url": f"{cdn}{file_uuid}/sample-photo.jpg",
        "url": f"{absolute(settings.API_BASE)}files/{file_uuid}/",
        "is_image": True,
        "is_ready": True,
        "metadata": {"subsystem": "test-event"},
        "content_info": {
            "mime": {"mime": "image/jpeg", "type": "image", "subtype": "jpeg"},
            "image": {
                "format": "JPEG", "width": 1200, "height": 800, "color_mode": "RGB", "orientation": 1,
                "dpi": [72, 72], "geo_location": None, "datetime_original": None, "sequence": False,
            },
        },
        "variations": None,
        "source": "upload",
    }
