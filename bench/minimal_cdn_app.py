"""P5's floors: the least a Django view behind nginx can do for a CDN GET — settings, URLs and views in one module.

Served by the same gunicorn command as Filedock (config.wsgi) with
DJANGO_SETTINGS_MODULE=bench.minimal_cdn_app, behind the same nginx as Filedock's X-Accel-Redirect
figure. No middleware. `cdn/<uuid>/` answers X-Accel-Redirect to BENCH_CDN_ACCEL + BENCH_CDN_KEY
without any lookup; `cdn/<uuid>/db` first does one SELECT of the file's storage key by its primary
key (the uuid) in Filedock's table on DATABASE_URL (connections kept as production keeps them).
Not part of the product's URLs.
"""

import os

from django.db import connection
from django.http import Http404, HttpResponse
from django.urls import path

from bench.minimal_settings import *  # noqa: F403

ROOT_URLCONF = __name__
ACCEL = os.environ.get("BENCH_CDN_ACCEL", "/_protected/")
KEY = os.environ.get("BENCH_CDN_KEY", "")


def _accel(key: str) -> HttpResponse:
    response = HttpResponse(content_type="application/octet-stream")
    response["X-Accel-Redirect"] = ACCEL + key
    return response


def header_only(request, file_id):
    return _accel(KEY)


def with_select(request, file_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT storage_key FROM files_file WHERE uuid = %s", [file_id])
        found = cursor.fetchone()
    if found is None:
        raise Http404
    return _accel(found[0])


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [
    path("cdn/<uuid:file_id>/", header_only),
    path("cdn/<uuid:file_id>/db", with_select),
    path("healthz", healthz),
]
