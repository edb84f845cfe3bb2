"""File and group info in the shapes the official clients parse (REST v0.7 and Upload API)."""

import functools
from datetime import UTC

import orjson
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections
from django.db.models import Func, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast

from core import rawsql
from core.bases import absolute
from files.content import url_filename
from files.models import File, FileTag, Group


def iso(value) -> str | None:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z" if value else None


def cdn_url(file: File, request=None) -> str:
    return f"{absolute(settings.CDN_BASE, request)}{file.uuid}/"


def content_info(mime_type: str, image_info, media_info=None) -> dict:
    """Uploadcare's content_info: mime always; image for images; video (with its audio and video
    streams; an audio file has no video stream) once the background analysis read the file."""
    kind, _, subtype = mime_type.partition("/")
    info = {"mime": {"mime": mime_type, "type": kind, "subtype": subtype}}
    if image_info:
        info["image"] = image_info
    if media_info and media_info.get("video"):
        info["video"] = media_info["video"]
    return info


def legacy_video_info(media_info) -> dict | None:
    """The Upload API's older `video_info`: the first audio and the first video stream, each an
    object (or null), for a file with a video stream."""
    video = (media_info or {}).get("video")
    if not video or not video["video"]:
        return None
    return {**video, "audio": (video["audio"] or [None])[0], "video": video["video"][0]}


def rest_file_info(file: File, request=None, include_appdata: bool = False) -> dict:
    return rest_file_infos([file], request, include_appdata)[0]


def rest_file_infos(files, request=None, include_appdata: bool = False) -> list[dict]:
    """The REST info of each file (model instances)."""
    return rest_infos_of_rows(
        [tuple(getattr(file, name) for name in REST_INFO_COLUMNS) for file in files], request, include_appdata
    )


# What a REST file info is made of, in the order rest_infos_of_rows takes a row.
REST_INFO_COLUMNS = (
    "uuid",
    "datetime_uploaded",
    "datetime_stored",
    "datetime_removed",
    "size",
    "mime_type",
    "original_filename",
    "image_info",
    "metadata",
    "source",
    "appdata",
    "media_info",
)


class UTCText(Func):
    """`iso` of a datetime column, in PostgreSQL: UTC, microseconds, a Z."""

    template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    output_field = TextField()


def rest_info_rows(files: QuerySet) -> QuerySet:
    """`files` as rows for rest_infos_of_rows: only the columns an info shows, and on PostgreSQL
    the uuid and the datetimes already as text, so Python does not parse timestamps only to
    format them again, and the JSON columns as text for orjson to parse."""
    if connections[files.db].vendor != "postgresql":
        return files.values_list(*REST_INFO_COLUMNS)
    return files.annotate(
        uuid_text=Cast("uuid", TextField()),
        uploaded_text=UTCText("datetime_uploaded"),
        stored_text=UTCText("datetime_stored"),
        removed_text=UTCText("datetime_removed"),
        **{f"{name}_text": Cast(name, TextField()) for name in JSON_INFO_COLUMNS},
        # Each row's tags as an array, in the same query: a second query for a page's tags cost
        # about as much as building the page's infos.
        tag_list=ArraySubquery(FileTag.objects.filter(file_id=OuterRef("pk")).order_by("pk").values("tag")),
    ).values_list(
        "uuid_text",
        "uploaded_text",
        "stored_text",
        "removed_text",
        *(f"{name}_text" if name in JSON_INFO_COLUMNS else name for name in REST_INFO_COLUMNS[4:]),
        "tag_list",
    )


# The jsonb columns of an info: rest_info_rows reads them as JSON text.
JSON_INFO_COLUMNS = ("image_info", "metadata", "appdata", "media_info")
UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


@functools.cache
def rest_info_select(alias: str) -> str:
    """What rest_info_rows selects on PostgreSQL, as SQL text over files_file under `alias`, for
    statements written once per process (core.rawsql): the REST list's page (files.rest.files).
    tests/files/rest/test_list_rows.py checks that both read the same rows."""
    column = functools.partial(rawsql.column, File, alias=alias)
    tag_column = functools.partial(rawsql.column, FileTag, alias="t")
    texts = {"uuid": f"({column('uuid')})::text"}
    texts |= {name: UTC_TEXT.format(column(name)) for name in REST_INFO_COLUMNS[1:4]}
    texts |= {name: f"({column(name)})::text" for name in JSON_INFO_COLUMNS}
    tags_of_row = f"FROM {rawsql.table(FileTag)} t WHERE {tag_column('file')} = {column('uuid')}"
    # Most files have no tags: one probe of the (file, tag) index answers those, where ARRAY(...)
    # ran an empty sort for each (0.1 ms of a 100-row page's 0.34 in PostgreSQL when none has tags).
    tags = (
        f"CASE WHEN EXISTS (SELECT 1 {tags_of_row}) "
        f"THEN ARRAY(SELECT {tag_column('tag')} {tags_of_row} ORDER BY {tag_column(FileTag._meta.pk.name)}) "
        "ELSE '{}' END"
    )
    return ", ".join([*(texts.get(name) or column(name) for name in REST_INFO_COLUMNS), tags])


