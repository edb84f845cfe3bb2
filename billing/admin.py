from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat

from billing import services
from billing.models import (
    BillingDetails,
    Invoice,
    InvoiceLine,
    Plan,
    Subscription,
    UsageAlert,
    UsageAlertSettings,
    UsageDay,
)
from billing.money import format_money


def _limit(value, is_bytes=False) -> str:
    if value is None:
        return "∞"
    return filesizeformat(value) if is_bytes else f"{value:,}"


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "price",
        "storage",
        "files",
        "max_size",
        "monthly_uploads",
        "monthly_api_calls",
        "is_default",
        "is_public",
        "subscribers",
    ]
    list_filter = ["is_public", "is_default", "currency"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "price_cents", "currency", "is_default", "is_public"]}),
        (
            "Quotas (empty: unlimited)",
            {
                "fields": [
                    "stored_bytes",
                    "file_count",
                    "max_file_size",
                    "uploads",
                    "api_calls",
                    "webhook_deliveries",
                    "traffic_bytes",
                ]
            },
        ),
    ]

    @admin.display(description="Price", ordering="price_cents")
    def price(self, plan):
        return format_money(plan.price_cents, plan.currency)

    @admin.display(description="Storage")
    def storage(self, plan):
        return _limit(plan.stored_bytes, True)

    @admin.display(description="Files")
    def files(self, plan):
        return _limit(plan.file_count)

    @admin.display(description="Max file")
    def max_size(self, plan):
        return _limit(plan.max_file_size, True)

    @admin.display(description="Uploads/mo")
    def monthly_uploads(self, plan):
        return _limit(plan.uploads)

    @admin.display(description="API calls/mo")
    def monthly_api_calls(self, plan):
        return _limit(plan.api_calls)

    @admin.display(description="Subscribers")
    def subscribers(self, plan):
        return plan.subscriptions.count()


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["account", "plan", "pending_plan", "current_period_start", "current_period_end", "started_at"]
    list_filter = ["plan", "pending_plan"]
    search_fields = ["account__email"]
    list_select_related = ["account", "plan", "pending_plan"]
    autocomplete_fields = ["account"]
    readonly_fields = ["pending_plan", "started_at", "current_period_start", "current_period_end"]
    actions = ["renew_due"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change and "plan" in form.changed_data:
            # An admin's plan change takes effect at once, without proration charges.
            services.subscription_assign(subscription=obj, plan=form.cleaned_data["plan"])
        elif not change:
            subscription = services.subscription_ensure(account=obj.account)
            services.subscription_assign(subscription=subscription, plan=obj.plan)
            obj.pk = subscription.pk

    @admin.action(description="Renew ended periods and issue their invoices")
    def renew_due(self, request, queryset):
        issued = sum(len(services.subscription_renew(subscription=s)) for s in queryset)
        self.message_user(request, f"{issued} invoice(s) issued.", messages.SUCCESS)


@admin.register(BillingDetails)
class BillingDetailsAdmin(admin.ModelAdmin):
    list_display = ["account", "name", "country", "vat_id", "updated_at"]
    list_filter = ["country"]
    search_fields = ["account__email", "name", "vat_id"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "project",
        "uploads",
        "api_calls",
        "webhook_deliveries",
        "conversions",
        "traffic",
        "stored",
        "file_count",
    ]
    list_filter = ["day"]
    search_fields = ["project__name", "project__public_key", "=project__id"]
    list_select_related = ["project"]
    date_hierarchy = "day"
    readonly_fields = [
        "project",
        "day",
        "uploads",
        "api_calls",
        "webhook_deliveries",
        "conversions",
        "traffic_bytes",
        "stored_bytes",
        "file_count",
        "sampled_at",
    ]

    def has_add_permission(self, request):
        return False  # written by metering only

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Traffic", ordering="traffic_bytes")
    def traffic(self, row):
        return filesizeformat(row.traffic_bytes)

    @admin.display(description="Stored", ordering="stored_bytes")
    def stored(self, row):
        return filesizeformat(row.stored_bytes)


@admin.register(UsageAlertSettings)
class UsageAlertSettingsAdmin(admin.ModelAdmin):
    list_display = ["account", "upload_cap_percent", "updated_at"]
    search_fields = ["account__email"]
    list_select_related = ["account"]
    readonly_fields = ["account", "updated_at"]

    def has_add_permission(self, request):
        return False  # the account sets them on its billing page


@admin.register(UsageAlert)
class UsageAlertAdmin(admin.ModelAdmin):
    list_display = ["account", "quota", "threshold", "period_start", "sent_at"]
    list_filter = ["quota", "threshold", "period_start"]
    search_fields = ["account__email"]
    list_select_related = ["account"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["description", "quantity", "unit_price_cents", "amount_cents", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "period_start", "status", "total", "issued_at", "paid_at"]
    list_filter = ["status", "period_start", "currency"]
    search_fields = ["number", "account__email"]
    list_select_related = ["account"]
    date_hierarchy = "period_start"
    inlines = [InvoiceLineInline]
    readonly_fields = [
        "account",
        "number",
        "period_start",
        "period_end",
        "status",
        "currency",
        "total_cents",
        "bill_to",
        "created_at",
        "issued_at",
        "paid_at",
    ]
    actions = ["mark_paid", "void"]

    def has_add_permission(self, request):
        return False  # invoices are issued by the monthly job

    @admin.display(description="Total", ordering="total_cents")
    def total(self, invoice):
        return format_money(invoice.total_cents, invoice.currency)

    @admin.action(description="Mark paid")
    def mark_paid(self, request, queryset):
        done = [services.invoice_mark_paid(invoice=i) for i in queryset.filter(status=Invoice.Status.OPEN)]
        self.message_user(request, f"{len(done)} invoice(s) marked paid.", messages.SUCCESS)

    @admin.action(description="Void (cancel) selected open invoices")
    def void(self, request, queryset):
        done = [services.invoice_void(invoice=i) for i in queryset.filter(status=Invoice.Status.OPEN)]
        self.message_user(request, f"{len(done)} invoice(s) voided.", messages.SUCCESS)
