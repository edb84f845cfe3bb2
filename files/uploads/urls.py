from django.urls import path

from files.uploads import sources, tus_views
from files.uploads import views as upload_api

app_name = "upload"

# pyuploadcare builds these three with a leading slash, dropping the base's path prefix,
# so they are also served at the site root (see config/urls.py).
root_aliases = [
    path("from_url/", upload_api.from_url),
    path("from_url/status/", upload_api.from_url_status),
    path("group/", upload_api.group),
    path("group//", upload_api.group),
]

urlpatterns = [
    path("base/", upload_api.base, name="base"),
    path("multipart/start/", upload_api.multipart_start_view, name="multipart_start"),
    path("multipart/part/<uuid:upload_uuid>/<int:index>/", upload_api.multipart_part, name="multipart_part"),
    path("multipart/complete/", upload_api.multipart_complete_view, name="multipart_complete"),
    path("from_url/", upload_api.from_url, name="from_url"),
    path("from_url/status/", upload_api.from_url_status, name="from_url_status"),
    path("info/", upload_api.info, name="info"),
    path("group/", upload_api.group, name="group"),
    path("group//", upload_api.group),
    path("group/info/", upload_api.group_info, name="group_info"),
    path("tus/", tus_views.collection, name="tus"),
    path("tus/<uuid:upload_id>/", tus_views.resource, name="tus_upload"),
    path("sources/", sources.sources, name="sources"),
]
