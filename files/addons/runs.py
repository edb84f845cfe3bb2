"""Add-ons: work done on one file in the background, asked for over REST
(`addons/{name}/execute/`) or by a project setting for every upload (the outbox consumer
`runs_for_events`). Results land in the file's `appdata` in Uploadcare's shape.

An AddonRun row is the job (core.jobs): a worker claims it with a lease, and a tool that is away
(clamd stopped, still loading) puts it back with a growing delay, so a scan waits and is never
lost; `addon_sweep` re-sends the ones whose message or worker went missing.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.jobs import claim, retry_delay, send_batches, send_on_commit
from files.addons import clamav
from files.info import iso
from files.models import AddonRun, Event, File
from files.services import emit, file_delete
from files.storage.backends import open_stream
from projects.models import Project

log = logging.getLogger(__name__)
RUN_TASK = "files.tasks.run_addon"
CLAMAV = "uc_clamav_virus_scan"
# Uploadcare's other add-ons, which need a service this server does not have.
UNAVAILABLE = {
    "aws_rekognition_detect_labels": "Object labels need AWS Rekognition, which this server does not use.",
    "remove_bg": "Background removal needs remove.bg, which this server does not use.",
}
LEASE = timedelta(minutes=5)  # longer than a scan may take (clamd's own timeout is 60 s per read)
RETRY_BASE, RETRY_CAP = 5.0, 600.0
SWEEP_GRACE = timedelta(seconds=30)
Status = AddonRun.Status


class AddonError(Exception):
    """A request the add-on cannot take; the message says why (REST answers it as a 400)."""


def addon_names() -> set[str]:
    return {CLAMAV, *UNAVAILABLE}


def clamav_missing() -> str:
    """Why ClamAV cannot scan on this server, naming what to install; "" when it can, or is only
    down for now (scans then wait for it). Debian's clamav-daemon makes the socket's folder."""
    address = settings.FILEDOCK_CLAMD_ADDRESS
    if address.startswith("/") and not Path(address).parent.is_dir():
        return (
            "Malware scanning needs ClamAV: install Debian's clamav-daemon (apt-get install clamav-daemon) "
            f"or point FILEDOCK_CLAMD_ADDRESS at a running clamd (now {address})."
        )
    return ""


def addon_execute(*, project, file: File, addon: str, params: dict | None) -> AddonRun:
    """Queues `addon` on `file`; raises AddonError for an add-on or parameters it cannot take."""
    if addon in UNAVAILABLE:
        raise AddonError(UNAVAILABLE[addon])
    if addon != CLAMAV:
        raise AddonError(f"Unknown add-on {addon!r}.")
    params = params or {}
    if not isinstance(params, dict) or set(params) - {"purge_infected"}:
        raise AddonError('uc_clamav_virus_scan takes params {"purge_infected": true|false} only.')
    if not isinstance(params.get("purge_infected", False), bool):
        raise AddonError("purge_infected must be true or false.")
    if missing := clamav_missing():
        raise AddonError(missing)
    with transaction.atomic():
        run = AddonRun.objects.create(project=project, file=file, addon=addon, params=params)
        send_on_commit(RUN_TASK, str(run.pk))
    return run


def addon_status(*, project, addon: str, request_id) -> str:
    """Uploadcare's status of a run: in_progress, done, error, or unknown for another's or none."""
    run = AddonRun.objects.filter(pk=request_id, project=project, addon=addon).only("status").first()
    if run is None:
        return "unknown"
    return {Status.WAITING: "in_progress", Status.IN_PROGRESS: "in_progress"}.get(run.status, run.status)


def runs_for_events(events: list[Event]) -> None:
    """Outbox consumer: a scan for each file uploaded to a project with malware protection on."""
    uploaded = [event for event in events if event.type == Event.Type.FILE_UPLOADED and event.file_uuid]
    if not uploaded:
        return
    protection = dict(
        Project.objects.filter(pk__in={event.project_id for event in uploaded})
        .exclude(malware_protection="off")
        .values_list("pk", "malware_protection")
    )
    runs = [
        AddonRun(
            project_id=event.project_id,
            file_id=event.file_uuid,
            addon=CLAMAV,
            params={"purge_infected": protection[event.project_id] == "remove"},
        )
        for event in uploaded
        if event.project_id in protection
    ]
    if runs:
        AddonRun.objects.bulk_create(runs)
        transaction.on_commit(lambda: send_batches(RUN_TASK, [str(run.pk) for run in runs]))


def addon_run(*, run_id) -> str:
    """Runs one due add-on job; returns its status after. A second run of the same message finds
    it claimed or finished and returns."""
    now = timezone.now()
    claimed = claim(
        AddonRun.objects.filter(pk=run_id, status__in=[Status.WAITING, Status.IN_PROGRESS], next_attempt_at__lte=now),
        status=Status.IN_PROGRESS,
        attempts=F("attempts") + 1,
        next_attempt_at=now + LEASE,
    )
    if not claimed:
        return "not-due"
    run = AddonRun.objects.select_related("file").get(pk=run_id)
    if run.file.is_removed:
        return _finish(run, Status.ERROR, error="The file was deleted before the add-on ran.")
    try:
        _scan(run)
    except clamav.ScannerUnavailable as exc:
        return _later(run, str(exc))
    except clamav.ScanFailed as exc:
        return _finish(run, Status.ERROR, error=f"ClamAV could not scan the file: {exc}")
    return _finish(run, Status.DONE)


def addon_sweep(*, limit: int = 500) -> int:
    """Beat: re-sends due jobs whose message was lost or whose worker died (lease over)."""
    now = timezone.now()
    due = list(
        AddonRun.objects.filter(
            Q(status=Status.WAITING, next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(status=Status.WAITING, attempts__gt=0, next_attempt_at__lte=now)
            | Q(status=Status.IN_PROGRESS, next_attempt_at__lte=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    send_batches(RUN_TASK, [str(pk) for pk in due])
    return len(due)


def scans_waiting(project) -> dict:
    """What the project's settings page shows: scans waiting, and why the last one waits."""
    waiting = AddonRun.objects.filter(project=project, addon=CLAMAV, status__in=[Status.WAITING, Status.IN_PROGRESS])
    last = waiting.exclude(error="").order_by("-next_attempt_at").values_list("error", flat=True).first()
    return {"count": waiting.count(), "reason": last or ""}


