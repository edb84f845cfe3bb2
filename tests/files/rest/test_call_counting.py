"""REST calls counted into the day's usage: at once when the owner's plan limits them, else in
Redis with the rate limit's round trip, written by the worker's flush (billing.metering)."""

import pytest

from billing import metering
from billing.models import Plan, UsageDay
from tests.helpers import one_window


def _calls(project) -> int:
    return UsageDay.objects.filter(project=project).values_list("api_calls", flat=True).first() or 0


@pytest.fixture
def unlimited(team, production_cache):
    Plan.objects.update(api_calls=None)


def test_calls_a_plan_does_not_limit_wait_in_redis_until_the_flush(api, team, unlimited):
    assert [api("get", "files/").status_code for _ in range(5)] == [200] * 5
    assert _calls(team.project) == 0  # no database write per call
    assert metering.usage_flush() == 1
    assert _calls(team.project) == 5


def test_calls_a_plan_limits_are_in_the_usage_row_at_once(api, team, production_cache):
    assert Plan.objects.filter(api_calls__isnull=False).exists()
    assert [api("get", "files/").status_code for _ in range(3)] == [200] * 3
    assert _calls(team.project) == 3


def test_calls_are_counted_in_the_database_when_quotas_are_off_and_redis_away(api, team, settings):
    settings.FILEDOCK_QUOTAS_ENFORCED = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.REDIS_URL = ""
    assert [api("get", "files/").status_code for _ in range(2)] == [200] * 2
    assert _calls(team.project) == 2


def test_a_throttled_call_is_not_counted(api, team, unlimited, settings):
    settings.FILEDOCK_API_RATE = "2/min"
    one_window()
    assert [api("get", "files/").status_code for _ in range(3)] == [200, 200, 429]
    metering.usage_flush()
    assert _calls(team.project) == 2


def test_a_flush_adds_each_counter_and_takes_traffic_written_before_counters_were_named(team):
    client = metering.redis_client()
    key, field = metering.pending_slot(project_id=team.project.pk, counter="api_calls")
    client.hincrby(key, field, 4)
    client.hincrby(key, str(team.project.pk), 300)  # traffic, as a process before this change wrote it
    metering.traffic_add(project_id=team.project.pk, sent=20)
    assert metering.usage_flush() == 1
    row = UsageDay.objects.get(project=team.project)
    assert (row.api_calls, row.traffic_bytes, row.uploads) == (4, 320, 0)


def test_no_pending_slot_for_a_counter_that_does_not_exist(team):
    with pytest.raises(ValueError):
        metering.pending_slot(project_id=team.project.pk, counter="bananas")
