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
import os
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from billing.metering import usage_add
from core.fetch import FetchRefused, guarded_client, guarded_post
from core.jobs import claim, retry_delay
from projects.models import Role, Webhook, WebhookAttempt, WebhookDelivery

Status = WebhookDelivery.Status
RETRY_BASE_SECONDS = 10
RETRY_MAX_DELAY_SECONDS = 6 * 3600
USER_AGENT = "Filedock-Webhooks/1.0"
PARALLEL_SENDS = 32


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


def webhook_retry_delay(attempts: int) -> float:
    """Exponential from 10 s, capped at 6 h, jittered so the retries of one outage spread out."""
    return retry_delay(attempts, base=RETRY_BASE_SECONDS, cap=RETRY_MAX_DELAY_SECONDS, jitter=True)


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Makes one delivery's due attempt, if it is due and nobody else claimed it; returns what happened."""
    return webhook_deliveries_attempt(delivery_ids=[delivery_id])[delivery_id]


def webhook_deliveries_attempt(*, delivery_ids: list[int]) -> dict[int, str]:
    """Makes the due attempt of each delivery nobody else claimed, all sent at once; returns each outcome.

    Writes a WebhookAttempt per send, moves each delivery to its next state, counts the attempts
    for billing, and may disable endpoints (410, or too many failures in a row; the owner is emailed).
    Outcomes: not-due, endpoint-disabled, succeeded, retry, gave-up, gone, failed.
    """
    outcomes = dict.fromkeys(delivery_ids, "not-due")
    claimed = _claim(delivery_ids)
    if not claimed:
        return outcomes
    deliveries = _with_webhooks(list(WebhookDelivery.objects.filter(pk__in=claimed).order_by("pk")))
    sendable, ended = [], []
    for delivery in deliveries:
        webhook = delivery.webhook
        if webhook.project.deleted_at is not None or not (webhook.is_active or delivery.is_test):
            ended.append(delivery.pk)
            outcomes[delivery.pk] = "endpoint-disabled"
        else:
            sendable.append(delivery)
    if ended:
        WebhookDelivery.objects.filter(pk__in=ended).update(status=Status.FAILED, next_attempt_at=None)
    if sendable:
        attempts = _send_all(sendable)
        outcomes.update(_record(sendable, attempts))
    return outcomes


def _with_webhooks(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Attaches each delivery's endpoint (with its project), read once per endpoint: a batch is
    mostly one endpoint's, and each endpoint read decrypts its secrets."""
    webhooks = Webhook.objects.select_related("project").in_bulk({delivery.webhook_id for delivery in deliveries})
    for delivery in deliveries:
        delivery.webhook = webhooks[delivery.webhook_id]
    return deliveries


def _claim(delivery_ids: list[int]) -> list[int]:
    """Takes the due, pending deliveries among `delivery_ids` for this worker; returns their ids.

    Conditional UPDATE: a row it skips is not due, finished, or claimed by another worker. The lease
    (longer than the task's time limit) makes the attempt due again if this worker dies.
    """
    now = timezone.now()
    return claim(
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=Status.PENDING, next_attempt_at__lte=now),
        next_attempt_at=now + timedelta(seconds=settings.FILEDOCK_WEBHOOK_CLAIM_SECONDS),
    )


