"""What the webhook tests share: a receiver that checks both signatures the way a customer's
server would, and helpers to subscribe, upload and relay."""

import base64
import hashlib
import hmac
import threading
import time

from django.utils import timezone
from werkzeug import Response
from werkzeug.datastructures import Headers

from files.outbox import relay as outbox
from projects.models import Webhook, WebhookDelivery
from tests.factories import make_file, make_webhook

SECRET = "s3cret-signing-key"


# A receiver that checks signatures the way a customer's server would.


def uc_signature_valid(body: bytes, header: str, secret: str) -> bool:
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def standard_signature_valid(headers, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """Standard Webhooks verification: any of the space-separated v1 signatures, timestamp within 5 min."""
    message_id, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not message_id or not timestamp or abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    for signature in (headers.get("webhook-signature") or "").split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver:
    """Records every request; answers with the queued responses, then 200. Thread-safe."""

    def __init__(self, secret: str | None = SECRET):
        self.secret = secret
        self.requests: list[dict] = []
        self.answers: list = []
        self.lock = threading.Lock()

    def __call__(self, request):
        body = request.get_data()
        entry = {
            "headers": Headers(request.headers),
            "body": body,
            "webhook_id": request.headers.get("webhook-id"),
            "uc_valid": self.secret is not None
            and uc_signature_valid(body, request.headers.get("X-Uc-Signature"), self.secret),
            "standard_valid": self.secret is not None and standard_signature_valid(request.headers, body, self.secret),
        }
        with self.lock:
            self.requests.append(entry)
            answer = self.answers.pop(0) if self.answers else 200
        if callable(answer):
            return answer(request)
        return Response("ok" if answer < 300 else "nope", status=answer)

    @property
    def ids(self) -> list[str]:
        with self.lock:
            return [r["webhook_id"] for r in self.requests]


def subscribe(project, url, *, event="file.uploaded", secret=SECRET, **kwargs) -> Webhook:
    return make_webhook(project, url, event, signing_secret=secret, **kwargs)


def upload_and_relay(project, name="photo.txt"):
    file = make_file(project, name)
    outbox.outbox_relay()
    return file


def only_delivery(webhook) -> WebhookDelivery:
    return WebhookDelivery.objects.get(webhook=webhook)


def make_due(delivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
