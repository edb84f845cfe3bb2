"""CDN URLs, mounted at CDN_BASE: `{uuid}/`, `{uuid}/{filename}`, `{uuid}/-/preview/[WxH/][filename]`,
and other image operations `{uuid}/-/resize/200x/-/format/webp/[filename]`.

UUIDs match in either case (Django's `uuid` converter takes lowercase only); anything that is not
a UUID never reaches a view and is a plain 404.
"""

from django.urls import re_path

from files.cdn import views as cdn

UUID = r"(?P<file_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"

app_name = "cdn"

urlpatterns = [
    # The filename only names the download; a size segment ends with "/", a filename does not.
    re_path(rf"^{UUID}/-/preview/(?:(?P<size>[^/]+)/)?(?:(?P<filename>[^/]+))?$", cdn.preview_view, name="preview"),
    re_path(rf"^{UUID}/-/(?P<ops>.+)$", cdn.operations_view, name="operations"),
    re_path(rf"^{UUID}/(?:(?P<filename>[^/]+))?$", cdn.file_view, name="file"),
]
