"""Add-ons' background work: one job per run, and the sweep that re-sends lost ones."""

from core.jobs import job
from files.addons.runs import RUN_TASK, addon_run, addon_sweep


@job(RUN_TASK, time_limit=600, soft_time_limit=570)
def run_addon(run_id: str) -> str:
    """Runs one add-on job (a malware scan) if it is due; a duplicate message is a no-op."""
    return addon_run(run_id=run_id)


@job("files.tasks.sweep_addons")
def sweep_addons() -> int:
    """Every 30 s: re-sends add-on jobs whose message was lost or whose worker died."""
    return addon_sweep()
