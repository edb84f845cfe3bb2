"""Groups on the CDN: `{group_id}/` lists the files, `{group_id}/nth/{i}/[-/ops/][filename]` is the
i-th file with the group's own operations for it (and any added after), and
`{group_id}/archive/{zip|tar}/[filename]` streams the original files as one archive.

Public like a file's URL: the group id is the capability. A file removed from the project is
missing from the group's archive and 404 at its index; the group itself never changes.
"""

import io
import tarfile
import zipfile
from collections.abc import Iterator
from html import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from core import delivery
from core.bases import absolute
from files.cdn import images, views
from files.content import clean_filename
from files.models import File, Group
from files.storage.backends import open_stream
from files.storage.edge import enabled as edge_enabled

CHUNK = 256 * 1024
GROUP_PAGE_MAX_AGE = 300  # a member may be removed at any time; the list itself never changes
ARCHIVE_TYPES = {"zip": "application/zip", "tar": "application/x-tar"}


@delivery.public
def group_view(request: HttpRequest, group_id: str) -> HttpResponseBase:
    """The group's files as a page of links, with their index and UUID."""
    group = _live_group(group_id)
    if group is None:
        return delivery.not_found()
    if refusal := views.refused(request, group.project, group_id):
        return refusal
    base = absolute(settings.CDN_BASE, request)
    rows = "".join(
        f'<li value="{index}"><a href="{escape(base + _path(item))}">{escape(item["uuid"])}</a></li>'
        for index, item in enumerate(group.items)
    )
    html = f"<!doctype html><title>{escape(group.id)}</title><h1>{escape(group.id)}</h1><ol start=0>{rows}</ol>\n"
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    for name, value in delivery.CORS.items():
        response[name] = value
    response["Content-Security-Policy"] = delivery.SANDBOX
    scope = "private" if group.project.signed_delivery else "public"
    response["Cache-Control"] = f"{scope}, max-age={GROUP_PAGE_MAX_AGE}"
    return response


@delivery.public
def group_nth_view(request: HttpRequest, group_id: str, index: str, rest: str = "") -> HttpResponseBase:
    """The i-th file: its group operations, then the URL's own (`-/…/`), or a file name."""
    group = _live_group(group_id)
    position = int(index)
    if group is None or position >= len(group.items):
        return delivery.not_found()
    if refusal := views.refused(request, group.project, group_id):
        return refusal
    item = group.items[position]
    extra, filename = (rest[2:], "") if rest.startswith("-/") else ("", rest)
    ops = "-/".join(part for part in (item.get("effects", ""), extra) if part)
    if ops:
        try:
            plan, filename = images.parse("-/" + ops + filename)
        except ValueError as exc:
            return delivery.plain(400, str(exc))
    file = views.live_file(item["uuid"])
    if file is None:
        return delivery.not_found()
    if ops:
        return views.serve_operations(request, file, plan, filename)
    return views.serve_file(request, file, filename)


@delivery.public
def group_archive_view(request: HttpRequest, group_id: str, kind: str, filename: str = "") -> HttpResponseBase:
    """The group's present files, originals, in one zip or tar streamed as it is read."""
    group = _live_group(group_id)
    if group is None:
        return delivery.not_found()
    if refusal := views.refused(request, group.project, group_id):
        return refusal
    files = _members(group)
    if not files:
        return delivery.not_found()
    name = views.name_from_url(filename) or f"{group.id.replace('~', '-')}.{kind}"
    chunks = _zip(files) if kind == "zip" else _tar(files)
    response = StreamingHttpResponse(_counted(chunks, files[0].project_id), content_type=ARCHIVE_TYPES[kind])
    for header, value in delivery.CORS.items():
        response[header] = value
    response["Content-Disposition"] = delivery.disposition(name, inline=False)
    response["Content-Security-Policy"] = delivery.SANDBOX
    # An archive holds many files' bytes under one URL: the edge could not purge it per file.
    shared = not group.project.signed_delivery and not edge_enabled()
    response["Cache-Control"] = f"{'public' if shared else 'private'}, max-age={GROUP_PAGE_MAX_AGE}"
    return response


def _live_group(group_id: str) -> Group | None:
    return Group.objects.filter(id=group_id.lower(), project__deleted_at__isnull=True).select_related("project").first()


def _path(item: dict) -> str:
    effects = item.get("effects", "")
    return f"{item['uuid']}/" + (f"-/{effects}" if effects else "")


def _members(group: Group) -> list[File]:
    """The group's files that are still there, in the group's order, each once."""
    order = list(dict.fromkeys(item["uuid"] for item in group.items))
    live = {str(file.uuid): file for file in map(views.live_file, order) if file is not None}
    return [live[uuid] for uuid in order if uuid in live]


def _names(files: list[File]) -> list[str]:
    """Archive member names: each file's name, made unique with a number when two collide."""
    seen: dict[str, int] = {}
    names = []
    for file in files:
        name = clean_filename(file.original_filename) or str(file.uuid)
        stem, dot, ext = name.rpartition(".")
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        names.append(name if not count else (f"{stem} ({count}).{ext}" if dot and stem else f"{name} ({count})"))
    return names


class _Pipe(io.RawIOBase):
    """What an archive writer writes, collected until the response takes it."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _zip(files: list[File]) -> Iterator[bytes]:
    # Stored, not deflated: most files are compressed already, and an anonymous request must
    # not buy CPU. The sizes go after each member (data descriptors), so nothing is buffered.
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
        for file, name in zip(files, _names(files), strict=True):
            info = zipfile.ZipInfo(name, date_time=file.datetime_uploaded.timetuple()[:6])
            with archive.open(info, "w", force_zip64=file.size > 2**31) as member, open_stream(file) as stream:
                while chunk := stream.read(CHUNK):
                    member.write(chunk)
                    yield pipe.drain()
            yield pipe.drain()
    yield pipe.drain()


def _tar(files: list[File]) -> Iterator[bytes]:
    for file, name in zip(files, _names(files), strict=True):
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = file.size, int(file.datetime_uploaded.timestamp()), 0o644
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        with open_stream(file) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        yield b"\0" * (-file.size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def _counted(chunks: Iterator[bytes], project_id) -> Iterator[bytes]:
    """Yields the archive and counts what was sent toward the project's traffic, even if cut short."""
    sent = 0
    try:
        for chunk in chunks:
            if chunk:
                sent += len(chunk)
                yield chunk
    finally:
        views.traffic_of(project_id)(sent)
