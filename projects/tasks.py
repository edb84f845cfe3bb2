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
def deliver_webhook(delivery_id: int) -> str:
    """Makes a delivery's due attempt. Safe to run twice: the attempt is claimed with a conditional UPDATE."""
    from projects.delivery import webhook_delivery_attempt

    return webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def dispatch_due_deliveries() -> int:
    """Every few seconds: queues due deliveries (retries, lost messages, claims whose worker died)."""
    from projects.webhooks import webhook_dispatch_due

    return webhook_dispatch_due()
