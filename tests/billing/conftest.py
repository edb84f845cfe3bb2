from datetime import date
from types import SimpleNamespace

import pytest

from billing.models import Plan
from tests.factories import make_plan


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


NOV_16 = date(2026, 11, 16)
