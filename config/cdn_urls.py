"""The URLs of the CDN's own origin (config.middleware routes its host here): files, renderings
and groups at the root, as Uploadcare's CDN and the File Uploader build them, and a health check."""

from django.urls import include, path

from config.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("files.cdn.urls")),
]
