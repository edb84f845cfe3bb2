"""Plans, subscriptions, metered usage and invoices.

An account (a User) owns the billing of every project it is the owner of. Billing periods are
calendar months in UTC: `[period_start, period_end)`, the end exclusive.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The quotas a plan can set, as (field, label). None on a plan means unlimited.
MONTHLY_QUOTAS = [
    ("uploads", "Uploads"),
    ("api_calls", "API calls"),
    ("webhook_deliveries", "Webhook deliveries"),
    ("traffic_bytes", "Traffic"),
]
STORAGE_QUOTAS = [
    ("stored_bytes", "Storage"),
    ("file_count", "Files"),
]
QUOTA_LABELS = dict(MONTHLY_QUOTAS + STORAGE_QUOTAS)
BYTE_QUOTAS = {"traffic_bytes", "stored_bytes", "max_file_size"}


def _quota(verbose_name: str, help_text: str) -> models.BigIntegerField:
    return models.BigIntegerField(verbose_name, null=True, blank=True, help_text=help_text + " Empty: unlimited.")


class PlanQuerySet(models.QuerySet):
    def public(self):
        return self.filter(is_public=True)


class Plan(models.Model):
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=40, unique=True)
    price_cents = models.PositiveIntegerField("price per month (cents)", default=0)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code, e.g. USD or EUR.")
    stored_bytes = _quota("stored bytes", "Bytes kept across all of the account's projects.")
    file_count = _quota("file count", "Files kept across all of the account's projects.")
    max_file_size = _quota("maximum file size", "Bytes per file.")
    uploads = _quota("uploads per month", "Files uploaded per billing month.")
    api_calls = _quota("REST API calls per month", "REST API requests per billing month.")
    webhook_deliveries = _quota("webhook deliveries per month", "Webhook delivery attempts per billing month.")
    traffic_bytes = _quota("traffic per month", "Bytes delivered by the CDN per billing month.")
    is_default = models.BooleanField(default=False, help_text="New accounts start on this plan.")
    is_public = models.BooleanField(default=True, help_text="Offered on the change-plan page.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["price_cents", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="plan_one_default"),
        ]

    def __str__(self) -> str:
        return self.name

    def limit(self, quota: str) -> int | None:
        return getattr(self, quota)


class Subscription(models.Model):
    """Which plan an account is on, and its current billing period (a calendar month)."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    # A downgrade waits here until the next period starts.
    pending_plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="pending_subscriptions"
    )
    started_at = models.DateTimeField(default=timezone.now)
    current_period_start = models.DateField()
    current_period_end = models.DateField(help_text="Exclusive: the first day of the next period.")

    class Meta:
        indexes = [models.Index(fields=["current_period_end"], name="subscription_period_end")]

    def __str__(self) -> str:
        return f"{self.account} on {self.plan}"


class BillingDetails(models.Model):
    """Who the invoices are addressed to. Copied onto each invoice when it is issued."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_details")
    name = models.CharField("name or company", max_length=200)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address, line 2", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="Two-letter ISO code, e.g. DE.")
    vat_id = models.CharField("VAT ID", max_length=20, blank=True)
    email = models.EmailField("invoice email", blank=True, help_text="Empty: the account's email address.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "billing details"

    def __str__(self) -> str:
        return f"{self.name} ({self.account})"

    def address_lines(self) -> list[str]:
        city = " ".join(part for part in (self.postal_code, self.city) if part)
        lines = [self.name, self.address_line1, self.address_line2, city, self.country]
        if self.vat_id:
            lines.append(f"VAT ID {self.vat_id}")
        return [line for line in lines if line]


class UsageDay(models.Model):
    """One project's usage on one UTC day: counters added as operations happen, storage sampled."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    uploads = models.BigIntegerField(default=0)
    api_calls = models.BigIntegerField(default=0)
    webhook_deliveries = models.BigIntegerField(default=0)
    traffic_bytes = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)  # documents and videos converted (finished jobs)
    stored_bytes = models.BigIntegerField(default=0)
    file_count = models.BigIntegerField(default=0)
    # When stored_bytes and file_count were measured; null until the first sample of the day.
    sampled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="usageday_unique_project_day")]
        indexes = [models.Index(fields=["day"], name="usageday_day")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day}"


# The thresholds (percent of a plan's limit) alerted at when an account set none.
DEFAULT_ALERT_THRESHOLDS = (80, 100)
MAX_ALERT_THRESHOLDS = 5


class UsageAlertSettings(models.Model):
    """An account's usage alert thresholds per quota, and its optional cap on uploads."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_settings")
    # {quota: [percent, ...]} for the quotas set; a quota missing here uses DEFAULT_ALERT_THRESHOLDS.
    thresholds = models.JSONField(default=dict, blank=True)
    # Uploads are refused once uploads, stored bytes or file count reach this percent of the plan's
    # limit (billing.quotas.check_upload). Null: at the limit itself.
    upload_cap_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "usage alert settings"

    def __str__(self) -> str:
        return f"{self.account} usage alerts"

    def thresholds_for(self, quota: str) -> tuple[int, ...]:
        return tuple(self.thresholds.get(quota, DEFAULT_ALERT_THRESHOLDS))


class UsageAlert(models.Model):
    """Records that the email for a quota's threshold went out, so it goes out once per period."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_alerts")
    period_start = models.DateField()
    quota = models.CharField(max_length=40)
    threshold = models.PositiveSmallIntegerField(default=100, help_text="Percent of the plan's limit.")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start", "quota", "threshold"], name="usagealert_once_per_threshold"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.quota} {self.threshold} % {self.period_start:%Y-%m}"

    def get_quota_label(self) -> str:
        return QUOTA_LABELS.get(self.quota, self.quota)


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices")
    # Given when the invoice is issued; a draft has none.
    number = models.CharField(max_length=32, blank=True, default="")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, default="USD")
    total_cents = models.BigIntegerField(default=0)
    bill_to = models.TextField(blank=True, help_text="The billing details as they were when the invoice was issued.")
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "period_start"], name="invoice_one_per_period"),
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="invoice_unique_number"),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.period_start:%Y-%m} ({self.account})"

    @property
    def period_last_day(self):
        return self.period_end - timedelta(days=1)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_price_cents = models.BigIntegerField()
    amount_cents = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.description


class UsageFlush(models.Model):
    """A batch of counts moved from Redis into UsageDay rows (billing.metering.usage_flush): its
    row commits with the counts, so a batch applied before a crash is never applied again."""

    id = models.CharField(max_length=64, primary_key=True)
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.id
