"""What the billing page shows: the account's usage against its plan, per project, and per day."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Sum

from billing.charts import Chart, daily_chart
from billing.models import MONTHLY_QUOTAS, STORAGE_QUOTAS, Plan, UsageDay
from billing.periods import days_of, month_bounds, today
from billing.quotas import QuotaUsage, account_usage, monthly_by_project, stored_by_project
from projects.models import Project

CHARTS = [
    ("uploads", "Uploads", False, False),
    ("api_calls", "API calls", False, False),
    ("webhook_deliveries", "Webhook deliveries", False, False),
    ("conversions", "Conversions", False, False),  # a counter with no plan limit: a chart, no bar
    ("traffic_bytes", "Traffic", True, False),
    ("stored_bytes", "Stored bytes", True, True),
    ("file_count", "Files", False, True),
]


@dataclass
class ProjectUsage:
    project: object
    quotas: list[QuotaUsage]


@dataclass
class UsageReport:
    plan: Plan
    period_start: date
    period_end: date
    account: list[QuotaUsage]
    projects: list[ProjectUsage]
    charts: list[Chart]

    @property
    def period_last_day(self) -> date:
        return self.period_end - timedelta(days=1)

    @property
    def warnings(self) -> list[QuotaUsage]:
        return [q for q in self.account if q.level == "warn"]

    @property
    def exceeded(self) -> list[QuotaUsage]:
        return [q for q in self.account if q.level == "over"]


def usage_report(*, account, plan: Plan, day: date | None = None) -> UsageReport:
    day = day or today()
    start, end = month_bounds(day)
    projects = list(
        Project.objects.live().filter(memberships__user=account, memberships__role="owner").order_by("name")
    )
    ids = [p.pk for p in projects]
    totals = account_usage(account, plan=plan, day=day, project_ids=ids)
    monthly = monthly_by_project(ids, start, end)
    stored = stored_by_project(ids, day=day)
    rows = []
    for project in projects:
        counters = monthly.get(project.pk, {})
        size, files = stored[project.pk]
        quotas = [QuotaUsage(k, label, counters.get(k, 0), plan.limit(k), True) for k, label in MONTHLY_QUOTAS]
        quotas += [
            QuotaUsage("stored_bytes", STORAGE_QUOTAS[0][1], size, plan.stored_bytes, False),
            QuotaUsage("file_count", STORAGE_QUOTAS[1][1], files, plan.file_count, False),
        ]
        rows.append(ProjectUsage(project, quotas))
    return UsageReport(plan, start, end, totals, rows, _charts(ids, start, end, day, totals))


def _charts(ids, start: date, end: date, day: date, totals: list[QuotaUsage]) -> list[Chart]:
    days = days_of(start, end)
    sums = {name: Sum(name) for name, *_ in CHARTS}
    rows = (
        UsageDay.objects.filter(project_id__in=ids, day__gte=start, day__lt=end)
        .values("day")
        .annotate(sampled=Count("sampled_at"), **sums)
    )
    by_day = {row["day"]: row for row in rows}
    now = {q.key: q.used for q in totals}
    charts = []
    for key, title, is_bytes, gauge in CHARTS:
        if gauge:
            values = {d: by_day[d][key] or 0 for d in days if d in by_day and by_day[d]["sampled"]}
            values[day] = now[key]  # today's bar is the live figure the bars above show
        else:
            values = {d: (by_day[d][key] or 0) if d in by_day else 0 for d in days if d <= day}
        charts.append(daily_chart(key=key, title=title, days=days, values=values, is_bytes=is_bytes, gauge=gauge))
    return charts
