"""Conversion paths as the REST API takes them, parsed into a job's params or refused with the
reason that goes into the answer's `problems`.

    {uuid}/document/-/format/pdf/                      (no format: pdf, as Uploadcare does)
    {uuid}/document/-/format/png/-/page/2/            (page: image formats only, 1-based)
    {uuid}/video/-/format/webm/-/size/640x480/add_padding/-/quality/lighter/-/cut/0:01.5/10/-/thumbs~4/

pyuploadcare writes `thumbs~N`; `thumbs/N` is taken too.
"""

import re
import uuid
from dataclasses import dataclass

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOCUMENT_IMAGE_FORMATS = ("jpg", "enhanced.jpg", "png")
VIDEO_FORMATS = ("mp4", "webm", "ogg")
RESIZE_MODES = ("preserve_ratio", "change_ratio", "scale_crop", "add_padding")
QUALITIES = ("normal", "better", "best", "lighter", "lightest")
MAX_SIDE = 4096
MAX_THUMBS = 50
# A time in a cut: seconds (12, 12.5), MM:SS(.sss) or HHH:MM:SS(.sss).
TIME = re.compile(r"^(?:(?:(\d{1,3}):)?([0-5]?\d):)?(\d+(?:\.\d{1,3})?)$")


class PathProblem(ValueError):
    """The path cannot be converted; the message is the answer's `problems` entry for it."""


@dataclass
class Parsed:
    source_uuid: uuid.UUID
    kind: str  # document | video
    params: dict


def parse(path: str, kind: str) -> Parsed:
    """Splits `path` into its source file and its operations; raises PathProblem."""
    if not isinstance(path, str) or "\x00" in path:
        raise PathProblem("A path is a string like {uuid}/" + kind + "/-/format/…/.")
    head, *operations = path.strip().strip("/").split("/-/")
    parts = head.split("/")
    if len(parts) != 2 or not UUID.match(parts[0]) or parts[1] != kind:
        raise PathProblem(f"Bad path {path!r}: it starts with the file's UUID, then /{kind}/.")
    ops = {}
    for operation in operations:
        name, *args = operation.strip("/").split("/")
        if name.startswith("thumbs~"):
            name, args = "thumbs", [name.removeprefix("thumbs~"), *args]
        if name in ops:
            raise PathProblem(f"Bad path {path!r}: the {name} operation is given twice.")
        ops[name] = args
    params = (_document if kind == "document" else _video)(ops)
    return Parsed(uuid.UUID(parts[0]), kind, params)


def _one(ops: dict, name: str) -> str | None:
    args = ops.get(name)
    if args is None:
        return None
    if len(args) != 1 or not args[0]:
        raise PathProblem(f"-/{name}/ takes one value.")
    return args[0].lower()


def _document(ops: dict) -> dict:
    unknown = set(ops) - {"format", "page"}
    if unknown:
        raise PathProblem(f"Unknown document operation {sorted(unknown)[0]!r}: use -/format/…/ and -/page/N/.")
    target = _one(ops, "format") or "pdf"
    params = {"format": target}
    page = _one(ops, "page")
    if page is not None:
        if target not in DOCUMENT_IMAGE_FORMATS:
            raise PathProblem(f"-/page/ is for image formats ({', '.join(DOCUMENT_IMAGE_FORMATS)}), not {target}.")
        if not page.isdigit() or int(page) < 1:
            raise PathProblem(f"-/page/{page}/: a page is a number from 1.")
        params["page"] = int(page)
    return params


def _video(ops: dict) -> dict:
    unknown = set(ops) - {"format", "size", "quality", "cut", "thumbs"}
    if unknown:
        raise PathProblem(
            f"Unknown video operation {sorted(unknown)[0]!r}: use -/format/, -/size/, -/quality/, -/cut/, -/thumbs~N/."
        )
    target = _one(ops, "format") or "mp4"
    if target not in VIDEO_FORMATS:
        raise PathProblem(f"Video format {target!r} is not one of {', '.join(VIDEO_FORMATS)}.")
    quality = _one(ops, "quality") or "normal"
    if quality not in QUALITIES:
        raise PathProblem(f"Quality {quality!r} is not one of {', '.join(QUALITIES)}.")
    params = {"format": target, "quality": quality, "thumbs": _thumbs(ops)}
    if "size" in ops:
        params["size"] = _size(ops["size"])
    if "cut" in ops:
        params["cut"] = _cut(ops["cut"])
    return params


def _thumbs(ops: dict) -> int:
    value = _one(ops, "thumbs")
    if value is None:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_THUMBS:
        raise PathProblem(f"-/thumbs~{value}/: from 1 to {MAX_THUMBS} thumbnails.")
    return int(value)


def _size(args: list[str]) -> dict:
    if not 1 <= len(args) <= 2:
        raise PathProblem("-/size/ takes WxH and an optional resize mode.")
    match = re.fullmatch(r"(\d*)x(\d*)", args[0].lower())
    mode = args[1].lower() if len(args) == 2 else "preserve_ratio"
    if not match or not any(match.groups()):
        raise PathProblem(f"-/size/{args[0]}/: a size is WxH, Wx or xH.")
    width, height = (int(side) if side else None for side in match.groups())
    if any(side is not None and not 1 <= side <= MAX_SIDE for side in (width, height)):
        raise PathProblem(f"-/size/{args[0]}/: each side from 1 to {MAX_SIDE} pixels.")
    if mode not in RESIZE_MODES:
        raise PathProblem(f"Resize mode {mode!r} is not one of {', '.join(RESIZE_MODES)}.")
    if mode != "preserve_ratio" and (width is None or height is None):
        raise PathProblem(f"Resize mode {mode} needs both sides: WxH.")
    return {"width": width, "height": height, "mode": mode}


def _cut(args: list[str]) -> dict:
    if len(args) != 2:
        raise PathProblem("-/cut/ takes a start and a length: -/cut/0:10/30/ (length may be 'end').")
    start = seconds(args[0])
    length = None if args[1].lower() == "end" else seconds(args[1])
    if start is None or (length is None and args[1].lower() != "end") or length == 0:
        raise PathProblem(f"-/cut/{args[0]}/{args[1]}/: times are seconds, MM:SS or HHH:MM:SS(.sss).")
    return {"start": start, "length": length}


def seconds(value: str) -> float | None:
    match = TIME.match(value)
    if not match:
        return None
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs)
