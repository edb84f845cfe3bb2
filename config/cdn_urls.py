"""The URLs of the CDN's own origin (config.middleware routes its host here): files, renderings
and groups at the root, as Uploadcare's CDN and the File Uploader build them, and a health check."""

from django.urls import include, path, re_path

from config.views import healthz
from core.delivery import not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("files.cdn.urls")),
    # Anything else on the CDN's host is a plain 404, never a dashboard page or a debug listing.
    re_path(r"", lambda request: not_found()),
]
