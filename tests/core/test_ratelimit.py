"""core.ratelimit: windows counted in the cache, admit raising, waiting only looking."""

import pytest
from django.core.cache import cache

from core import ratelimit


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()


def test_admit_raises_past_the_limit_with_the_seconds_left():
    ratelimit.admit(("t:a", "2/min"))
    ratelimit.admit(("t:a", "2/min"))
    with pytest.raises(ratelimit.Throttled) as refused:
        ratelimit.admit(("t:a", "2/min"))
    assert 1 <= refused.value.wait <= 60 and "Try again in" in str(refused.value)
    ratelimit.admit(("t:b", "2/min"))  # another scope counts on its own


def test_waiting_looks_without_counting():
    assert ratelimit.waiting("t:c", "1/min") == 0
    assert ratelimit.waiting("t:c", "1/min") == 0  # looking twice counted nothing
    assert ratelimit.seconds_to_wait(("t:c", "1/min")) == 0
    assert ratelimit.waiting("t:c", "1/min") >= 1
