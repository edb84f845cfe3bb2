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
"""

import os
import uuid

from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from bench.minimal_settings import *  # noqa: F403

ROOT_URLCONF = __name__
TABLE_SQL = """CREATE TABLE IF NOT EXISTS bench_minimal_upload (
    id bigserial PRIMARY KEY, uuid uuid NOT NULL UNIQUE, name text NOT NULL, size bigint NOT NULL,
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


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [
    path("upload/base/", upload),
    path("upload/durable/", upload_durable),
    path("upload/async-commit/", upload_async_commit),
    path("healthz", healthz),
]
