"""Daily usage charts as plain geometry for inline SVG (no JavaScript, no style attributes)."""

from dataclasses import dataclass, field
from datetime import date

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import filesizeformat
from django.utils.dateformat import format as date_format

WIDTH = 310  # viewBox units; one slot of 10 per day of a 31-day month
HEIGHT = 100
SLOT = 10
BAR = 7


@dataclass
class ChartBar:
    x: int
    y: float
    height: float
    title: str


@dataclass
class Chart:
    key: str
    title: str
    total: str
    peak: str
    first_day: str
    last_day: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[ChartBar] = field(default_factory=list)


def _format(value: int, is_bytes: bool) -> str:
    return filesizeformat(value) if is_bytes else intcomma(value)


def daily_chart(
    *, key: str, title: str, days: list[date], values: dict[date, int], is_bytes: bool = False, gauge: bool = False
) -> Chart:
    """One bar per day of `days`; days without a value (the future, unsampled days) get no bar.

    A counter's total is the sum; a gauge (stored bytes, files) shows its latest value instead.
    """
    present = [values[d] for d in days if d in values]
    peak = max(present, default=0)
    if gauge:
        latest = next((values[d] for d in reversed(days) if d in values), 0)
        total = f"{_format(latest, is_bytes)} now"
    else:
        total = f"{_format(sum(present), is_bytes)} this month"
    chart = Chart(
        key=key,
        title=title,
        total=total,
        peak=_format(peak, is_bytes),
        first_day=date_format(days[0], "M j"),
        last_day=date_format(days[-1], "M j"),
        width=max(SLOT * len(days), SLOT),
    )
    for index, day in enumerate(days):
        if day not in values:
            continue
        value = values[day]
        # Keep a hairline for non-zero days so small values stay visible against a large peak.
        height = 0.0 if not value else max(1.5, round(value / peak * (HEIGHT - 2), 2))
        chart.bars.append(
            ChartBar(
                x=index * SLOT + (SLOT - BAR) // 2,
                y=round(HEIGHT - height, 2),
                height=height,
                title=f"{date_format(day, 'M j')}: {_format(value, is_bytes)}",
            )
        )
    return chart
