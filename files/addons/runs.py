"""Add-ons: work done on one file in the background, asked for over REST
(`addons/{name}/execute/`) or by a project setting for every upload (the outbox consumer
`runs_for_events`). Results land in the file's `appdata` in Uploadcare's shape.

An AddonRun row is the job (core.jobs): a worker claims it with a lease, and a tool that is away
(clamd stopped, still loading) puts it back with a growing delay, so a scan waits and is never
lost; `addon_sweep` re-sends the ones whose message or worker went missing.
"""

import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pyvips
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.jobs import JobRows, retry_delay, send_batches, send_on_commit
from files.addons import clamav, moderation
from files.info import iso
from files.models import AddonRun, Event, File
from files.services import emit, file_delete
from files.storage.backends import open_stream
from projects.models import Project

log = logging.getLogger(__name__)
RUN_TASK = "files.tasks.run_addon"
CLAMAV = "uc_clamav_virus_scan"
MODERATION = "aws_rekognition_detect_moderation_labels"
REKOGNITION_VERSION = "2016-06-27"  # the API version Rekognition's answers name
# Uploadcare's other add-ons, which need a service this server does not have.
UNAVAILABLE = {
    "aws_rekognition_detect_labels": "Object labels need AWS Rekognition, which this server does not use.",
    "remove_bg": "Background removal needs remove.bg, which this server does not use.",
}
LEASE = timedelta(minutes=5)  # longer than a scan may take (clamd's own timeout is 60 s per read)
RETRY_BASE, RETRY_CAP = 5.0, 600.0  # seconds
SWEEP_GRACE = timedelta(seconds=30)
Status = AddonRun.Status
JOBS = JobRows(RUN_TASK, AddonRun, Status.WAITING, Status.IN_PROGRESS, lease=LEASE, grace=SWEEP_GRACE)


class AddonError(Exception):
    """A request the add-on cannot take; the message says why (REST answers it as a 400)."""


def addon_names() -> set[str]:
    return {CLAMAV, MODERATION, *UNAVAILABLE}


def clamav_missing() -> str:
    """Why ClamAV cannot scan on this server, naming what to do; "" when it can, or is only down
    for a moment (scans then wait for it). Debian's clamav-daemon makes the socket's folder when
    its service starts."""
    address = settings.FILEDOCK_CLAMD_ADDRESS
    if not address.startswith("/") or Path(address).parent.is_dir():
        return ""
    if shutil.which("clamd") or any(Path(folder, "clamd").exists() for folder in ("/usr/sbin", "/usr/bin")):
        return (
            f"ClamAV is installed but its daemon is not running: start it (service clamav-daemon start), "
            f"or point FILEDOCK_CLAMD_ADDRESS at a running clamd (now {address})."
        )
    return (
        "Malware scanning needs ClamAV: install Debian's clamav-daemon and clamav-freshclam "
        f"(apt-get install clamav-daemon clamav-freshclam), or point FILEDOCK_CLAMD_ADDRESS at a running clamd "
        f"(now {address})."
    )


def addon_execute(*, project, file: File, addon: str, params: dict | None) -> AddonRun:
    """Queues `addon` on `file`; raises AddonError for an add-on or parameters it cannot take."""
    if addon in UNAVAILABLE:
        raise AddonError(UNAVAILABLE[addon])
    params = params or {}
    if not isinstance(params, dict):
        raise AddonError("params must be an object.")
    if addon == CLAMAV:
        if set(params) - {"purge_infected"}:
            raise AddonError('uc_clamav_virus_scan takes params {"purge_infected": true|false} only.')
        if not isinstance(params.get("purge_infected", False), bool):
            raise AddonError("purge_infected must be true or false.")
        if missing := clamav_missing():
            raise AddonError(missing)
    elif addon == MODERATION:
        if params:
            raise AddonError(f"{MODERATION} takes no params.")
        if not file.is_image:
            raise AddonError(f"{MODERATION} looks at images; this file is {file.mime_type}.")
        try:
            moderation.model_version()
        except moderation.ModelUnavailable as exc:
            raise AddonError(str(exc)) from None
    else:
        raise AddonError(f"Unknown add-on {addon!r}.")
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
    """Outbox consumer: for each upload, a malware scan where the project's protection is on and
    a moderation check of images where its moderation is."""
    uploaded = [event for event in events if event.type == Event.Type.FILE_UPLOADED and event.file_uuid]
    if not uploaded:
        return
    settings_of = {
        row[0]: row[1:]
        for row in Project.objects.filter(pk__in={event.project_id for event in uploaded})
        .exclude(malware_protection="off", moderation="off")
        .values_list("pk", "malware_protection", "moderation")
    }
    wanted = [event for event in uploaded if event.project_id in settings_of]
    images = set(
        File.objects.filter(pk__in=[event.file_uuid for event in wanted], image_info__isnull=False).values_list(
            "pk", flat=True
        )
    )
    runs = []
    for event in wanted:
        protection, moderated = settings_of[event.project_id]
        if protection != "off":
            runs.append(_run(event, CLAMAV, {"purge_infected": protection == "remove"}))
        if moderated != "off" and event.file_uuid in images:
            # The project's action rides with the run; one asked for over REST only reports.
            runs.append(_run(event, MODERATION, {"action": moderated}))
    if runs:
        AddonRun.objects.bulk_create(runs)
        transaction.on_commit(lambda: send_batches(RUN_TASK, [str(run.pk) for run in runs]))


