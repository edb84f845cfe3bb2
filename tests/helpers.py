"""Helpers shared by test modules (fixtures live in tests/conftest.py)."""

import contextlib
import hashlib
import hmac
import io
import re
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime

from PIL import ExifTags, Image


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.02) -> bool:
    """Polls `predicate` until it is true (True) or `timeout` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def one_window(period: int = 60, margin: float = 5.0) -> None:
    """Waits until the current rate-limit window (core.ratelimit: fixed, aligned to `period`
    seconds) has `margin` seconds left, so that the requests a test counts all fall in one window:
    one that rolled over mid-test would start the count again."""
    assert wait_until(lambda: period - time.time() % period > margin, timeout=margin + 1)


def lock_waiters() -> int:
    """How many other sessions of this test database wait for a row or index lock: how a staged
    race knows its other parties have reached the point it holds them at."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction it would not change
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def blocked_on_a_lock() -> bool:
    return lock_waiters() > 0


class Crew:
    """Threads started together at a barrier; each closes its own database connection, and any
    exception (a deadlock, an IntegrityError) is kept for the test to fail on. `run` starts and
    joins them; `start` and `join` let the test act (release a lock) while they are running."""

    def __init__(self):
        self.jobs, self.errors, self.threads = [], [], []

    def add(self, target, count: int = 1) -> None:
        self.jobs += [target] * count

    def start(self) -> None:
        barrier = threading.Barrier(len(self.jobs))

        def wrapped(target):
            try:
                barrier.wait()
                target()
            except BaseException:
                self.errors.append(traceback.format_exc())
            finally:
                connection.close()

        from django.db import connection

        self.threads = [threading.Thread(target=wrapped, args=(job,), daemon=True) for job in self.jobs]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float = 50) -> None:
        for thread in self.threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self.threads), "a thread is still running: a lock wait?"
        assert not self.errors, "\n".join(self.errors)

    def run(self, timeout: float = 50) -> None:
        self.start()
        self.join(timeout)


# REST API v0.7's media type, which every REST request sends as Accept.
ACCEPT = "application/vnd.uploadcare-v0.7+json"
PART = 5 * 1024 * 1024  # the Upload API's multipart part size

# The moto_server S3 API's region and (any) credentials.
S3_REGION = "us-east-1"
S3_KEY = "testing"
S3_SECRET = "testing"


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 20, 20)).save(buffer, "PNG")
    return buffer.getvalue()


def image_bytes(width: int, height: int, fmt: str = "JPEG", mode: str = "RGB", orientation: int | None = None) -> bytes:
    out, exif = io.BytesIO(), Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    Image.new(mode, (width, height), (255, 0, 0, 128)[: len(mode)]).save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def sign(secret: str, expire: int) -> str:
    """An Upload API signature of `expire` with the project's secret."""
    return hmac.new(secret.encode(), str(expire).encode(), hashlib.sha256).hexdigest()


def api_upload(client, project, files, **fields):
    """A direct upload through the Upload API (POST /upload/base/)."""
    return client.post("/upload/base/", {"UPLOADCARE_PUB_KEY": project.public_key, **fields, **files})


def blobs() -> set[str]:
    """Every file's bytes in the default storage, as "<project>/<name>"."""
    from django.core.files.storage import default_storage

    try:
        dirs, _ = default_storage.listdir("files")
    except FileNotFoundError:
        return set()
    return {f"{d}/{n}" for d in dirs for n in default_storage.listdir(f"files/{d}")[1]}


def body(response) -> bytes:
    """A response's bytes, streamed or not."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def s3(endpoint: str):
    """A boto3 S3 client of the moto_server at `endpoint`."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )


def log_in(client, user):
    """Log in through the real form, so allauth records how the user authenticated."""
    from django.urls import reverse

    from tests.factories import PASSWORD

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return response


