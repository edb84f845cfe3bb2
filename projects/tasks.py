from celery import shared_task

from projects import services
from projects.models import Project


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def purge_project(project_id: str) -> bool:
    return services.project_purge(project_id=project_id)


@shared_task(acks_late=True)
def purge_deleted_projects(limit: int = 20) -> int:
    """Sweeps for deleted projects whose purge was never queued or did not finish."""
    ids = list(Project.objects.filter(deleted_at__isnull=False, purged_at__isnull=True).values_list("pk", flat=True)[:limit])
    for project_id in ids:
        services.project_purge(project_id=project_id)
    return len(ids)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=75)
def deliver_webhook(*delivery_ids: int) -> dict[int, str]:
    """Makes the due attempt of each delivery, sent at once (the sends of a batch overlap, so it
    takes about as long as its slowest, at most the webhook timeout). Safe to run twice: each
    attempt is claimed with a conditional UPDATE, so a second run finds nothing due.
    """
    from projects.delivery import webhook_deliveries_attempt

    return webhook_deliveries_attempt(delivery_ids=list(delivery_ids))


@shared_task(acks_late=True)
def dispatch_due_deliveries() -> int:
    """Every few seconds: queues due deliveries (retries, lost messages, claims whose worker died)."""
    from projects.webhooks import webhook_dispatch_due

    return webhook_dispatch_due()
