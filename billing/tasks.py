"""Periodic billing jobs (scheduled in CELERY_BEAT_SCHEDULE). Each is safe to run twice."""

from billing import metering, services
from core.jobs import job, send

ISSUE_INVOICES_TASK = "billing.tasks.issue_invoices"


@job("billing.tasks.sample_usage", time_limit=1800, soft_time_limit=1700)
def sample_usage() -> int:
    """Samples stored bytes and file count of every live project into today's usage rows."""
    return metering.usage_sample_all()


@job("billing.tasks.flush_usage")
def flush_usage() -> int:
    """Every few seconds: writes the CDN traffic counted in Redis into the usage rows."""
    return metering.usage_flush()


@job("billing.tasks.send_usage_alerts", time_limit=1800, soft_time_limit=1700)
def send_usage_alerts() -> int:
    """Emails accounts that reached a quota (once per quota and period)."""
    return services.usage_alerts_send_all()


@job(ISSUE_INVOICES_TASK, time_limit=1800, soft_time_limit=1700)
def issue_invoices(limit: int = 500) -> int:
    """Renews subscriptions whose month ended and issues their invoices; re-queues itself while more are due."""
    renewed = services.subscriptions_renew_due(limit=limit)
    if renewed == limit:
        send(ISSUE_INVOICES_TASK, limit)  # the broker being away: the next scheduled run carries on
    return renewed
