"""Webhook deliveries' tasks: one batch of attempts, and the sweep that queues what is due."""

from core.jobs import job
from projects.webhooks.delivery import webhook_deliveries_attempt
from projects.webhooks.outbox import DELIVER_TASK, webhook_dispatch_due


@job(DELIVER_TASK, soft_time_limit=60, time_limit=75)
def deliver_webhook(*delivery_ids: int) -> dict[int, str]:
    """Makes the due attempt of each delivery, sent at once (the sends of a batch overlap, so it
    takes about as long as its slowest, at most the webhook timeout). Safe to run twice: each
    attempt is claimed with a conditional UPDATE, so a second run finds nothing due.
    """
    return webhook_deliveries_attempt(delivery_ids=list(delivery_ids))


@job("projects.tasks.dispatch_due_deliveries")
def dispatch_due_deliveries() -> int:
    """Every few seconds: queues due deliveries (retries, lost messages, claims whose worker died)."""
    return webhook_dispatch_due()
