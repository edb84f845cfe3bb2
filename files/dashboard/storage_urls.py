"""Storage & backups settings, in their own namespace (files:storage:...) under the project."""

from django.urls import path

from files.dashboard import storage

app_name = "storage"

base = "projects/<uuid:project_id>/storage/"
connection = base + "<uuid:connection_id>/"

urlpatterns = [
    path(base, storage.storage_settings, name="index"),
    path(base + "test/", storage.bucket_test, name="test"),
    path(base + "connect/", storage.bucket_connect, name="connect"),
    path(connection + "test/", storage.bucket_retest, name="retest"),
    path(connection + "disconnect/", storage.bucket_disconnect, name="disconnect"),
    path(connection + "retry/", storage.backup_retry, name="retry"),
]
