from core.jobs import job
from projects import apilogs, services
from projects.models import Project


@job(services.PURGE_TASK, time_limit=3600, soft_time_limit=3500)
def purge_project(project_id: str) -> bool:
    return services.project_purge(project_id=project_id)


@job("projects.tasks.purge_deleted_projects")
def purge_deleted_projects(limit: int = 20) -> int:
    """Sweeps for deleted projects whose purge was never queued or did not finish."""
    ids = list(
        Project.objects.filter(deleted_at__isnull=False, purged_at__isnull=True).values_list("pk", flat=True)[:limit]
    )
    for project_id in ids:
        services.project_purge(project_id=project_id)
    return len(ids)


@job("projects.tasks.drain_api_logs")
def drain_api_logs() -> int:
    """Every few seconds: writes the API log lines waiting in Redis, then deletes a bounded number
    of lines past their retention."""
    written = apilogs.api_log_drain()
    apilogs.api_log_purge()
    return written
