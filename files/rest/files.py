"""REST v0.7 files: the list, one file's info, store and delete, and local copies."""

import functools
import uuid

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core import rawsql
from files.conversions.jobs import pending_result_info
from files.errors import UploadError
from files.info import UTC_TEXT, rest_file_info, rest_info_rows, rest_info_select, rest_infos_of_rows
from files.initiators import api_initiator
from files.models import File
from files.rest.base import ProjectAPIView, fast_json_response
from files.rest.common import (
    FileRemoved,
    json_body,
    live_file,
    operation_refused,
    project_file,
    wants_appdata,
)
from files.rest.docs import errors
from files.rest.pagination import Cursor, KeysetSQL, bool_param, keyset_page, keyset_page_sql
from files.rest.shapes import (
    FILE_FILTERS,
    INCLUDE,
    FileInfoSerializer,
    FilePageSerializer,
    LocalCopyInputSerializer,
    LocalCopySerializer,
    page_parameters,
)
from files.services import FileRemovedError, file_copy, file_delete, file_store
from files.uploads.groups import parse_file_ref

TOTALS_TTL = 60


def project_totals(project) -> dict:
    present = Q(datetime_removed__isnull=True)
    return File.objects.filter(project=project).aggregate(
        removed=Count("pk", filter=~present),
        stored=Count("pk", filter=present & Q(datetime_stored__isnull=False)),
        unstored=Count("pk", filter=present & Q(datetime_stored__isnull=True)),
    )


def walk_totals(project, *, first_page: bool) -> dict:
    """The totals a page reports: counted on a walk's first page (no `from`) and reused for a minute
    by the pages after it. Counting the whole project on every page would make a walk through all
    of it quadratic; the totals of a walk in progress are approximate anyway."""
    key = f"files:rest-totals:{project.pk}"
    if not first_page and (totals := cache.get(key)) is not None:
        return totals
    totals = project_totals(project)
    cache.set(key, totals, TOTALS_TTL)
    return totals


def filtered(project, *, stored: bool | None, removed: bool):
    files = File.objects.filter(project=project)
    if removed:
        # A file is never stored and removed at once (the clients document an empty set).
        return files.none() if stored else files.filter(datetime_removed__isnull=False)
    files = files.present()
    return files if stored is None else files.filter(datetime_stored__isnull=not stored)


@functools.cache
def filtered_sql(*, stored: bool | None, removed: bool) -> KeysetSQL | None:
    """`filtered`'s rows as rest_info_rows reads them, in SQL written once per process; None for the
    filter that holds no file (`filtered` answers it without a query)."""
    if removed and stored:
        return None
    column = functools.partial(rawsql.column, File, alias="f")
    where = [f"{column('project')} = %(project)s", f"{column('datetime_removed')} IS {'NOT ' if removed else ''}NULL"]
    if stored is not None and not removed:
        where.append(f"{column('datetime_stored')} IS {'NOT ' if stored else ''}NULL")
    return KeysetSQL(
        select=rest_info_select("f"),
        source=f"{rawsql.table(File)} f",
        where=" AND ".join(where),
        key=column("datetime_uploaded"),
        pk=column("uuid"),
        key_text=UTC_TEXT.format(column("datetime_uploaded")),
        pk_text=f"({column('uuid')})::text",
    )


def filtered_total(totals: dict, *, stored: bool | None, removed: bool) -> int:
    """How many files `filtered` holds, read off the project's totals instead of another count."""
    if removed:
        return 0 if stored else totals["removed"]
    if stored is None:
        return totals["stored"] + totals["unstored"]
    return totals["stored"] if stored else totals["unstored"]