def current_totp_code(secret):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def activate_totp(client):
    """Activate the authenticator app through the pages, as a person would; returns the activate page."""
    from django.urls import reverse

    page = client.get(reverse("mfa_activate_totp"))
    secret = re.search(r'id="authenticator_secret"[^>]* value="([A-Z2-7]+)"', page.content.decode()).group(1)
    response = client.post(reverse("mfa_activate_totp"), {"code": current_totp_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return page


def run_open_jobs(target) -> None:
    """What the backup workers would do: run every open job of `target` once."""
    from files.models import FileBackup
    from files.storage import backups

    for backup_id in FileBackup.objects.filter(target=target, status__in=backups.OPEN).values_list("pk", flat=True):
        backups.backup_run(backup_id=backup_id)


def new_bucket(endpoint: str, prefix: str) -> str:
    """Creates a bucket with a fresh name on moto_server and returns the name."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3(endpoint).create_bucket(Bucket=name)
    return name


def project_url_kwargs(pattern, team):
    """Values for every id in a project URL pattern, made for `team`'s project (the access grid's and
    the security walks' way to open every project page)."""
    from files.uploads.tus import tus_create
    from projects.models import Role
    from tests.factories import make_file

    project = team.project
    values = {
        "file_id": lambda: make_file(project, store=False).pk,
        "project_id": project.pk,
        "key_id": lambda: project.secret_keys.first().pk,
        "membership_id": lambda: project.memberships.get(user=team.viewer).pk,
        "invitation_id": lambda: project.invitations.create(email="new@example.com", role=Role.MEMBER).pk,
        "webhook_id": lambda: _webhook(project).pk,
        "delivery_id": lambda: (
            _webhook(project).deliveries.create(event_type="file.uploaded", payload={}).delivery_uuid
        ),
        "proxy_domain_id": lambda: project.proxy_domains.get_or_create(pattern="images.example.com")[0].pk,
        "connection_id": lambda: (
            project.bucket_connections.create(
                purpose="backup",
                bucket="b",
                access_key="k",
                secret_key="s",
                endpoint_url="http://127.0.0.1:9",
                disconnected_at=project.created_at,
            ).pk
        ),
        "provider": lambda: _oauth_app(project).provider,
        "secret_id": lambda: _delivery_secret(project).pk,
        "upload_id": lambda: tus_create(project=project, length=10, metadata={"filename": "a.bin"}).pk,
        "line_id": lambda: _api_log_line(project).pk,
    }
    kwargs = {}
    for name in pattern.pattern.converters:
        assert name in values, f"project_url_kwargs does not know how to fill <{name}>; add it here"
        value = values[name]
        kwargs[name] = value() if callable(value) else value
    return kwargs


def _webhook(project):
    from tests.factories import make_webhook

    return project.webhooks.first() or make_webhook(project, signing_secret="s")


def _delivery_secret(project):
    from projects.services import delivery_secret_create

    return project.delivery_secrets.first() or delivery_secret_create(project=project)[0]


def _api_log_line(project):
    from django.utils import timezone

    from projects.models import ApiLogLine

    return ApiLogLine.objects.create(
        id=uuid.uuid4(), project=project, created_at=timezone.now(), api="rest", method="GET", path="/", status=200,
        duration_ms=1,
    )  # fmt: skip


def _oauth_app(project):
    from projects.services import oauth_app_save

    return project.oauth_apps.first() or oauth_app_save(
        project=project, provider="dropbox", client_id="abcdefgh1234567", client_secret="s3cret-value", enabled=True
    )


# REST v0.7 dates: ISO 8601 with microseconds, in UTC.
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)  # a time with microseconds, for paging and filters


def walk(api, first: str, direction: str = "next") -> tuple[list[list[str]], str]:
    """Follow `next` (or `previous`) links: the uuids (or group ids) of every page, and the last URL."""
    pages, url = [], first
    while url:
        response = api("get", url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item.get("uuid", item.get("id")) for item in body["results"]])
        last, url = url, body[direction]
        assert len(pages) < 50
    return pages, last


def ok(results: dict, call_id: str):
    """The result of one call of the JS clients' runner, which must have succeeded."""
    outcome = results[call_id]
    assert outcome["ok"], f"{call_id}: {outcome['error']}"
    return outcome["result"]


# Upload safety: SVGs the validation must refuse, and a photo whose EXIF carries a location.

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="10">{}</svg>'
)


UNSAFE_SVGS = {
    "script": SVG.format("<script>alert(document.domain)</script>"),
    "event handler": SVG.format('<rect width="5" height="5" onclick="alert(1)"/>'),
    "javascript link": SVG.format('<a xlink:href=" JaVa&#x09;script:alert(1)"><text>x</text></a>'),
    "external image": SVG.format('<image href="https://tracker.example.com/p.png" width="5" height="5"/>'),
    "external use": SVG.format('<use href="https://evil.example.com/sprite.svg#icon"/>'),
    "foreignObject": SVG.format('<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'),
    "css url": SVG.format('<rect width="5" height="5" style="fill: url(//evil.example.com/x.svg#p)"/>'),
    "style import": SVG.format('<style>@import "https://evil.example.com/a.css";</style>'),
    "animated href": SVG.format('<a href="#ok"><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'),
    "entity": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>' + SVG.format("<text>&x;</text>"),
    "stylesheet instruction": '<?xml-stylesheet href="https://evil.example.com/a.css"?>' + SVG.format(""),
    "not well-formed": SVG.format("<rect>"),
}


GPS = {1: "N", 2: (55.0, 37.0, 12.25), 3: "W", 4: (37.0, 39.0, 46.5)}


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Filedock camera"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:08:20 08:59:50"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG", exif=exif, dpi=(300, 300))
    return buffer.getvalue()


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


@contextlib.contextmanager
def renderers_busy():
    """Every image render slot of this process taken for the block: a render waits
    FILEDOCK_CDN_RENDER_WAIT seconds for one, then gives up with images.Busy."""
    from files.cdn import images

    held = 0
    while images._turns.acquire(blocking=False):
        held += 1
    try:
        yield
    finally:
        for _ in range(held):
            images._turns.release()
