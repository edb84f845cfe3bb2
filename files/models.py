import uuid

from django.db import models
from django.utils import timezone


class FileQuerySet(models.QuerySet):
    def present(self):
        return self.filter(datetime_removed__isnull=True)


class File(models.Model):
    """An uploaded file: its bytes live in storage under `storage_key`."""

    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="files")
    original_filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=255, default="application/octet-stream")
    storage_key = models.CharField(max_length=255)
    datetime_uploaded = models.DateTimeField(default=timezone.now)
    datetime_stored = models.DateTimeField(null=True, blank=True)
    datetime_removed = models.DateTimeField(null=True, blank=True)

    objects = FileQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["project", "-datetime_uploaded"], name="file_project_uploaded")]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.uuid})"
