from datetime import date
from types import SimpleNamespace

import pytest

from billing.models import Plan


def make_plan(slug: str, price_cents: int = 0, **quotas) -> Plan:
    fields = dict.fromkeys(
        ("stored_bytes", "file_count", "max_file_size", "uploads", "api_calls", "webhook_deliveries", "traffic_bytes")
    )
    fields.update(quotas)
    return Plan.objects.create(name=slug.title(), slug=slug, price_cents=price_cents, **fields)


@pytest.fixture
def plans(db):
    """Small, predictable plans instead of the ones the data migration creates."""
    Plan.objects.all().delete()
    return SimpleNamespace(
        free=make_plan(
            "free",
            0,
            is_default=True,
            stored_bytes=1000,
            file_count=5,
            max_file_size=500,
            uploads=10,
            api_calls=10,
            webhook_deliveries=10,
            traffic_bytes=10_000,
        ),
        pro=make_plan(
            "pro",
            2900,
            stored_bytes=100_000,
            file_count=500,
            max_file_size=50_000,
            uploads=1000,
            api_calls=1000,
            webhook_deliveries=1000,
            traffic_bytes=1_000_000,
        ),
        business=make_plan("business", 9900),
        hidden=make_plan("hidden", 4900, is_public=False),
    )


def add_file(project, size: int, removed: bool = False, uploaded=None):
    import uuid

    from django.utils import timezone

    from files.models import File

    now = timezone.now()
    return File.objects.create(
        project=project,
        original_filename="f.bin",
        size=size,
        storage_key=f"test/{uuid.uuid4()}",
        datetime_uploaded=uploaded or now,
        datetime_stored=now,
        datetime_removed=now if removed else None,
    )


NOV_16 = date(2026, 11, 16)
