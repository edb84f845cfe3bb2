"""P4's baseline: the least a Django view can do with an upload — settings, URLs and view in one module.

Served by the same gunicorn command as Filedock (config.wsgi) with
DJANGO_SETTINGS_MODULE=bench.minimal_upload_app; BENCH_UPLOAD_DIR is where the files go.
No middleware, no database: it parses the multipart body, writes the file's bytes under a new UUID
and answers with JSON, as /upload/base/ does. Not part of the product's URLs.

P4's floors, when DATABASE_URL is set (the same PostgreSQL, connections kept as production keeps
them): /upload/durable/ also INSERTs one row for the file in its own committed transaction
(synchronous_commit as the server has it: on, as production) before answering, and
/upload/async-commit/ does the same with `SET LOCAL synchronous_commit TO OFF`. The bench creates
the table with TABLE_SQL.

/upload/guarded/ is P4's ceiling: the round trips Filedock's upload makes for its guarantees, each
done as plainly as it can be, in the same order (bench/profile_views.py prints Filedock's): the rate
limit counted in Redis with the project's token read in the same round trip (the project's row read
once and kept while the token stays, as core.kept does), the bytes written, the file's row and its
two events in one durable INSERT statement, then one Redis pipeline as the request ends: the relay's
wake-up mark (SET NX), the upload counted into the day's pending counts (HINCRBY: the bench runs
with quotas off, so no quota reads the count at once) and the request's log line (RPUSH). What
Filedock spends beyond it is its own code; what it spends up to it, any design keeping those
guarantees pays. Needs REDIS_URL and the tables of GUARDED_SQL (the bench creates them).
"""

import json
import os
import time
import uuid
from datetime import UTC, datetime

from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from bench.minimal_settings import *  # noqa: F403
from core.ratelimit import COUNT_THEN_READ_SCRIPT

ROOT_URLCONF = __name__
TABLE_SQL = """CREATE TABLE IF NOT EXISTS bench_minimal_upload (
    id bigserial PRIMARY KEY, uuid uuid NOT NULL UNIQUE, name text NOT NULL, size bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())"""
GUARDED_SQL = """CREATE TABLE IF NOT EXISTS bench_minimal_event (
    id bigserial PRIMARY KEY, file_uuid uuid NOT NULL, type text NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())"""
UPLOAD_DIR = os.environ.get("BENCH_UPLOAD_DIR", "/tmp/filedock-bench-minimal")


def _write(request) -> dict:
    """Each uploaded file's bytes under a new UUID; returns {field: (uuid, size)}."""
    written = {}
    for field, uploaded in request.FILES.items():
        name = str(uuid.uuid4())
        with open(os.path.join(UPLOAD_DIR, name), "wb") as f:
            for chunk in uploaded.chunks():
                f.write(chunk)
        written[field] = (name, uploaded.size)
    return written


@csrf_exempt
def upload(request):
    return JsonResponse({field: name for field, (name, _) in _write(request).items()})


def _recorded(request, synchronous: bool):
    written = _write(request)
    with transaction.atomic(), connection.cursor() as cursor:
        if not synchronous:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for name, size in written.values():
            cursor.execute(
                "INSERT INTO bench_minimal_upload (uuid, name, size) VALUES (%s, %s, %s)", [name, name, size]
            )
    return JsonResponse({field: name for field, (name, _) in written.items()})


@csrf_exempt
def upload_durable(request):
    return _recorded(request, synchronous=True)


@csrf_exempt
def upload_async_commit(request):
    return _recorded(request, synchronous=False)


INSERT_SQL = """WITH f AS (INSERT INTO bench_minimal_upload (uuid, name, size) VALUES (%(uuid)s, %(name)s, %(size)s))
INSERT INTO bench_minimal_event (file_uuid, type, payload)
SELECT %(uuid)s, v.column1, %(payload)s FROM (VALUES ('file.uploaded'), ('file.stored')) AS v"""
_redis = None


def _redis_client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ["REDIS_URL"])
        _redis.rate = _redis.register_script(COUNT_THEN_READ_SCRIPT)  # the product's own, reading the token
    return _redis


_projects: dict[str, tuple] = {}  # public key -> (token, the project's row): core.kept's idea, bare


def _project(public_key: str, token) -> tuple | None:
    kept = _projects.get(public_key)
    if kept is not None and token is not None and kept[0] == token:
        return kept[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM projects_project WHERE public_key = %s", [public_key])
        project = cursor.fetchone()
    if project is not None and token is not None:
        _projects[public_key] = (token, project)
    return project


@csrf_exempt
def upload_guarded(request):
    client, now = _redis_client(), time.time()
    public_key = request.POST["UPLOADCARE_PUB_KEY"]
    minute = int(now // 60)
    keys = [f"bench-rate:ip:{request.META['REMOTE_ADDR']}:{minute}", f"bench-rate:key:{public_key}:{minute}"]
    over, token = client.rate(keys=[*keys, f"bench-token:{public_key}"], args=[10**9, 60, 10**9, 60])
    if over:
        return HttpResponse(status=429)
    if token is None:
        client.set(f"bench-token:{public_key}", 1, nx=True)  # once: later requests keep the row
    project = _project(public_key, token)
    if project is None:
        return HttpResponse(status=403)
    with connection.cursor() as cursor:
        written = _write(request)
        for name, size in written.values():
            payload = json.dumps({"uuid": name, "size": size})
            cursor.execute(INSERT_SQL, {"uuid": name, "name": name, "size": size, "payload": payload})
    line = {"t": now, "a": "upload", "m": "POST", "u": request.path, "s": 200, "k": public_key}
    pipeline = client.pipeline(transaction=False)
    pipeline.set(f"bench-wake:{connection.settings_dict['NAME']}", 1, nx=True, ex=5)
    pipeline.hincrby(f"bench-usage:{datetime.now(UTC).date()}", f"{project[0]}:uploads", len(written))
    pipeline.rpush("bench-apilog", json.dumps(line, separators=(",", ":")))
    pipeline.execute()
    return JsonResponse({field: name for field, (name, _) in written.items()})


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [
    path("upload/base/", upload),
    path("upload/durable/", upload_durable),
    path("upload/async-commit/", upload_async_commit),
    path("upload/guarded/", upload_guarded),
    path("healthz", healthz),
]
