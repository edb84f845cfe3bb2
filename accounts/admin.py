from allauth.usersessions.admin import UserSessionAdmin as BaseUserSessionAdmin
from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.models import AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "suspended_at", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", ("suspended_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name"]
    readonly_fields = ["suspended_at", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name"]}),
        ("Status", {"fields": ["is_active", "suspended_at", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["suspend", "unsuspend"]

    @admin.action(description="Suspend selected accounts (blocks sign-in, ends sessions)")
    def suspend(self, request, queryset):
        for user in queryset:
            services.user_suspend(user=user)
        self.message_user(request, f"{queryset.count()} account(s) suspended.", messages.SUCCESS)

    @admin.action(description="Lift suspension of selected accounts")
    def unsuspend(self, request, queryset):
        for user in queryset:
            services.user_unsuspend(user=user)
        self.message_user(request, f"{queryset.count()} account(s) reactivated.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is written by services and never edited."""

    list_display = ["created_at", "action", "actor_email", "project_name", "ip"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_email", "project_name", "action"]
    date_hierarchy = "created_at"
    list_select_related = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# allauth's own admin searches user__username, which this user model (email sign-in) does not have.
admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(BaseUserSessionAdmin):
    search_fields = ["user__email", "ip"]
