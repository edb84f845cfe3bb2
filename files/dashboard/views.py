"""The files browser: list with search and keyset pages, upload, detail, store/delete, metadata."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timeuntil

from billing.quotas import QuotaExceeded
from core import urltokens
from core.exports import csv_response, keyset_walk
from core.pagination import take
from core.prg import form_restore, redirect_with_form
from files import services
from files.dashboard import tus
from files.dashboard.conversions import conversion_panel
from files.dashboard.forms import (
    NEWEST_FIRST,
    BulkForm,
    CursorField,
    FileFilterForm,
    MetadataForm,
    MetadataKeyForm,
    UploadForm,
)
from files.dashboard.playground import PlaygroundForm, transformation_url
from files.dashboard.rows import render_rows
from files.errors import UploadError
from files.info import cdn_url, rest_file_info
from files.initiators import api_initiator
from files.models import File
from files.storage.backups import file_backup_states
from projects.access import project_view
from projects.models import Project, Role

PAGE_SIZE = 50
THUMBNAIL = "-/preview/160x160/"
PREVIEW_TOKEN_SECONDS = 3600
PREVIEW = "-/preview/640x640/"
CARD = "-/preview/320x320/"  # the grid's tiles: 160 px wide, sharp on a 2x screen
VIEWS = ("table", "grid")
VIEW_COOKIE = "files_view"
VIEW_COOKIE_AGE = 365 * 24 * 3600


class FileUrls:
    """A file's URLs as the list shows them, worked out once per page with a marker UUID and
    filled in per row: URL reversing is slow, so a page does it once rather than once per row."""

    MARKER = str(uuid.UUID(int=0))

    def __init__(self, project: Project, request: HttpRequest):
        args = [project.pk, self.MARKER]
        self.detail = reverse("files:detail", args=args)
        self.store = reverse("files:store", args=args)
        self.delete = reverse("files:delete", args=args)
        self.cdn = cdn_url(File(uuid=self.MARKER), request)
        # With signed URLs on, the page's own images carry a token: members see previews without
        # holding a secret. One expiry per hour, so a browser's cached thumbnails stay valid.
        secrets = project.signing_secrets() if project.signed_delivery else []
        self.secret, self.expires = (secrets[0], urltokens.expiry(PREVIEW_TOKEN_SECONDS)) if secrets else (None, 0)

    def of(self, pk: str) -> dict[str, str]:
        return {name: getattr(self, name).replace(self.MARKER, pk) for name in ("detail", "store", "delete")}

    def signed(self, pk: str) -> str:
        """The query that lets the page load the file's previews: empty unless URLs are signed."""
        if self.secret is None:
            return ""
        return "?token=" + urltokens.sign(self.secret, acl=f"/{pk}/*", expires=self.expires)


@dataclass
class Row:
    """A file as the browser shows it."""

    file: File
    cdn_url: str
    expires_at: datetime | None
    urls: dict[str, str] = field(default_factory=dict)
    thumbnail_url: str | None = None
    preview_url: str | None = None
    card_url: str | None = None

    @classmethod
    def of(cls, file: File, request: HttpRequest, urls: FileUrls) -> "Row":
        temporary = not file.is_stored and not file.is_removed
        lifetime = timedelta(seconds=settings.FILEDOCK_TEMPORARY_FILE_LIFETIME)
        pk = str(file.uuid)
        url = urls.cdn.replace(urls.MARKER, pk)
        shown = file.is_image and not file.is_removed
        token = urls.signed(pk) if shown else ""
        return cls(
            file,
            url,
            file.datetime_uploaded + lifetime if temporary else None,
            urls.of(pk),
            url + THUMBNAIL + token if shown else None,
            url + PREVIEW + token if shown else None,
            url + CARD + token if shown else None,
        )

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def time_left(self) -> str:
        return timeuntil(self.expires_at, depth=1) if self.expires_at else ""

    @property
    def badge(self) -> str:
        """A short label for files without a thumbnail: the extension, else the MIME subtype."""
        extension = PurePosixPath(self.file.original_filename).suffix.lstrip(".")
        return (extension or self.file.mime_type.rpartition("/")[2] or "file")[:4].upper()


@dataclass
class Page:
    rows: list[Row]
    previous: str | None
    next: str | None
    rows_html: str = ""


