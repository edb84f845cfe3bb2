"""Billing periods are calendar months in UTC, the end exclusive."""

from datetime import date, timedelta

from django.utils import timezone


def today() -> date:
    """Today's date in UTC: the day usage is counted on."""
    return timezone.now().date()  # timezone.now() is aware UTC with USE_TZ


def month_bounds(day: date) -> tuple[date, date]:
    """The first day of `day`'s month and the first day of the next month."""
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]
