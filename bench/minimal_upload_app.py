"""P4's baseline: the least a Django view can do with an upload — settings, URLs and view in one module.

Served by the same gunicorn command as Filedock (config.wsgi) with
DJANGO_SETTINGS_MODULE=bench.minimal_upload_app; BENCH_UPLOAD_DIR is where the files go.
No middleware, no database: it parses the multipart body, writes the file's bytes under a new UUID
and answers with JSON, as /upload/base/ does. Not part of the product's URLs.
"""

import os
import uuid

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

SECRET_KEY = "bench-minimal-" + "x" * 50
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list = []
MIDDLEWARE: list = []
DATABASES: dict = {}
USE_TZ = True
UPLOAD_DIR = os.environ.get("BENCH_UPLOAD_DIR", "/tmp/filedock-bench-minimal")


@csrf_exempt
def upload(request):
    names = {}
    for field, uploaded in request.FILES.items():
        name = str(uuid.uuid4())
        with open(os.path.join(UPLOAD_DIR, name), "wb") as f:
            for chunk in uploaded.chunks():
                f.write(chunk)
        names[field] = name
    return JsonResponse(names)


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [path("upload/base/", upload), path("healthz", healthz)]
