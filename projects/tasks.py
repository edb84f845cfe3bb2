from celery import shared_task

from projects import services
from projects.models import Project


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def purge_project(project_id: str) -> bool:
    return services.project_purge(project_id=project_id)


@shared_task(acks_late=True)
def purge_deleted_projects(limit: int = 20) -> int:
    """Sweeps for deleted projects whose purge was never queued or did not finish."""
    ids = list(Project.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)[:limit])
    for project_id in ids:
        services.project_purge(project_id=project_id)
    return len(ids)