class FileList(ProjectAPIView):
    @extend_schema(
        operation_id="files_list",
        summary="A page of the project's files",
        parameters=[*page_parameters("datetime_uploaded"), *FILE_FILTERS],
        responses={200: FilePageSerializer, **errors(400)},
    )
    def get(self, request):
        params = request.query_params
        stored, removed = bool_param(params, "stored", None), bool_param(params, "removed", False)
        cursor = Cursor.from_request(request, key="datetime_uploaded", parse_pk=uuid.UUID)
        sql = filtered_sql(stored=stored, removed=removed) if connection.vendor == "postgresql" else None
        if sql is None:
            files = filtered(self.project, stored=stored, removed=removed)
            page = keyset_page(request, files, cursor, values=rest_info_rows)
        else:
            # Built through the ORM, the page's two queries cost more CPU than the rest of the request.
            files = functools.partial(filtered, self.project, stored=stored, removed=removed)
            page = keyset_page_sql(request, sql, {"project": self.project.pk}, cursor, files)
        totals = walk_totals(self.project, first_page=cursor.start is None)
        appdata = wants_appdata(request)
        return fast_json_response(
            {
                "next": page.next,
                "previous": page.previous,
                "total": filtered_total(totals, stored=stored, removed=removed),
                "totals": totals,
                "per_page": cursor.limit,
                "results": rest_infos_of_rows(page.rows, request, include_appdata=appdata),
            }
        )


class FileDetail(ProjectAPIView):
    @extend_schema(summary="One file", parameters=[INCLUDE], responses={200: FileInfoSerializer, **errors(404)})
    def get(self, request, file_id):
        try:
            file = project_file(self.project, file_id)
        except NotFound:
            # A conversion's result, given out before it is made: Uploadcare answers it, not ready.
            pending = pending_result_info(project=self.project, file_id=file_id, url=request.build_absolute_uri())
            if pending is None:
                raise
            return Response(pending)
        return Response(rest_file_info(file, request, include_appdata=wants_appdata(request)))


class FileStorage(ProjectAPIView):
    @extend_schema(summary="Store a file", request=None, responses={200: FileInfoSerializer, **errors(404)})
    def put(self, request, file_id):
        try:
            file = file_store(file=live_file(self.project, file_id), initiator=api_initiator("rest_api"))
        except FileRemovedError:
            raise FileRemoved() from None
        return Response(rest_file_info(file, request))

    @extend_schema(summary="Delete a file", responses={200: FileInfoSerializer, **errors(404)})
    def delete(self, request, file_id):
        file = file_delete(file=project_file(self.project, file_id), initiator=api_initiator("rest_api"))
        return Response(rest_file_info(file, request))


def store_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1"):
        return True
    if value is None or str(value).strip().lower() in ("false", "0", ""):
        return False
    raise ValidationError({"store": ["Must be true or false."]})


class LocalCopy(ProjectAPIView):
    """Copies a file (`source`: a UUID, `uuid/-/ops/` or a CDN URL) to a new file of the project.

    Image operations in `source` are applied: the copy holds the rendered image. `metadata`
    updates the metadata the copy takes from the original.
    """

    @extend_schema(
        summary="Copy a file within the project",
        request=LocalCopyInputSerializer,
        responses={201: LocalCopySerializer, **errors(400, 404, 503)},
    )
    def post(self, request):
        data = json_body(request)
        source = data.get("source") if isinstance(data, dict) else None
        if not isinstance(source, str) or not source.strip():
            raise ValidationError({"source": ["This field is required."]})
        try:
            file_uuid, effects = parse_file_ref(source)
        except UploadError:
            raise ValidationError({"source": ["Not a file UUID or CDN URL."]}) from None
        store = store_flag(data.get("store"))
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValidationError({"metadata": ["Must be an object of string keys and values."]})
        try:
            copy = file_copy(
                file=live_file(self.project, file_uuid),
                store=store,
                effects=effects,
                metadata=metadata,
                initiator=api_initiator("rest_api"),
            )
        except FileRemovedError:
            raise FileRemoved() from None
        except UploadError as exc:
            raise operation_refused(exc) from None
        info = rest_file_info(copy, request)
        return Response({"type": "file", "result": info}, status=201, headers={"Location": info["url"]})
