"""P8's second floor: pyuploadcare's pages answered by the least a Django view can do.

Served by the same gunicorn command as Filedock (config.wsgi) with
DJANGO_SETTINGS_MODULE=bench.minimal_rest_app; BENCH_PAGES_DIR holds the walk's pages as files
(p.json, p1.json, ...: bench/rest_iterate.py writes them). No middleware, no database, no
authentication: GET /api/files/?page=N reads page N's bytes and answers them. Filedock over this
floor is what its own work per page (authentication, the page's queries, metering, JSON) costs
on top of an HTTP request through Django. Not part of the product's URLs.
"""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from bench.minimal_settings import *  # noqa: F403

ROOT_URLCONF = __name__
PAGES = Path(os.environ.get("BENCH_PAGES_DIR", "/tmp/filedock-bench-pages"))


def page(request):
    number = request.GET.get("page", "")
    if not number.isdigit() and number != "":
        return HttpResponse(status=404)
    return HttpResponse((PAGES / f"p{number}.json").read_bytes(), content_type="application/vnd.uploadcare-v0.7+json")


def healthz(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("api/files/", page), path("healthz", healthz)]