def _send_all(deliveries: list[WebhookDelivery]) -> list[WebhookAttempt]:
    """Signs each delivery and POSTs them PARALLEL_SENDS at a time; returns their attempts in order."""
    timeout = settings.FILEDOCK_WEBHOOK_TIMEOUT
    jobs = []
    for delivery in deliveries:
        body = body_bytes(delivery.payload)
        headers = signed_headers(webhook=delivery.webhook, delivery=delivery, body=body, timestamp=int(time.time()))
        jobs.append((_client_for(delivery.webhook.target_url), delivery, body, headers))
    # At most PARALLEL_SENDS at once, so a batch (webhooks.DISPATCH_BATCH) lasts two timeouts at worst.
    # Each sender takes the next job until none is left (popleft is atomic: each job is sent once),
    # rather than one future per job: against a fast receiver a few senders send most of a batch,
    # and the rest find it empty, instead of every job waking a thread of its own.
    queue, attempts = deque(enumerate(jobs)), [None] * len(jobs)

    def sender() -> None:
        while queue:
            try:
                index, job = queue.popleft()
            except IndexError:
                return
            attempts[index] = _send(*job, timeout=timeout)

    helpers = [_sender_pool().submit(sender) for _ in range(min(PARALLEL_SENDS, len(jobs)) - 1)]
    sender()  # this thread sends too
    for helper in helpers:
        helper.result()
    return attempts


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    """This process's sending threads, kept from batch to batch: starting up to PARALLEL_SENDS
    threads for every batch took longer than the batch's sends (the clients, and so the kept-alive
    connections, belong to the task's thread, see _client_for; these threads only run the sends)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=PARALLEL_SENDS, thread_name_prefix="webhook-send")
        return _pool


def _forget_pool() -> None:
    global _pool, _pool_lock
    # A forked child has none of its parent's threads (nor a lock one of them held): it starts its own.
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)

_local = threading.local()
CLIENTS_MAX = 256


def _client_for(url: str) -> httpcore.ConnectionPool:
    """This task thread's client for the URL's scheme, host and port, whose kept-alive connections
    the next batches reuse (one per thread: tasks of a thread-pool worker never share a pool).
    A client never serves two hosts: a TLS connection is only good for the name it verified. Every
    request still goes through the outbound guard, which resolves, checks and pins the address, so
    a host that now resolves elsewhere gets a new connection to a checked address.
    """
    clients = getattr(_local, "clients", None)
    if clients is None or len(clients) >= CLIENTS_MAX:
        for client in (clients or {}).values():
            client.close()
        clients = _local.clients = {}
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port)
    if key not in clients:
        clients[key] = guarded_client(max_keepalive_connections=PARALLEL_SENDS)
    return clients[key]


def _send(
    client: httpcore.ConnectionPool, delivery: WebhookDelivery, body: bytes, headers: dict[str, str], *, timeout: float
) -> WebhookAttempt:
    started_at, started = timezone.now(), time.monotonic()
    status_code, excerpt, error = None, b"", ""
    try:
        result = guarded_post(
            client,
            delivery.webhook.target_url,
            content=body,
            headers=headers,
            timeout=timeout,
            excerpt_bytes=WebhookAttempt.RESPONSE_EXCERPT_BYTES,
        )
        status_code, excerpt = result.status_code, result.excerpt
    except FetchRefused as exc:
        error = f"Refused: {exc.message}"
    except httpx.TimeoutException:
        error = f"Timed out after {timeout} s."
    except httpx.HTTPError as exc:
        error = f"Connection error: {exc.__class__.__name__}: {exc}"[:500]
    return WebhookAttempt(
        delivery=delivery,
        started_at=started_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        status_code=status_code,
        error=error,
        request_headers=headers,
        request_body=body.decode(),
        response_excerpt=excerpt.decode("utf-8", errors="replace"),
    )


@transaction.atomic
def _record(deliveries: list[WebhookDelivery], attempts: list[WebhookAttempt]) -> dict[int, str]:
    """Saves the attempts and each delivery's next state in a few statements; updates the endpoints."""
    now = timezone.now()
    _save_attempts(attempts)
    outcomes, finished, retries = {}, defaultdict(list), []
    for delivery, attempt in zip(deliveries, attempts, strict=True):
        outcome, next_attempt_at = _next_state(delivery, attempt, now)
        outcomes[delivery.pk] = outcome
        if outcome == "retry":
            retries.append((delivery.pk, next_attempt_at))
        else:
            finished[outcome].append(delivery.pk)
    final = {
        "succeeded": {"status": Status.SUCCEEDED, "delivered_at": now},
        "gone": {"status": Status.FAILED},
        "failed": {"status": Status.FAILED},
        "gave-up": {"status": Status.GAVE_UP},
    }
    for outcome, ids in finished.items():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=None, **final[outcome]
        )
    for pk, next_attempt_at in retries:  # each has its own jittered time; failures are the rare case
        WebhookDelivery.objects.filter(pk=pk).update(attempts=F("attempts") + 1, next_attempt_at=next_attempt_at)

    per_project = defaultdict(int)
    for delivery in deliveries:
        per_project[delivery.webhook.project_id] += 1
    for project_id, count in per_project.items():
        usage_add(project_id=project_id, webhook_deliveries=count)
    _update_endpoints(deliveries, attempts)
    return outcomes


