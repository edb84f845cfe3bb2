"""What an account's plan allows, what it has used, and the checks the upload and REST paths call.

Quotas are per account (the owner of the projects), summed over the owner's live projects.
Monthly counters come from `UsageDay`; stored bytes and file count from the latest hourly sample
plus the files uploaded since, re-counted exactly only when that estimate reaches a limit.
Checks are not reservations: two uploads racing for the last bytes of a quota may both pass.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from accounts.models import User
from billing.metering import api_call_add_within
from billing.models import (
    BYTE_QUOTAS,
    DEFAULT_ALERT_THRESHOLDS,
    MONTHLY_QUOTAS,
    QUOTA_LABELS,
    STORAGE_QUOTAS,
    Plan,
    UsageAlert,
    UsageAlertSettings,
    UsageDay,
)
from billing.periods import month_bounds, today
from files.models import File, MultipartUpload
from projects.models import Project

WARN_PERCENT = 80
CONSEQUENCES = {
    "uploads": "New uploads are refused until next month.",
    "stored_bytes": "New uploads are refused until files are deleted.",
    "file_count": "New uploads are refused until files are deleted.",
    "api_calls": "REST API calls are refused until next month.",
}
LIMITS_MESSAGE = "Account has reached its limits."


class QuotaExceeded(Exception):
    """The owner's plan refuses an upload or a REST API call.

    `quota` is the plan's field that refused it (max_file_size, uploads, stored_bytes, file_count,
    api_calls) and `limit` its value; `message` is the same for every quota, `reason` says which
    in words for people, and `str()` is both. Each wire protocol answers it in its own shape.
    """

    message = LIMITS_MESSAGE

    def __init__(self, quota: str, limit: int, reason: str):
        super().__init__(f"{LIMITS_MESSAGE} {reason}")
        self.quota = quota
        self.limit = limit
        self.reason = reason


# Who pays, and on which plan


def account_for(project):
    """The account that owns the project's billing: its owner (None only for an ownerless project)."""
    return (
        User.objects.filter(memberships__project_id=project.pk, memberships__role="owner")
        .select_related("subscription__plan", "usage_settings")  # the plan and the cap: one query per check
        .first()
    )


def usage_settings_for(account) -> UsageAlertSettings:
    """The account's alert thresholds and upload cap; unsaved defaults if it never set them."""
    try:
        return account.usage_settings
    except ObjectDoesNotExist:
        return UsageAlertSettings(account=account)


def default_plan() -> Plan:
    """The plan accounts start on. With no plans configured at all, nothing is limited."""
    plan = Plan.objects.filter(is_default=True).first() or Plan.objects.public().first()
    return plan or Plan(name="Unlimited", slug="unlimited")


def plan_for(account) -> Plan:
    try:
        return account.subscription.plan
    except ObjectDoesNotExist:  # no subscription yet: the account never changed plan
        return default_plan()


def owned_project_ids(account, *, include_deleted: bool = False) -> list[uuid.UUID]:
    """The account's projects; with include_deleted, also deleted ones, whose month's counters
    still count (deleting a project must not reset the month's uploads or API calls)."""
    projects = Project.objects.all() if include_deleted else Project.objects.live()
    return list(projects.filter(memberships__user=account, memberships__role="owner").values_list("pk", flat=True))


def usage_alerts_current(account, *, day: date | None = None) -> list[dict]:
    """The thresholds the account's usage reached this period, as alerted: for each quota, the
    highest ({"quota", "label", "threshold"}), highest first. One query."""
    highest = {}
    for quota, threshold in UsageAlert.objects.filter(
        account=account, period_start=month_bounds(day or today())[0]
    ).values_list("quota", "threshold"):
        highest[quota] = max(threshold, highest.get(quota, 0))
    alerts = [{"quota": q, "label": QUOTA_LABELS.get(q, q), "threshold": t} for q, t in highest.items()]
    return sorted(alerts, key=lambda alert: -alert["threshold"])


# What has been used