def _scan(run: AddonRun) -> None:
    file = run.file
    with open_stream(file) as stream:
        found = clamav.scan(stream)
    version = clamav.version()
    now = timezone.now()
    initiator = {"type": "addon", "detail": {"addon_name": CLAMAV, "request_id": str(run.pk)}}
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file.pk)
        if file.is_removed:
            return
        before = file.appdata.get(CLAMAV)
        data = {"infected": True, "infected_with": found} if found else {"infected": False}
        file.appdata[CLAMAV] = {
            "data": data,
            "version": version.split("/", 1)[0].removeprefix("ClamAV ").strip(),
            "datetime_created": (before or {}).get("datetime_created") or iso(now),
            "datetime_updated": iso(now),
        }
        file.infected = bool(found)
        file.save(update_fields=["appdata", "infected"])
        emit(file, Event.Type.FILE_INFO_UPDATED, initiator)
        if found:
            emit(file, Event.Type.FILE_INFECTED, initiator)
    if found and run.params.get("purge_infected"):
        file_delete(file=file)


def _finish(run: AddonRun, status: str, *, error: str = "") -> str:
    AddonRun.objects.filter(pk=run.pk, status=Status.IN_PROGRESS).update(
        status=status, error=error, finished_at=timezone.now()
    )
    return status


def _later(run: AddonRun, reason: str) -> str:
    """The tool is away: the job waits and is tried again, however long that takes."""
    delay = retry_delay(run.attempts, base=RETRY_BASE, cap=RETRY_CAP, jitter=True)
    log.warning("add-on %s on %s waits %.0f s: %s", run.addon, run.file_id, delay, reason)
    changed = AddonRun.objects.filter(pk=run.pk, status=Status.IN_PROGRESS).update(
        status=Status.WAITING, next_attempt_at=timezone.now() + timedelta(seconds=delay), error=reason[:500]
    )
    if changed:
        send_on_commit(RUN_TASK, str(run.pk), countdown=delay)
    return Status.WAITING
