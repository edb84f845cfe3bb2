"""P8's second floor: pyuploadcare's pages answered by the least a Django view can do.

Served by the same gunicorn command as Filedock (config.wsgi) with
DJANGO_SETTINGS_MODULE=bench.minimal_rest_app; BENCH_PAGES_DIR holds the walk's pages as files
(p.json, p1.json, ...: bench/rest_iterate.py writes them). No middleware, no database, no
authentication: GET /api/files/?page=N reads page N's bytes and answers them. Filedock over this
floor is what its own work per page (authentication, the page's queries, metering, JSON) costs
on top of an HTTP request through Django. Not part of the product's URLs.

With BENCH_REST_GUARDED=1 it is P8's third floor: before answering the saved bytes, each request
does the least the REST API's guarantees need, in as few round trips as they allow: the signed
Authorization header checked (HMAC-SHA1 of the string to sign, the Date within 15 minutes) against
the project's active key, read by public key in one SELECT and kept while the token a Redis GET
reads stays the same (as core.kept does: a revoked key fails at once), the page's 100 rows read by
keyset in one SELECT of the columns a file's info shows (tags included), and the project's
rate-limit window and its API-call count in one pipelined Redis round trip. It leaves out what costs
CPU only (decrypting the key, building the JSON, the API log): what is left is a ceiling for any
Django server keeping those guarantees. BENCH_PROJECT_ID, BENCH_PUBLIC_KEY and BENCH_SECRET_KEY name
the project; BENCH_PAGES_DIR's pages say where each page starts.
"""

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from bench.minimal_settings import *  # noqa: F403

ROOT_URLCONF = __name__
PAGES = Path(os.environ.get("BENCH_PAGES_DIR", "/tmp/filedock-bench-pages"))


GUARDED = os.environ.get("BENCH_REST_GUARDED") == "1"
KEY_SQL = """SELECT k.secret FROM projects_secretkey k JOIN projects_project p ON p.id = k.project_id
WHERE p.public_key = %s AND p.deleted_at IS NULL AND k.revoked_at IS NULL
AND (k.expires_at IS NULL OR k.expires_at > now())"""
PAGE_SQL = """SELECT f.uuid::text, f.datetime_uploaded, f.datetime_stored, f.datetime_removed, f.size,
f.mime_type, f.original_filename, f.image_info::text, f.metadata::text, f.source, f.media_info::text,
ARRAY(SELECT t.tag FROM files_filetag t WHERE t.file_id = f.uuid)
FROM files_file f WHERE f.project_id = %s AND f.datetime_removed IS NULL
AND (f.datetime_uploaded, f.uuid) > (%s, %s) ORDER BY f.datetime_uploaded, f.uuid LIMIT 100"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEYS: dict[str, tuple] = {}  # public key -> (token, the key rows): core.kept's idea, bare


def _starts() -> dict[str, tuple]:
    """Each saved page's keyset start: the (uploaded, uuid) of the previous page's last file."""
    starts, previous = {}, (EPOCH, "00000000-0000-0000-0000-000000000000")
    for number in range(len(list(PAGES.glob("p*.json")))):
        name = str(number or "")
        starts[name] = previous
        results = json.loads((PAGES / f"p{name}.json").read_bytes())["results"]
        if results:
            previous = (datetime.fromisoformat(results[-1]["datetime_uploaded"]), results[-1]["uuid"])
    return starts


def _signed(request) -> bool:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    public_key, _, signature = credentials.partition(":")
    date = request.META.get("HTTP_DATE", "")
    try:
        if scheme != "Uploadcare" or abs(datetime.now(UTC) - parsedate_to_datetime(date)) > timedelta(minutes=15):
            return False
    except (TypeError, ValueError):
        return False
    message = "\n".join(
        [
            request.method,
            hashlib.md5(request.body).hexdigest(),
            request.META.get("CONTENT_TYPE", ""),
            date,
            request.META.get("RAW_URI") or request.get_full_path(),
        ]
    ).encode()
    token = REDIS.get(f"bench-token:{public_key}")  # Filedock reads it with the failed-auth limit
    found = _KEYS.get(public_key)
    if token is None or found is None or found[0] != token:
        with connection.cursor() as cursor:
            cursor.execute(KEY_SQL, [public_key])
            found = (token, cursor.fetchall())
        if token is not None:
            _KEYS[public_key] = found
        else:
            REDIS.set(f"bench-token:{public_key}", 1, nx=True)
    expected = hmac.new(os.environ["BENCH_SECRET_KEY"].encode(), message, hashlib.sha1).hexdigest()
    return bool(found[1]) and hmac.compare_digest(expected, signature.lower())


def _guard(request, number: str) -> bool:
    if not _signed(request):
        return False
    with connection.cursor() as cursor:
        cursor.execute(PAGE_SQL, [os.environ["BENCH_PROJECT_ID"], *STARTS[number]])
        cursor.fetchall()
    with REDIS.pipeline(transaction=False) as pipe:
        window = f"bench-rate:{os.environ['BENCH_PUBLIC_KEY']}:{int(datetime.now(UTC).timestamp()) // 60}"
        pipe.incr(window).expire(window, 60).incr(f"bench-calls:{os.environ['BENCH_PUBLIC_KEY']}").execute()
    return True


if GUARDED:
    import redis

    REDIS = redis.Redis.from_url(os.environ["REDIS_URL"])
    STARTS = _starts()


def page(request):
    number = request.GET.get("page", "")
    if not number.isdigit() and number != "":
        return HttpResponse(status=404)
    if GUARDED and not _guard(request, number):
        return HttpResponse(status=401)
    return HttpResponse((PAGES / f"p{number}.json").read_bytes(), content_type="application/vnd.uploadcare-v0.7+json")


def healthz(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("api/files/", page), path("healthz", healthz)]