def _page(request: HttpRequest, project: Project, files: QuerySet, form: FileFilterForm) -> Page:
    """A page newest first, after the `after` cursor's row or before the `before` one's, with the
    cursors of the pages around it when there are any: no OFFSET, no COUNT."""
    after, before = form.cleaned_data.get("after"), form.cleaned_data.get("before")
    if before:  # the rows just newer than `before`, read oldest first
        newer = take(NEWEST_FIRST.reversed.seek(files, before), PAGE_SIZE)
        rows, has_previous, has_next = newer.rows[::-1], newer.more, True
    else:
        older = take(NEWEST_FIRST.seek(files, after), PAGE_SIZE)
        rows, has_previous, has_next = older.rows, after is not None, older.more
    urls = FileUrls(project, request)
    return Page(
        rows=[Row.of(file, request, urls) for file in rows],
        previous=CursorField.encode(rows[0]) if rows and has_previous else None,
        next=CursorField.encode(rows[-1]) if rows and has_next else None,
    )


def _render_list(request: HttpRequest, project: Project) -> HttpResponse:
    form = FileFilterForm(request.GET)
    chosen = request.GET.get("view")
    view = chosen if chosen in VIEWS else request.COOKIES.get(VIEW_COOKIE)
    view = view if view in VIEWS else VIEWS[0]
    page = _page(request, project, form.filter(project.files.all()), form)
    can_change = project.membership.has_role(Role.MEMBER)
    if view == "table":
        # Where each row's store/delete returns: this page, with its filters and cursor.
        back_url = reverse("files:list", args=[project.pk]) + (f"?{request.GET.urlencode()}" if request.GET else "")
        page.rows_html = render_rows(request, page.rows, can_change=can_change, back_url=back_url)
    context = {
        "view": view,
        "project": project,
        "filter_form": form,
        "page": page,
        "upload_form": UploadForm(project=project),
        "upload_limit": services.upload_limit(project),
        "tus": {"threshold": tus.TUS_THRESHOLD, "chunk_size": tus.CHUNK_SIZE},
        "can_change": can_change,
    }
    response = render(request, "files/list.html", context)
    if chosen in VIEWS and chosen != request.COOKIES.get(VIEW_COOKIE):
        # The choice is remembered in this browser: the next visit, links without ?view= included, opens it.
        response.set_cookie(
            VIEW_COOKIE, chosen, max_age=VIEW_COOKIE_AGE, secure=request.is_secure(), httponly=True, samesite="Lax"
        )
    return response


@project_view(role=Role.VIEWER, methods=("GET",))
def file_list(request: HttpRequest, project: Project) -> HttpResponse:
    return _render_list(request, project)


FILE_EXPORT_HEADER = ["name", "uuid", "size", "type", "state", "cdn_url"]


@project_view(role=Role.VIEWER, methods=("GET",))
def file_list_export(request: HttpRequest, project: Project) -> StreamingHttpResponse:
    """Every file the list's filters select (not only one page), newest first, as CSV."""
    files = FileFilterForm(request.GET).filter(project.files.all())
    cdn = FileUrls(project, request).cdn
    rows = (
        [
            file.original_filename,
            str(file.uuid),
            file.size,
            file.mime_type,
            _state(file),
            cdn.replace(FileUrls.MARKER, str(file.uuid)),
        ]
        for file in keyset_walk(files, NEWEST_FIRST)
    )
    return csv_response(f"files-{project.pk}.csv", FILE_EXPORT_HEADER, rows)


def _state(file: File) -> str:
    if file.is_removed:
        return "removed"
    if file.infected:
        return "infected"
    return "stored" if file.is_stored else "temporary"


@project_view(role=Role.MEMBER, methods=("POST",))
def file_upload(request: HttpRequest, project: Project) -> HttpResponse:
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = UploadForm(request.POST, request.FILES, project=project)
    if form.is_valid():
        try:
            uploaded = form.save()
        except (UploadError, QuotaExceeded) as exc:
            form.add_error("files", str(exc))
    if form.errors:
        if wants_json:
            return JsonResponse({"error": " ".join(form.errors.get("files", ["Upload failed."]))}, status=400)
        # The chosen files cannot be put back in the picker: the page says what went wrong instead.
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("files:list", project_id=project.pk)
    if wants_json:
        return JsonResponse({"files": [{"uuid": str(f.uuid), "name": f.original_filename} for f in uploaded]})
    messages.success(request, f"Uploaded {_count(uploaded)}.")
    return redirect("files:list", project_id=project.pk)


@project_view(role=Role.MEMBER, methods=("POST",))
def file_bulk(request: HttpRequest, project: Project) -> HttpResponse:
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(request, project)
    files = list(project.files.filter(uuid__in=form.cleaned_data["uuid"]))
    initiator = api_initiator("dashboard")  # one request: one request_id for every file's event
    if form.cleaned_data["action"] == "delete":
        for file in files:
            services.file_delete(file=file, initiator=initiator)
        messages.success(request, f"Deleted {_count(files)}.")
    else:
        stored = [file for file in files if _store(file, initiator)]
        skipped = len(files) - len(stored)
        messages.success(request, f"Stored {_count(stored)}." + (f" {skipped} removed, not stored." if skipped else ""))
    return _back(request, project)


