from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from core import kept
from projects import services
from projects.models import ApiLogLine, Invitation, Membership, OAuthApp, Project, SecretKey, Webhook, WebhookDelivery
from projects.webhooks import services as webhook_services


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "public_key", "owner_email", "autostore_enabled", "created_at", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter), "autostore_enabled", "created_at"]
    search_fields = ["name", "public_key", "=id", "memberships__user__email"]
    readonly_fields = ["id", "public_key", "created_at", "deleted_at"]
    inlines = [MembershipInline]
    actions = ["delete_in_background"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__user")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # requests read the project again (core.kept)
            kept.changed(obj.public_key)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting the row alone would leave its files' bytes behind: projects are deleted by the
        # action below, which hides them at once and purges them in the background.
        return False

    @admin.display(description="Owner")
    def owner_email(self, project):
        owners = [m.user.email for m in project.memberships.all() if m.role == "owner"]
        return owners[0] if owners else "—"

    @admin.action(description="Delete selected projects (files removed in the background)")
    def delete_in_background(self, request, queryset):
        for project in queryset.filter(deleted_at__isnull=True):
            services.project_delete(project=project)
        self.message_user(request, "Deletion started.", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "project__name", "project__public_key"]
    autocomplete_fields = ["user", "project"]
    list_select_related = ["user", "project"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "project", "role", "invited_by", "created_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "project__name"]
    list_select_related = ["project", "invited_by"]
    # The token is the accept link's secret; admins never need to read it.
    exclude = ["token"]
    readonly_fields = ["project", "email", "role", "invited_by", "created_at", "accepted_at", "accepted_by"]

    def has_add_permission(self, request):
        return False


@admin.register(SecretKey)
class SecretKeyAdmin(admin.ModelAdmin):
    list_display = ["label", "project", "masked", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["label", "project__name", "project__public_key", "last4"]
    list_select_related = ["project"]
    fields = ["project", "label", "masked", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created from the dashboard so the secret is shown once to its user

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        kept.changed(obj.project.public_key)  # a deleted key fails at once where its rows were kept

    def delete_queryset(self, request, queryset):
        public_keys = set(queryset.values_list("project__public_key", flat=True))
        super().delete_queryset(request, queryset)
        for public_key in public_keys:
            kept.changed(public_key)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            services.secret_key_revoke(key=key)
        self.message_user(request, "Keys revoked.", messages.SUCCESS)


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["target_url", "event", "project", "is_active", "created"]
    list_filter = ["event", "is_active"]
    search_fields = ["target_url", "project__name", "project__public_key"]
    list_select_related = ["project"]
    # The signing secret is never shown here; owners set it from the dashboard or the API.
    fields = ["project", "target_url", "event", "is_active", "version", "created", "updated"]
    readonly_fields = fields
    actions = ["activate", "deactivate"]

    def has_add_permission(self, request):
        return False  # subscriptions are made by their project, from the dashboard or the REST API

    def has_change_permission(self, request, obj=None):
        return False

    # Deleting goes through the service: it is audited, and a delivery a worker is recording
    # meanwhile goes with its attempts (webhook_services._webhooks_deleted).
    def delete_model(self, request, obj):
        webhook_services.webhook_delete(webhook=obj)

    def delete_queryset(self, request, queryset):
        for webhook in queryset:
            webhook_services.webhook_delete(webhook=webhook)

    @admin.action(description="Activate selected webhooks")
    def activate(self, request, queryset):
        for webhook in queryset.filter(is_active=False):
            webhook_services.webhook_update(webhook=webhook, is_active=True)
        self.message_user(request, "Webhooks activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected webhooks")
    def deactivate(self, request, queryset):
        for webhook in queryset.filter(is_active=True):
            webhook_services.webhook_update(webhook=webhook, is_active=False)
        self.message_user(request, "Webhooks deactivated.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_uuid", "event_type", "webhook", "status", "attempts", "next_attempt_at", "created"]
    list_filter = ["status", "event_type", "is_test"]
    search_fields = ["=delivery_uuid", "webhook__target_url", "webhook__project__name"]
    list_select_related = ["webhook"]
    readonly_fields = [
        "delivery_uuid",
        "webhook",
        "event",
        "event_type",
        "is_test",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "dispatched_at",
        "window_started_at",
        "created",
        "delivered_at",
    ]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Redeliver selected deliveries (same webhook-id)")
    def redeliver(self, request, queryset):
        for delivery in queryset.select_related("webhook"):
            try:
                webhook_services.webhook_redeliver(delivery=delivery)
            except ValidationError as exc:
                self.message_user(request, f"{delivery.delivery_uuid}: {' '.join(exc.messages)}", messages.WARNING)
        self.message_user(request, "Redeliveries queued.", messages.SUCCESS)


@admin.register(OAuthApp)
class OAuthAppAdmin(admin.ModelAdmin):
    list_display = ["provider", "project", "enabled", "client_id", "updated"]
    list_filter = ["provider", "enabled"]
    search_fields = ["client_id", "project__name", "project__public_key"]
    list_select_related = ["project"]
    # The client secret is never shown here, not even masked; owners set it from the dashboard.
    fields = ["project", "provider", "client_id", "enabled", "created", "updated"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # set up from the dashboard, where the provider's fields are validated

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiLogLine)
class ApiLogLineAdmin(admin.ModelAdmin):
    """Read-only: lines are written by the drain task and deleted by its purge."""

    list_display = ["created_at", "project", "api", "method", "path", "status", "duration_ms", "ip"]
    list_filter = ["api", "method"]
    search_fields = ["=id", "path", "=public_key", "project__name"]
    list_select_related = ["project"]
    show_full_result_count = False  # no COUNT over a week of requests

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