@dataclass
class QuotaUsage:
    key: str
    label: str
    used: int
    limit: int | None
    monthly: bool
    # The account's alert thresholds for this quota (percent of the limit), lowest first.
    thresholds: tuple[int, ...] = DEFAULT_ALERT_THRESHOLDS

    @property
    def is_bytes(self) -> bool:
        return self.key in BYTE_QUOTAS

    @property
    def percent(self) -> int:
        if self.limit is None:
            return 0
        if self.limit == 0:
            return 100
        return int(self.used * 100 // self.limit)

    @property
    def bar_percent(self) -> int:
        return min(self.percent, 100)

    @property
    def level(self) -> str:
        if self.limit is None:
            return "ok"
        if self.used >= self.limit:
            return "over"
        return "warn" if self.reached else "ok"

    @property
    def reached(self) -> list[int]:
        """The thresholds this usage has reached (none while nothing is used)."""
        if self.limit is None or not self.used:
            return []
        return [t for t in self.thresholds if self.used * 100 >= self.limit * t]

    def format(self, value: int | None) -> str:
        if value is None:
            return "unlimited"
        return filesizeformat(value) if self.is_bytes else intcomma(value)

    @property
    def consequence(self) -> str:
        """What reaching this quota stops (metered but unenforced quotas stop nothing)."""
        return CONSEQUENCES.get(self.key, "")

    @property
    def used_display(self) -> str:
        return self.format(self.used)

    @property
    def limit_display(self) -> str:
        return self.format(self.limit)


def monthly_by_project(project_ids, start: date, end: date) -> dict:
    """{project_id: {counter: total}} for the days in `[start, end)`."""
    sums = {name: Sum(name) for name, _ in MONTHLY_QUOTAS}
    rows = (
        UsageDay.objects.filter(project_id__in=project_ids, day__gte=start, day__lt=end)
        .values("project_id")
        .annotate(**sums)
    )
    return {row.pop("project_id"): {k: v or 0 for k, v in row.items()} for row in rows}


def monthly_total(project_ids, counter: str, start: date, end: date) -> int:
    rows = UsageDay.objects.filter(project_id__in=project_ids, day__gte=start, day__lt=end)
    return rows.aggregate(total=Sum(counter))["total"] or 0


def stored_by_project(project_ids, *, exact: bool = False, day: date | None = None) -> dict:
    """{project_id: (bytes, files)} of present files.

    Cheap by default: the latest sample (today's or yesterday's) plus files uploaded since it was
    taken. Deletions since the sample are not subtracted, so it can only over-estimate;
    `exact=True` counts every file instead.
    """
    project_ids = list(project_ids)
    result = dict.fromkeys(project_ids, (0, 0))
    if not project_ids:
        return result
    since = Q(project_id__in=project_ids)
    if not exact:
        day = day or today()
        samples = {}
        recent = UsageDay.objects.filter(
            project_id__in=project_ids, sampled_at__isnull=False, day__gte=day - timedelta(days=1), day__lte=day
        ).order_by("day")
        for row in recent:
            samples[row.project_id] = row  # ordered by day: the latest wins
        since = Q()
        for pid in project_ids:
            sample = samples.get(pid)
            if sample is None:
                since |= Q(project_id=pid)
            else:
                result[pid] = (sample.stored_bytes, sample.file_count)
                since |= Q(project_id=pid, datetime_uploaded__gte=sample.sampled_at)
    rows = File.objects.present().filter(since).values("project_id").annotate(size=Sum("size"), count=Count("uuid"))
    for row in rows:
        size, count = result[row["project_id"]]
        result[row["project_id"]] = (size + (row["size"] or 0), count + row["count"])
    return result


def _stored_totals(project_ids, *, exact: bool, day: date | None = None) -> tuple[int, int]:
    values = stored_by_project(project_ids, exact=exact, day=day).values()
    return sum(v[0] for v in values), sum(v[1] for v in values)


def account_usage(account, *, plan: Plan | None = None, day: date | None = None, project_ids=None) -> list[QuotaUsage]:
    """Every quota of the account's plan with what is used this month (counters) or now (storage)."""
    plan = plan or plan_for(account)
    alerts = usage_settings_for(account)
    day = day or today()
    start, end = month_bounds(day)
    ids = owned_project_ids(account) if project_ids is None else project_ids
    counted = owned_project_ids(account, include_deleted=True) if project_ids is None else project_ids
    per_project = monthly_by_project(counted, start, end)
    usage = [
        QuotaUsage(
            name,
            label,
            sum(p[name] for p in per_project.values()),
            plan.limit(name),
            monthly=True,
            thresholds=alerts.thresholds_for(name),
        )
        for name, label in MONTHLY_QUOTAS
    ]
    stored, files = _stored_totals(ids, exact=False, day=day)
    if _near(stored, plan.stored_bytes, alerts.thresholds_for("stored_bytes")) or _near(
        files, plan.file_count, alerts.thresholds_for("file_count")
    ):
        stored, files = _stored_totals(ids, exact=True)  # never warn on an over-estimate
    usage += [
        QuotaUsage(
            "stored_bytes",
            STORAGE_QUOTAS[0][1],
            stored,
            plan.stored_bytes,
            monthly=False,
            thresholds=alerts.thresholds_for("stored_bytes"),
        ),
        QuotaUsage(
            "file_count",
            STORAGE_QUOTAS[1][1],
            files,
            plan.file_count,
            monthly=False,
            thresholds=alerts.thresholds_for("file_count"),
        ),
    ]
    return usage


def _near(used: int, limit: int | None, thresholds) -> bool:
    lowest = min([WARN_PERCENT, *thresholds])
    return limit is not None and used * 100 >= limit * lowest


# The checks


def _enforced(project) -> tuple:
    """(owner, plan) when quotas apply to the project, else (None, None)."""
    if not settings.FILEDOCK_QUOTAS_ENFORCED:
        return None, None
    account = account_for(project)
    return (account, plan_for(account)) if account is not None else (None, None)


def plan_max_file_size(project) -> int | None:
    """The largest file the owner's plan takes, or None when it sets no limit (or quotas are off)."""
    _, plan = _enforced(project)
    return plan.max_file_size if plan is not None else None


def check_upload(*, project, size: int, reservation=None) -> None:
    """Refuses an upload of `size` bytes that the owner's plan does not allow.

    Raises QuotaExceeded when the file is over the plan's maximum size, or when it would take the
    account past its stored bytes (open multipart uploads count by their declared size, all but
    `reservation`, the one being completed), file count or monthly uploads; past the owner's
    upload cap (a percent of those limits) when one is set. Reads only; count the upload with
    `billing.metering.uploads_add` once done.
    """
    account, plan = _enforced(project)
    if plan is None:
        return
    if plan.max_file_size is not None and size > plan.max_file_size:
        raise QuotaExceeded(
            "max_file_size",
            plan.max_file_size,
            f"Files larger than {filesizeformat(plan.max_file_size)} are not allowed on the {plan} plan.",
        )
    cap = usage_settings_for(account).upload_cap_percent
    uploads, stored_limit, count_limit = (
        _capped(plan.limit(q), cap) for q in ("uploads", "stored_bytes", "file_count")
    )
    if uploads is None and stored_limit is None and count_limit is None:
        return
    ids = owned_project_ids(account)
    if uploads is not None:
        start, end = month_bounds(today())
        counted = owned_project_ids(account, include_deleted=True)
        if monthly_total(counted, "uploads", start, end) + 1 > uploads:
            raise QuotaExceeded(
                "uploads", uploads, _refusal(plan, cap, f"{intcomma(plan.uploads)} uploads this month are used up")
            )
    if stored_limit is None and count_limit is None:
        return
    stored, files = _stored_totals(ids, exact=False)
    reserved = reserved_bytes(ids, excluding=reservation) if stored_limit is not None else 0
    if _would_exceed(stored_limit, count_limit, stored + reserved, files, size):
        stored, files = _stored_totals(ids, exact=True)  # the estimate never subtracts deletions
    if stored_limit is not None and stored + reserved + size > stored_limit:
        held = f" ({filesizeformat(reserved)} of it held by unfinished multipart uploads)" if reserved else ""
        raise QuotaExceeded(
            "stored_bytes",
            stored_limit,
            _refusal(plan, cap, f"{filesizeformat(plan.stored_bytes)} of storage would be exceeded{held}"),
        )
    if count_limit is not None and files + 1 > count_limit:
        raise QuotaExceeded(
            "file_count", count_limit, _refusal(plan, cap, f"limit of {intcomma(plan.file_count)} files is reached")
        )


def _capped(limit: int | None, cap: int | None) -> int | None:
    """The plan's limit, or the owner's cap on it (a percent, rounded down)."""
    if limit is None or cap is None:
        return limit
    return limit * cap // 100


def _refusal(plan: Plan, cap: int | None, what: str) -> str:
    if cap is None or cap >= 100:
        return f"The {plan} plan's {what}."
    return f"The upload cap the account set, {cap} % of the {plan} plan's limits, is reached ({what} at 100 %)."


def reserved_bytes(project_ids, *, excluding=None) -> int:
    """The declared sizes of the multipart uploads still open (started within their parts' lifetime
    and not completed): space they may take, counted until they finish or expire."""
    since = timezone.now() - timedelta(seconds=settings.FILEDOCK_MULTIPART_LIFETIME)
    open_uploads = MultipartUpload.objects.filter(
        project_id__in=project_ids, completed_at__isnull=True, created_at__gte=since
    ).exclude(pk=excluding)
    return open_uploads.aggregate(total=Sum("size"))["total"] or 0


def _would_exceed(stored_limit: int | None, count_limit: int | None, stored: int, files: int, size: int) -> bool:
    return (stored_limit is not None and stored + size > stored_limit) or (
        count_limit is not None and files + 1 > count_limit
    )


@dataclass(frozen=True)
class ApiCallQuota:
    """The monthly API calls the owner's plan allows."""

    owner_id: int
    plan: Plan


def api_call_quota(*, project) -> ApiCallQuota | None:
    """The owner's plan's monthly API calls; None when quotas are off or the plan sets no limit,
    and then the call's count may wait (billing.metering's pending counts). Reads only."""
    account, plan = _enforced(project)
    if plan is None or plan.api_calls is None:
        return None
    return ApiCallQuota(account.pk, plan)


def api_call_count(*, project_id, quota: ApiCallQuota) -> None:
    """Counts a REST API call within the owner's monthly quota (the check and the count are one
    statement); raises QuotaExceeded, counting nothing, once the month's calls are used up."""
    limit = quota.plan.api_calls
    if not api_call_add_within(
        project_id=project_id, owner_id=quota.owner_id, limit=limit, month=month_bounds(today())
    ):
        raise QuotaExceeded(
            "api_calls", limit, f"The {quota.plan} plan's {intcomma(limit)} API calls this month are used up."
        )
