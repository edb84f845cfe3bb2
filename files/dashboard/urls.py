from django.urls import include, path

from files.dashboard import tags, tus
from files.dashboard import views as dashboard
from files.dashboard.conversions import file_convert

app_name = "files"

files = "projects/<uuid:project_id>/files/"
file = files + "<uuid:file_id>/"

urlpatterns = [
    path(files, dashboard.file_list, name="list"),
    path(files + "export/csv/", dashboard.file_list_export, name="export_csv"),
    path(files + "upload/", dashboard.file_upload, name="upload"),
    path(files + "tus/", tus.tus_collection, name="tus"),
    path(files + "tus/<uuid:upload_id>/", tus.tus_resource, name="tus_upload"),
    path(files + "bulk/", dashboard.file_bulk, name="bulk"),
    path(file, dashboard.file_detail, name="detail"),
    path(file + "store/", dashboard.file_store, name="store"),
    path(file + "delete/", dashboard.file_delete, name="delete"),
    path(file + "metadata/", dashboard.metadata_set, name="metadata_set"),
    path(file + "convert/", file_convert, name="convert"),
    path(file + "metadata/delete/", dashboard.metadata_delete, name="metadata_delete"),
    path(file + "tags/", tags.file_tags_set, name="tags_set"),
    path("", include("files.dashboard.storage_urls")),
    path("", include("files.dashboard.proxy_urls")),
]
