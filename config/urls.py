from urllib.parse import urlparse

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config.middleware import LEGACY_CDN_PATH
from config.views import favicon, healthz
from files.uploads.urls import root_aliases

admin.site.site_header = "Filedock administration"
admin.site.site_title = "Filedock admin"


def mount(base: str) -> str:
    """The route prefix for a base setting that may be a path or a full URL of this server."""
    return urlparse(base).path.lstrip("/")


# allauth answers its rate limits (login, signup, password reset) with this view.
handler429 = "config.views.too_many_requests"
# The REST API's unknown paths answer JSON; everything else the dashboard's 404 page.
handler404 = "config.views.not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path(mount(settings.UPLOAD_BASE), include("files.uploads.urls")),
    path(mount(settings.API_BASE), include("config.api_urls")),
    # A CDN base that is a full URL has an origin of its own (config.cdn_urls), and what is left
    # here under /cdn/ is redirected there before it resolves (config.middleware).
    path(mount(settings.CDN_BASE) or LEGACY_CDN_PATH.lstrip("/"), include("files.cdn.urls")),
    path(mount(settings.PROXY_BASE), include("files.cdn.proxy_urls")),
    path("", include((root_aliases, "upload"), namespace="upload_root")),  # the Upload API's, for its logs
    path("billing/", include("billing.urls")),
    path("account/", include("accounts.urls")),
    path("", include("files.dashboard.urls")),
    path("", include("projects.urls")),
    # @uploadcare/rest-client replaces the API base's path with its own (/files/, /webhooks/, ...),
    # so the REST API is also answered at the root.
    path("", include("config.api_urls", namespace="api_root")),
]
