from django.contrib import admin

from files import services
from files.initiators import api_initiator
from files.models import File


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "uuid",
        "project",
        "size",
        "mime_type",
        "datetime_uploaded",
        "datetime_stored",
        "datetime_removed",
    ]
    list_filter = [("datetime_stored", admin.EmptyFieldListFilter), ("datetime_removed", admin.EmptyFieldListFilter)]
    search_fields = ["=uuid", "original_filename", "project__public_key"]
    list_select_related = ["project"]
    # State changes go through the services (store, delete): editing these here would skip the
    # events, and clearing datetime_stored would hand a stored file to expiry.
    readonly_fields = [
        "uuid",
        "project",
        "storage_key",
        "size",
        "mime_type",
        "datetime_uploaded",
        "datetime_stored",
        "datetime_removed",
        "metadata",
        "source",
        "image_info",
    ]
    actions = ["store", "delete_files"]

    @admin.action(description="Store selected files")
    def store(self, request, queryset):
        initiator = api_initiator("admin")
        for file in queryset.filter(datetime_removed__isnull=True):
            services.file_store(file=file, initiator=initiator)
        self.message_user(request, "Files stored.")

    @admin.action(description="Delete selected files (bytes removed)")
    def delete_files(self, request, queryset):
        initiator = api_initiator("admin")
        for file in queryset.filter(datetime_removed__isnull=True):
            services.file_delete(file=file, initiator=initiator)
        self.message_user(request, "Files deleted.")

    show_full_result_count = False
