"""File and group info in the shapes the official clients parse (REST v0.7 and Upload API)."""

from datetime import UTC

from django.conf import settings

from files.content import url_filename
from files.models import File, Group
from projects.bases import absolute


def iso(value) -> str | None:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z" if value else None


def cdn_url(file: File, request=None) -> str:
    return f"{absolute(settings.CDN_BASE, request)}{file.uuid}/"


def content_info(file: File) -> dict:
    kind, _, subtype = file.mime_type.partition("/")
    info = {"mime": {"mime": file.mime_type, "type": kind, "subtype": subtype}}
    if file.image_info:
        info["image"] = file.image_info
    return info


def rest_file_info(file: File, request=None, include_appdata: bool = False) -> dict:
    return rest_file_infos([file], request, include_appdata)[0]


def rest_file_infos(files, request=None, include_appdata: bool = False) -> list[dict]:
    """The REST info of each file, with the base URLs worked out once: building them twice per
    file was a third of a 100-file list page's serialisation."""
    cdn, api = absolute(settings.CDN_BASE, request), absolute(settings.API_BASE, request)
    return [_rest_info(file, cdn, api, include_appdata) for file in files]


def _rest_info(file: File, cdn_base: str, api_base: str, include_appdata: bool) -> dict:
    pk, removed = str(file.uuid), file.datetime_removed is not None
    info = {
        "uuid": pk,
        "datetime_uploaded": iso(file.datetime_uploaded),
        # A removed file is no longer stored, as the original API reports it.
        "datetime_stored": None if removed else iso(file.datetime_stored),
        "datetime_removed": iso(file.datetime_removed),
        "size": file.size,
        "mime_type": file.mime_type,
        "original_filename": file.original_filename,
        "original_file_url": None if removed else f"{cdn_base}{pk}/{url_filename(file.original_filename)}",
        "url": f"{api_base}files/{pk}/",
        "is_image": file.image_info is not None,
        "is_ready": True,
        "metadata": file.metadata,
        "content_info": content_info(file),
        "variations": None,
        "source": file.source,
    }
    if include_appdata:
        info["appdata"] = {}
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
        "video_info": None,
        "content_info": content_info(file),
        "metadata": file.metadata,
        "s3_bucket": None,
    }


def group_files(group: Group) -> list[tuple[dict, File | None]]:
    by_uuid = {str(f.uuid): f for f in File.objects.filter(uuid__in=[item["uuid"] for item in group.items])}
    return [(item, by_uuid.get(item["uuid"])) for item in group.items]


def upload_group_info(group: Group, request=None) -> dict:
    files = []
    for item, file in group_files(group):
        files.append({**upload_file_info(file), "default_effects": item["effects"]} if file and not file.is_removed else None)
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
