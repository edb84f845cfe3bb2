"""A free default plan and two paid plans; admins edit them (and add more) in admin."""

from django.db import migrations

GiB = 1024**3
MiB = 1024**2

PLANS = [
    {
        "slug": "free",
        "name": "Free",
        "price_cents": 0,
        "is_default": True,
        "stored_bytes": 2 * GiB,
        "file_count": 3_000,
        "max_file_size": 100 * MiB,
        "uploads": 3_000,
        "api_calls": 100_000,
        "webhook_deliveries": 3_000,
        "traffic_bytes": 30 * GiB,
    },
    {
        "slug": "pro",
        "name": "Pro",
        "price_cents": 2_900,
        "is_default": False,
        "stored_bytes": 100 * GiB,
        "file_count": 100_000,
        "max_file_size": 1 * GiB,
        "uploads": 50_000,
        "api_calls": 1_000_000,
        "webhook_deliveries": 50_000,
        "traffic_bytes": 500 * GiB,
    },
    {
        "slug": "business",
        "name": "Business",
        "price_cents": 9_900,
        "is_default": False,
        "stored_bytes": 1024 * GiB,
        "file_count": None,
        "max_file_size": 5 * GiB,
        "uploads": 500_000,
        "api_calls": 10_000_000,
        "webhook_deliveries": 500_000,
        "traffic_bytes": 5 * 1024 * GiB,
    },
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    has_default = Plan.objects.filter(is_default=True).exists()
    for values in PLANS:
        values = dict(values, currency="USD", is_public=True)
        if has_default:
            values["is_default"] = False
        Plan.objects.get_or_create(slug=values.pop("slug"), defaults=values)


def remove_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Plan.objects.filter(slug__in=[p["slug"] for p in PLANS], subscriptions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_plans, remove_plans)]