def _run(event: Event, addon: str, params: dict) -> AddonRun:
    return AddonRun(project_id=event.project_id, file_id=event.file_uuid, addon=addon, params=params)


def addon_run(*, run_id) -> str:
    """Runs one due add-on job; returns its status after. A second run of the same message finds
    it claimed or finished and returns."""
    if not JOBS.take(run_id):
        return "not-due"
    run = AddonRun.objects.select_related("file", "project").get(pk=run_id)
    if run.file.is_removed:
        return _finish(run, Status.ERROR, error="The file was deleted before the add-on ran.")
    try:
        (_scan if run.addon == CLAMAV else _moderate)(run)
    except clamav.ScannerUnavailable as exc:
        return _later(run, str(exc))
    except clamav.ScanFailed as exc:
        return _finish(run, Status.ERROR, error=f"ClamAV could not scan the file: {exc}")
    except (moderation.ModelUnavailable, pyvips.Error) as exc:
        return _finish(run, Status.ERROR, error=f"The image could not be checked: {str(exc)[:300]}")
    # _record finished the run in the transaction that wrote its result (or the file was gone).
    return _finish(run, Status.DONE)


def addon_sweep(*, limit: int = 500) -> int:
    """Beat: re-sends due jobs whose message was lost or whose worker died (lease over)."""
    return JOBS.sweep(limit=limit)


def scanner_state(project) -> dict:
    """What the settings page shows about scanning: whether ClamAV is installed and answering, the
    project's scans waiting and why the last of them waits."""
    waiting = AddonRun.objects.filter(project=project, addon=CLAMAV, status__in=[Status.WAITING, Status.IN_PROGRESS])
    reason = waiting.exclude(error="").order_by("-next_attempt_at").values_list("error", flat=True).first()
    missing = clamav_missing()
    return {
        "missing": missing,
        "up": not missing and clamav.available(),
        "waiting": waiting.count(),
        "reason": reason or "",
    }


def _scan(run: AddonRun) -> None:
    with open_stream(run.file) as stream:
        found = clamav.scan(stream)
    version = clamav.version().split("/", 1)[0].removeprefix("ClamAV ").strip()
    data = {"infected": True, "infected_with": found} if found else {"infected": False}
    file = _record(run, data, version, infected=bool(found))
    if file is not None and found and run.params.get("purge_infected"):
        file_delete(file=file)


def _moderate(run: AddonRun) -> None:
    with open_stream(run.file) as stream:
        labels = moderation.detect(stream)
    data = {"ModerationModelVersion": moderation.model_version(), "ModerationLabels": labels}
    file = _record(run, data, REKOGNITION_VERSION)
    action = run.params.get("action")
    if file is not None and action == "remove" and moderation.over_threshold(labels, run.project.moderation_threshold):
        file_delete(file=file)


def _record(run: AddonRun, data: dict, version: str, infected: bool | None = None) -> File | None:
    """Writes the add-on's result into the file's appdata, with its events; None if the file
    went meanwhile."""
    now = iso(timezone.now())
    initiator = {"type": "addon", "detail": {"addon_name": run.addon, "request_id": str(run.pk)}}
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=run.file_id)
        if file.is_removed:
            return None
        previous = {key: dict(value) for key, value in file.appdata.items()}
        before = file.appdata.get(run.addon) or {}
        file.appdata[run.addon] = {
            "data": data,
            "version": version,
            "datetime_created": before.get("datetime_created") or now,
            "datetime_updated": now,
        }
        fields = ["appdata"]
        if infected is not None:
            file.infected = infected
            fields.append("infected")
        file.save(update_fields=fields)
        emit(file, Event.Type.FILE_INFO_UPDATED, initiator, previous_values={"appdata": previous})
        if infected:
            emit(file, Event.Type.FILE_INFECTED, initiator)
        _finish(run, Status.DONE)  # with its result: one commit, not two
    return file


def _finish(run: AddonRun, status: str, *, error: str = "") -> str:
    JOBS.finish(run.pk, status, error=error, finished_at=timezone.now())
    return str(status)


def _later(run: AddonRun, reason: str) -> str:
    """The tool is away: the job waits and is tried again, however long that takes."""
    delay = retry_delay(run.attempts, base=RETRY_BASE, cap=RETRY_CAP, jitter=True)
    log.warning("add-on %s on %s waits %.0f s: %s", run.addon, run.file_id, delay, reason)
    JOBS.later(run.pk, delay, error=reason[:500])
    return str(Status.WAITING)
