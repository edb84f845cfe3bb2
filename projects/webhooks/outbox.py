"""Webhook deliveries from outbox events: the payload, the outbox consumer and dispatching to workers.

A delivery row is the truth; Celery messages only say "look at this row now". The relay creates
deliveries in its own transaction and queues them after commit; `webhook_dispatch_due` (beat)
queues anything due that no message is known to be on its way for, so a lost message (Redis
restarted, worker killed) only delays a delivery.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.bases import absolute
from core.jobs import send_batches
from files.info import iso
from files.outbox.relay import event_file_infos, event_previous_values
from projects.models import Webhook, WebhookDelivery, WebhookEvent

DELIVER_TASK = "projects.tasks.deliver_webhook"
# Events about a project rather than a file: no file info, no file URL.
PROJECT_EVENTS = {WebhookEvent.PROJECT_USAGE_ALERT}

WEBHOOK_API_VERSION = "0.7"
# Deliveries per task message. A task sends delivery.PARALLEL_SENDS at a time, so a batch lasts
# two webhook timeouts at worst, inside the task's time limit; smaller batches would spread a
# burst over more worker processes, larger ones save little more.
DISPATCH_BATCH = 64


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
        "created_at": iso(webhook.created),
        "updated_at": iso(webhook.updated),
    }


def webhook_payload(
    *,
    webhook: Webhook,
    file_info: dict,
    initiator: dict,
    previous_values: dict | None = None,
    event_type: str | None = None,
) -> dict:
    """The JSON body API.md describes: initiator, hook, data (REST file info at event time), file
    (CDN URL); and for file.info_updated, previous_values (the metadata or appdata it replaced).
    A project event (project.usage_alert) has no file: its data is the event's payload, and no `file`."""
    if event_type in PROJECT_EVENTS:
        return {"initiator": initiator, "hook": hook_info(webhook), "data": file_info}
    file_url = file_info.get("original_file_url") or f"{absolute(settings.CDN_BASE)}{file_info.get('uuid')}/"
    body = {"initiator": initiator, "hook": hook_info(webhook), "data": file_info, "file": file_url}
    if previous_values is not None:
        body["previous_values"] = previous_values
    return body


def deliveries_for_events(events: list) -> list[WebhookDelivery]:
    """Outbox consumer: one delivery per event and active endpoint of its project subscribed to its type.

    Runs inside the relay's transaction, for the relay's whole batch (one query for the endpoints,
    one for the removed files of expiry's events if any of them has an endpoint, one INSERT); the
    deliveries are queued once it commits.
    """
    if not events:
        return []
    endpoints = defaultdict(list)
    for webhook in Webhook.objects.select_related("project").filter(
        project_id__in={event.project_id for event in events},
        event__in={event.type for event in events},
        is_active=True,
        project__deleted_at__isnull=True,
    ):
        endpoints[(webhook.project_id, webhook.event)].append(webhook)
    pairs = [(event, webhook) for event in events for webhook in endpoints[(event.project_id, event.type)]]
    infos = event_file_infos([event for event, _ in pairs])
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=webhook,
                event=event,
                event_type=event.type,
                payload=webhook_payload(
                    webhook=webhook,
                    file_info=info,
                    initiator=event.initiator,
                    previous_values=event_previous_values(event),
                    event_type=event.type,
                ),
            )
            for (event, webhook), info in zip(pairs, infos, strict=True)
        ]
    )
    if deliveries:
        transaction.on_commit(partial(dispatch, [delivery.pk for delivery in deliveries]))
    return deliveries


def dispatch(delivery_ids: Iterable[int]) -> int:
    """Queues the deliveries, DISPATCH_BATCH to a message, and marks those sent; stops at the first
    broker error (the sweep queues the rest). Returns how many were queued."""
    sent = send_batches(DELIVER_TASK, delivery_ids, size=DISPATCH_BATCH)
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
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return dispatch(ids)


def sample_usage_alert() -> dict:
    """A realistic project.usage_alert `data` for test events: 80 % of the monthly uploads."""
    return {
        "quota": "uploads",
        "label": "Uploads",
        "threshold": 80,
        "used": 40_000,
        "limit": 50_000,
        "percent": 80,
        "monthly": True,
        "plan": "pro",
        "period_start": timezone.now().date().replace(day=1).isoformat(),
    }


def sample_file_info() -> dict:
    """A realistic file info for test events: a stored 1200×800 JPEG, as the REST API describes one."""
    file_uuid = uuid.uuid4()
    now = iso(timezone.now())
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
                "format": "JPEG",
                "width": 1200,
                "height": 800,
                "color_mode": "RGB",
                "orientation": 1,
                "dpi": [72, 72],
                "geo_location": None,
                "datetime_original": None,
                "sequence": False,
            },
        },
        "variations": None,
        "source": "upload",
    }
