from django.contrib import admin

from files.models import File


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["original_filename", "uuid", "project", "size", "mime_type", "datetime_uploaded", "datetime_stored", "datetime_removed"]
    list_filter = [("datetime_stored", admin.EmptyFieldListFilter), ("datetime_removed", admin.EmptyFieldListFilter)]
    search_fields = ["=uuid", "original_filename", "project__public_key"]
    list_select_related = ["project"]
    readonly_fields = ["uuid", "project", "storage_key", "size", "mime_type", "datetime_uploaded"]
    show_full_result_count = False