def _json_text(value):
    """A JSON column as rest_info_rows reads it on PostgreSQL (text), parsed by orjson (Django's
    JSONField parses with json.loads: a page's 300 values took a fifth of its CPU)."""
    return None if value is None else orjson.loads(value)


def rest_infos_of_rows(rows, request=None, include_appdata: bool = False) -> list[dict]:
    """The REST info of each row of REST_INFO_COLUMNS, its datetimes as datetimes or as `iso` text
    already. The base URLs are worked out once: building them per file was a third of a
    100-file list page's serialisation."""
    cdn, api = absolute(settings.CDN_BASE, request), absolute(settings.API_BASE, request)
    rows = rows if isinstance(rows, list) else list(rows)
    width = len(REST_INFO_COLUMNS)
    if rows and len(rows[0]) > width:  # rest_info_rows read each row's tags with it
        return [_rest_info(row[:width], cdn, api, include_appdata, row[width]) for row in rows]
    tags = tags_by_file(row[0] for row in rows)
    return [_rest_info(row, cdn, api, include_appdata, tags.get(str(row[0]), [])) for row in rows]


def tags_by_file(file_ids) -> dict[str, list[str]]:
    """Each file's tags in storage order, by uuid text: one query for a whole page of infos (the
    (file, tag) unique index serves it), none per file."""
    tags: dict[str, list[str]] = {}
    ids = [str(file_id) for file_id in file_ids]
    if ids:
        for file_id, tag in FileTag.objects.filter(file_id__in=ids).order_by("pk").values_list("file_id", "tag"):
            tags.setdefault(str(file_id), []).append(tag)
    return tags


def _text(value) -> str | None:
    return value if value is None or type(value) is str else iso(value)


def _rest_info(row: tuple, cdn_base: str, api_base: str, include_appdata: bool, tags: list[str]) -> dict:
    (
        file_id,
        uploaded,
        stored,
        removed,
        size,
        mime_type,
        original_filename,
        image_info,
        metadata,
        source,
        appdata,
        media,
    ) = row
    if type(metadata) is str:  # rest_info_rows on PostgreSQL: the JSON columns as their text
        image_info, metadata, media = _json_text(image_info), _json_text(metadata), _json_text(media)
        appdata = _json_text(appdata) if include_appdata else None
    pk, removed = str(file_id), _text(removed)
    info = {
        "uuid": pk,
        "datetime_uploaded": _text(uploaded),
        # A removed file is no longer stored, as the original API reports it.
        "datetime_stored": None if removed else _text(stored),
        "datetime_removed": removed,
        "size": size,
        "mime_type": mime_type,
        "original_filename": original_filename,
        "original_file_url": None if removed else f"{cdn_base}{pk}/{url_filename(original_filename)}",
        "url": f"{api_base}files/{pk}/",
        "is_image": image_info is not None,
        "is_ready": True,
        "metadata": metadata,
        "tags": tags,
        "content_info": content_info(mime_type, image_info, media),
        "variations": None,
        "source": source,
    }
    if include_appdata:
        info["appdata"] = appdata or {}  # add-on results in Uploadcare's shape (files.addons)
    return info


def upload_file_info(file: File) -> dict:
    return {
        "uuid": str(file.uuid),
        "file_id": str(file.uuid),
        "size": file.size,
        "total": file.size,
        "done": file.size,
        "original_filename": file.original_filename,
        "filename": url_filename(file.original_filename),
        "mime_type": file.mime_type,
        "is_image": file.is_image,
        "is_stored": file.is_stored,
        "is_ready": True,
        "image_info": file.image_info,
        "video_info": legacy_video_info(file.media_info),
        "content_info": content_info(file.mime_type, file.image_info, file.media_info),
        "metadata": file.metadata,
        "s3_bucket": None,
    }


def group_files(group: Group) -> list[tuple[dict, File | None]]:
    by_uuid = {str(f.uuid): f for f in File.objects.filter(uuid__in=[item["uuid"] for item in group.items])}
    return [(item, by_uuid.get(item["uuid"])) for item in group.items]


def upload_group_info(group: Group, request=None) -> dict:
    files = []
    for item, file in group_files(group):
        files.append(
            {**upload_file_info(file), "default_effects": item["effects"]} if file and not file.is_removed else None
        )
    return {**group_common(group, request), "files": files}


def rest_group_info(group: Group, request=None) -> dict:
    files = []
    for item, file in group_files(group):
        files.append({**rest_file_info(file, request), "default_effects": item["effects"]} if file else None)
    return {**group_common(group, request), "files": files}


def group_common(group: Group, request) -> dict:
    return {
        "id": group.id,
        "datetime_created": iso(group.datetime_created),
        "datetime_stored": iso(group.datetime_stored),
        "files_count": group.files_count,
        "cdn_url": f"{absolute(settings.CDN_BASE, request)}{group.id}/",
        "url": f"{absolute(settings.API_BASE, request)}groups/{group.id}/",
    }
