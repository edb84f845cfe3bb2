"""CDN URLs, mounted at CDN_BASE: `{uuid}/`, `{uuid}/{filename}`, `{uuid}/-/preview/[WxH/][filename]`,
other image operations `{uuid}/-/resize/200x/-/format/webp/[filename]`, `{uuid}/detect_faces/`,
`{uuid}/gif2video/[-/format/mp4/]`; groups as
`{uuid}~{n}/`, `{uuid}~{n}/nth/{i}/[-/ops/][filename]` and `{uuid}~{n}/archive/{zip|tar}/[filename]`.

UUIDs match in either case (Django's `uuid` converter takes lowercase only); anything that is not
a UUID never reaches a view and is a plain 404.
"""

from django.urls import re_path

from files.cdn import groups
from files.cdn import views as cdn

HEX_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID = rf"(?P<file_id>{HEX_UUID})"
GROUP = rf"(?P<group_id>{HEX_UUID}~\d{{1,4}})"  # a group holds at most 1000 files

app_name = "cdn"

urlpatterns = [
    # The filename only names the download; a size segment ends with "/", a filename does not.
    re_path(rf"^{UUID}/-/preview/(?:(?P<size>[^/]+)/)?(?:(?P<filename>[^/]+))?$", cdn.preview_view, name="preview"),
    re_path(rf"^{UUID}/-/(?P<ops>.+)$", cdn.operations_view, name="operations"),
    re_path(rf"^{UUID}/detect_faces/$", cdn.detect_faces_view, name="detect_faces"),
    re_path(rf"^{UUID}/gif2video/(?P<ops>.*)$", cdn.gif2video_view, name="gif2video"),
    re_path(rf"^{UUID}/(?:(?P<filename>[^/]+))?$", cdn.file_view, name="file"),
    re_path(rf"^{GROUP}/$", groups.group_view, name="group"),
    re_path(rf"^{GROUP}/nth/(?P<index>\d{{1,4}})/(?P<rest>.*)$", groups.group_nth_view, name="group_nth"),
    re_path(
        rf"^{GROUP}/archive/(?P<kind>zip|tar)/(?:(?P<filename>[^/]+))?$",
        groups.group_archive_view,
        name="group_archive",
    ),
]