@project_view(role=Role.VIEWER, methods=("GET",))
def file_detail(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    return _render_detail(request, project, _file(project, file_id))


@project_view(role=Role.MEMBER, methods=("POST",))
def file_store(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = _file(project, file_id)
    if _store(file):
        messages.success(request, f"Stored “{file.original_filename}”. It will not expire.")
    else:
        messages.error(request, f"“{file.original_filename}” was removed and cannot be stored.")
    return _back(request, project)


@project_view(role=Role.MEMBER, methods=("POST",))
def file_delete(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = services.file_delete(file=_file(project, file_id), initiator=api_initiator("dashboard"))
    messages.success(request, f"Deleted “{file.original_filename}”.")
    return _back(request, project)


@project_view(role=Role.MEMBER, methods=("POST",))
def metadata_set(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = _file(project, file_id)
    form = MetadataForm(request.POST)
    if form.is_valid():
        try:
            services.file_metadata_set(
                file=file,
                key=form.cleaned_data["key"],
                value=form.cleaned_data["value"],
                initiator=api_initiator("dashboard"),
            )
        except UploadError as exc:
            form.add_error(None, exc.message)
        except services.FileRemovedError:
            form.add_error(None, "This file was deleted; its metadata can no longer change.")
    if form.errors:
        return redirect_with_form(request, form, "files:detail", project_id=project.pk, file_id=file.uuid)
    messages.success(request, f"Saved metadata key “{form.cleaned_data['key']}”.")
    return redirect("files:detail", project_id=project.pk, file_id=file.uuid)


@project_view(role=Role.MEMBER, methods=("POST",))
def metadata_delete(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = _file(project, file_id)
    form = MetadataKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the metadata key to delete.")
        return redirect("files:detail", project_id=project.pk, file_id=file.uuid)
    try:
        services.file_metadata_delete(file=file, key=form.cleaned_data["key"], initiator=api_initiator("dashboard"))
    except services.FileRemovedError:
        messages.error(request, "This file was deleted; its metadata can no longer change.")
        return redirect("files:detail", project_id=project.pk, file_id=file.uuid)
    messages.success(request, f"Deleted metadata key “{form.cleaned_data['key']}”.")
    return redirect("files:detail", project_id=project.pk, file_id=file.uuid)


def _render_detail(request: HttpRequest, project: Project, file: File) -> HttpResponse:
    urls = FileUrls(project, request)
    row = Row.of(file, request, urls)
    info = rest_file_info(file, request)
    context = {
        "project": project,
        "row": row,
        "file": file,
        "info": info,
        # With signed URLs on, the page's own link to the original works for the member reading it.
        "original_url": info["original_file_url"] and info["original_file_url"] + urls.signed(str(file.uuid)),
        "info_json": json.dumps(info, indent=2, ensure_ascii=False),
        "preview_url": row.preview_url,
        "metadata_form": form_restore(request, MetadataForm) or MetadataForm(),
        "can_change": project.membership.has_role(Role.MEMBER),
        "backups": file_backup_states(file=file),
        "conversions": conversion_panel(file),
        "playground": _playground(request, file, row, urls),
    }
    return render(request, "files/detail.html", context)


def _playground(request: HttpRequest, file: File, row: Row, urls: FileUrls) -> dict | None:
    """The transformation playground of an image: its form, and the URL its choices make (signed
    with the page's own token when the project signs its URLs)."""
    if not row.preview_url:
        return None
    form = PlaygroundForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return {"form": form, "url": None}  # the errors instead of a URL the CDN would refuse
    options = form.cleaned_data if form.is_bound else {}
    return {
        "form": form,
        "url": transformation_url(base=row.cdn_url, options=options, query=urls.signed(str(file.uuid))),
    }


def _file(project: Project, file_id) -> File:
    file = services.file_lookup(project=project, file_id=file_id)
    if file is None:
        raise Http404("No such file.")
    return file


def _store(file: File, initiator: dict | None = None) -> bool:
    try:
        services.file_store(file=file, initiator=initiator or api_initiator("dashboard"))
    except services.FileRemovedError:
        return False
    return True


def _back(request: HttpRequest, project: Project) -> HttpResponse:
    """Back to the page the form was on (keeping its filters and cursor), else the list."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("files:list", project_id=project.pk)


def _count(files: list) -> str:
    return f"{len(files)} file" if len(files) == 1 else f"{len(files)} files"