ATTEMPT_COLUMNS = (
    "delivery_id",
    "started_at",
    "duration_ms",
    "status_code",
    "error",
    "request_headers",
    "request_body",
    "response_excerpt",
)


def _save_attempts(attempts: list[WebhookAttempt]) -> None:
    if connection.vendor != "postgresql":
        WebhookAttempt.objects.bulk_create(attempts)
        return
    # COPY rather than bulk_create: its INSERT sends the bodies inside array literals, which the
    # driver escapes character by character; COPY sends them as they are.
    sql = f"COPY {WebhookAttempt._meta.db_table} ({', '.join(ATTEMPT_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for a in attempts:
            copy.write_row(
                (
                    a.delivery_id,
                    a.started_at,
                    a.duration_ms,
                    a.status_code,
                    a.error,
                    json.dumps(a.request_headers),
                    a.request_body,
                    a.response_excerpt,
                )
            )


def _next_state(delivery: WebhookDelivery, attempt: WebhookAttempt, now) -> tuple[str, object]:
    if attempt.succeeded:
        return "succeeded", None
    if attempt.status_code == 410:
        return "gone", None
    if delivery.is_test:
        return "failed", None  # a test event is sent once; "redeliver" sends it again
    window_end = delivery.window_started_at + timedelta(seconds=settings.FILEDOCK_WEBHOOK_RETRY_WINDOW)
    if now >= window_end:
        return "gave-up", None
    delay = timedelta(seconds=webhook_retry_delay(delivery.attempts + 1))
    return "retry", min(now + delay, window_end)


def _update_endpoints(deliveries: list[WebhookDelivery], attempts: list[WebhookAttempt]) -> None:
    """A 410 disables its endpoint; otherwise the run of failures since the last success is counted,
    in the order the attempts finished, and too long a run disables the endpoint."""
    by_webhook = defaultdict(list)

    def finished_at(pair: tuple[WebhookDelivery, WebhookAttempt]):
        return pair[1].started_at + timedelta(milliseconds=pair[1].duration_ms)

    for delivery, attempt in sorted(zip(deliveries, attempts, strict=True), key=finished_at):
        by_webhook[delivery.webhook_id].append((delivery, attempt))
    limit = settings.FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES
    for webhook_id, pairs in by_webhook.items():
        webhook = pairs[0][0].webhook
        if any(attempt.status_code == 410 for _, attempt in pairs):
            _disable(webhook, "The endpoint answered 410 Gone.")
            continue
        results = [attempt.succeeded for delivery, attempt in pairs if not delivery.is_test]
        if not results:
            continue
        endpoint = Webhook.objects.filter(pk=webhook_id)
        if True in results:
            failures = results[::-1].index(True)  # failures after the last success
            if failures:
                endpoint.update(consecutive_failures=failures)
            else:
                endpoint.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        else:
            failures = len(results)
            endpoint.update(consecutive_failures=F("consecutive_failures") + failures)
        if failures and endpoint.filter(consecutive_failures__gte=limit).exists():
            _disable(webhook, f"{limit} delivery attempts in a row failed.")


def _disable(webhook: Webhook, reason: str) -> None:
    # Conditional UPDATE: only the attempt that actually turns the endpoint off sends the email.
    changed = Webhook.objects.filter(pk=webhook.pk, is_active=True).update(
        is_active=False, disabled_reason=reason, updated=timezone.now()
    )
    if changed:
        transaction.on_commit(lambda: _email_owner(webhook.pk, reason))


def _email_owner(webhook_id: int, reason: str) -> None:
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
