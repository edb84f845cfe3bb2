"""Periodic billing jobs (scheduled in CELERY_BEAT_SCHEDULE). Each is safe to run twice."""

import logging

from celery import shared_task

from billing import metering, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def sample_usage() -> int:
    """Samples stored bytes and file count of every live project into today's usage rows."""
    return metering.usage_sample_all()


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def send_usage_alerts() -> int:
    """Emails accounts that reached a quota (once per quota and period)."""
    return services.usage_alerts_send_all()


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def issue_invoices(limit: int = 500) -> int:
    """Renews subscriptions whose month ended and issues their invoices; re-queues itself while more are due."""
    renewed = services.subscriptions_renew_due(limit=limit)
    if renewed == limit:
        try:
            issue_invoices.apply_async(kwargs={"limit": limit}, retry=False)
        except Exception:  # the broker being away: the next scheduled run carries on
            logger.warning("could not re-queue issue_invoices; the next scheduled run continues")
    return renewed
