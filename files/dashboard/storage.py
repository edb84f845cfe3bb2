"""Storage & backups settings: a project's backup bucket and custom storage bucket."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.prg import form_restore, redirect_with_form
from files.dashboard.forms import BucketForm
from files.models import BucketConnection
from files.storage import backups
from files.storage import buckets as storage_targets
from projects.access import project_view
from projects.models import Project, Role

Purpose = BucketConnection.Purpose
TEST_RESULT_SESSION_KEY = "bucket_test_result"


@project_view(role=Role.ADMIN, methods=("GET",))
def storage_settings(request: HttpRequest, project: Project) -> HttpResponse:
    return _render(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def bucket_test(request: HttpRequest, project: Project) -> HttpResponse:
    form = BucketForm(request.POST)
    if form.is_valid():
        result = storage_targets.bucket_probe(project=project, **form.connection_fields())
        # Shown once, under the form it belongs to, which comes back as it was sent (secret included).
        request.session[TEST_RESULT_SESSION_KEY] = {"ok": result.ok, "message": result.message}
    return redirect_with_form(request, form, "files:storage:index", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def bucket_connect(request: HttpRequest, project: Project) -> HttpResponse:
    form = BucketForm(request.POST)
    if form.is_valid():
        try:
            target = storage_targets.bucket_connect(project=project, **form.connection_fields())
        except storage_targets.BucketError as exc:
            form.add_error(None, f"Not connected: {exc}")
    if form.errors:
        return redirect_with_form(request, form, "files:storage:index", project_id=project.pk)
    if target.purpose == Purpose.BACKUP:
        messages.success(request, f"Backup bucket “{target.bucket}” connected. Existing stored files are being copied.")
    else:
        messages.success(request, f"Custom storage “{target.bucket}” connected. New uploads go there.")
    return redirect("files:storage:index", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def bucket_retest(request: HttpRequest, project: Project, connection_id) -> HttpResponse:
    result = storage_targets.bucket_retest(target=_connection(project, connection_id))
    (messages.success if result.ok else messages.error)(request, f"Connection test: {result.message}")
    return redirect("files:storage:index", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def bucket_disconnect(request: HttpRequest, project: Project, connection_id) -> HttpResponse:
    target = storage_targets.bucket_disconnect(target=_connection(project, connection_id))
    messages.success(request, f"Disconnected “{target.bucket}”. Nothing in the bucket was deleted.")
    return redirect("files:storage:index", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def backup_retry(request: HttpRequest, project: Project, connection_id) -> HttpResponse:
    count = backups.backup_retry_failed(target=_connection(project, connection_id))
    messages.success(request, f"Retrying {count} failed backup{'s' if count != 1 else ''}.")
    return redirect("files:storage:index", project_id=project.pk)


def _connection(project: Project, connection_id) -> BucketConnection:
    target = BucketConnection.objects.filter(project=project, pk=connection_id).first()
    if target is None:
        raise Http404("No such bucket connection.")
    return target


def _render(request: HttpRequest, project: Project) -> HttpResponse:
    form = form_restore(request, BucketForm)
    kept_result = request.session.pop(TEST_RESULT_SESSION_KEY, None) if form is not None else None
    result = storage_targets.TestResult(**kept_result) if kept_result else None
    backup = storage_targets.active_bucket(project=project, purpose=Purpose.BACKUP)
    custom = storage_targets.active_bucket(project=project, purpose=Purpose.STORAGE)
    sent = form.data.get("purpose") if form is not None else None
    context = {
        "project": project,
        "backup": backup,
        "custom": custom,
        "progress": backups.backup_progress(target=backup) if backup else None,
        "backup_form": form if sent == Purpose.BACKUP else BucketForm(initial={"purpose": Purpose.BACKUP}),
        "storage_form": form if sent == Purpose.STORAGE else BucketForm(initial={"purpose": Purpose.STORAGE}),
        "backup_result": result if sent == Purpose.BACKUP else None,
        "storage_result": result if sent == Purpose.STORAGE else None,
        "custom_files": project.files.present().filter(storage_target=custom).count() if custom else 0,
        "history": project.bucket_connections.filter(disconnected_at__isnull=False).order_by("-disconnected_at")[:10],
    }
    return render(request, "files/storage.html", context)
