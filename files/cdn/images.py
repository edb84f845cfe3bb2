"""The one image pipeline of the CDN and the proxy: parse, plan, render once, keep.

`{uuid}/-/preview/200x200/` and `{uuid}/-/resize/200x/-/format/webp/` are both a Plan: steps in
order, then how to encode. A bad operation is a ValueError whose message the caller answers with
a 400. What a plan gives (format, name, ETag suffix) is known from the source's image_info before
anything is decoded; the rendering is made with Pillow on first use and kept in the default storage
(it is a cache): in the file's `previews/{uuid}/` folder, deleted with the file, or next to a
proxied copy's version, so a replaced copy is never shown with an old rendering.

Names: the preview URL's rendering by the size it gives (`100x50.jpg`), so every box that gives
the same picture shares one object; any other chain by a digest of its normalised form and format
(`ops-{digest}.webp`), so equivalent URLs share one rendering.
"""

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import ExifTags, Image, ImageOps

import files.content  # noqa: F401  (sets Image.MAX_IMAGE_PIXELS before any image is decoded)
from files.models import File, ProxiedFile
from files.storage.backends import storage_for

SIZE = re.compile(r"^(\d{1,5})?x(\d{1,5})?$")
OFFSET = re.compile(r"^(\d{1,5}),(\d{1,5})$")
PREVIEW_MAX = 2048
FORMATS = {"jpeg", "png", "webp", "auto", "preserve"}
# The preview URL's own format, which no URL can ask for: JPEG unless the picture needs PNG.
JPEG_OR_PNG = "jpeg_or_png"
QUALITY = {"lightest": 35, "lighter": 50, "normal": 75, "better": 85, "best": 95, "smart": 75, "smart_retina": 65}
# Modes JPEG can hold without losing anything the eye sees; anything else (alpha, palettes,
# 1-bit, 16-bit) becomes a PNG.
JPEG_MODES = {"RGB", "L", "CMYK", "YCbCr"}
# Modes every step and encoder handles; a palette would resample nearest-neighbour, and CMYK
# JPEGs show wrong colours in some browsers.
WORKING_MODES = {"RGB", "RGBA", "L", "LA"}
# EXIF orientations that turn the image a quarter: width and height swap once it is upright.
QUARTER_TURNS = {5, 6, 7, 8}
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class UndecodableImage(Exception):
    """The stored file is not an image Pillow can read."""


class LimitExceeded(ValueError):
    """A limit only the image's own size reveals (a computed side above the cap)."""


@dataclass
class Plan:
    """What to do to the image, in order, and how to encode the result."""

    steps: list[tuple] = field(default_factory=list)
    format: str = "preserve"
    quality: str = "normal"
    progressive: bool = False
    named_by_size: bool = False  # the preview URL's plan (see the module docstring)

    def key(self) -> str:
        parts = ["-".join(str(p) for p in step) for step in self.steps]
        return "/".join([*parts, f"f-{self.format}", f"q-{self.quality}", f"p-{int(self.progressive)}"])


@dataclass(frozen=True)
class Output:
    """What a plan gives for one source: its format, and the tag that names it in storage and ETags."""

    kind: str  # jpeg, png or webp
    tag: str  # the size it gives (`100x50`) for the preview URL, else a digest of the plan
    by_size: bool = False

    @property
    def mime_type(self) -> str:
        return f"image/{self.kind}"

    @property
    def ext(self) -> str:
        return "jpg" if self.kind == "jpeg" else self.kind

    @property
    def name(self) -> str:
        """The file name it is kept under, beside the source's other renderings."""
        return f"{self.tag}.{self.ext}" if self.by_size else f"ops-{self.tag}.{self.kind}"


# Parsing


def parse(path: str) -> tuple[Plan, str]:
    """Parses `-/op/params/-/op/params/[filename]`; returns the plan and the trailing filename."""
    tokens = list(path.split("/"))
    if tokens and tokens[-1] == "":
        tokens.pop()
    plan, index, filename = Plan(), 0, ""
    while index < len(tokens):
        if tokens[index] != "-":
            if index == len(tokens) - 1:
                return plan, tokens[index]  # the file name a URL may end with
            raise ValueError(f"Unexpected {tokens[index]!r}: operations look like -/name/params/.")
        if index + 1 >= len(tokens):
            raise ValueError("An operation name is missing after '-/'.")
        name, params = tokens[index + 1], []
        index += 2
        while index < len(tokens) and tokens[index] != "-":
            params.append(tokens[index])
            index += 1
        # The last operation may be followed by a file name rather than a parameter.
        if index == len(tokens) and params and _takes_fewer(name, params):
            filename = params.pop()
        _apply(plan, name, params)
    return plan, filename


def parse_preview(size: str | None) -> Plan:
    """The plan of the preview URL `-/preview/[size/]`: `WxH`, `Wx` or `xH`, a missing side (or no
    size) meaning the cap; sides above the cap are capped. Raises ValueError with a message."""
    width, height = PREVIEW_MAX, PREVIEW_MAX
    if size is not None:
        match = SIZE.match(size)
        if not match or match.groups() == (None, None):
            raise ValueError(f"Invalid preview size {size!r}: expected WxH, e.g. 800x600.")
        width, height = (int(side) if side is not None else PREVIEW_MAX for side in match.groups())
        if width < 1 or height < 1:
            raise ValueError(f"Invalid preview size {size!r}: width and height must be at least 1.")
    box = ("preview", min(width, PREVIEW_MAX), min(height, PREVIEW_MAX))
    return Plan(steps=[box], format=JPEG_OR_PNG, quality="better", named_by_size=True)


def _size(value: str, name: str, need_both: bool = False) -> tuple[int | None, int | None]:
    match = SIZE.match(value)
    if not match or match.groups() == (None, None):
        raise ValueError(f"{name}: invalid size {value!r}; expected WxH, Wx or xH.")
    width, height = (int(v) if v else None for v in match.groups())
    if need_both and (width is None or height is None):
        raise ValueError(f"{name}: both width and height are needed, e.g. 300x200.")
    limit = settings.FILEDOCK_CDN_MAX_DIMENSION
    if any(v is not None and not 1 <= v <= limit for v in (width, height)):
        raise ValueError(f"{name}: sides must be between 1 and {limit} pixels.")
    return width, height


def _takes_fewer(name: str, params: list[str]) -> bool:
    most = {
        "grayscale": 0,
        "preview": 1,
        "resize": 1,
        "format": 1,
        "quality": 1,
        "progressive": 1,
        "scale_crop": 2,
        "crop": 2,
    }.get(name)
    if most is None:
        return False
    if len(params) > most:
        return True
    if name in ("preview", "scale_crop", "crop") and params:  # optional last parameter
        last = params[-1]
        return not (SIZE.match(last) or OFFSET.match(last) or last == "center")
    return False


def _apply(plan: Plan, name: str, params: list[str]) -> None:
    if name == "preview":
        width, height = _size(params[0], name) if params else (None, None)
        plan.steps.append(("preview", width or PREVIEW_MAX, height or PREVIEW_MAX))
    elif name == "resize" and len(params) == 1:
        plan.steps.append(("resize", *_size(params[0], name)))
    elif name == "scale_crop" and len(params) in (1, 2):
        if len(params) == 2 and params[1] != "center":
            raise ValueError("scale_crop: the only alignment is 'center'.")
        plan.steps.append(("scale_crop", *_size(params[0], name, need_both=True)))
    elif name == "crop" and len(params) in (1, 2):
        width, height = _size(params[0], name, need_both=True)
        position = params[1] if len(params) == 2 else "0,0"
        offset = OFFSET.match(position)
        if position != "center" and not offset:
            raise ValueError("crop: the position is 'center' or x,y in pixels.")
        plan.steps.append(("crop", width, height, position))
    elif name == "format" and len(params) == 1 and params[0] in FORMATS:
        plan.format = params[0]
    elif name == "quality" and len(params) == 1 and params[0] in QUALITY:
        plan.quality = params[0]
    elif name == "progressive" and len(params) == 1 and params[0] in ("yes", "no"):
        plan.progressive = params[0] == "yes"
    elif name == "grayscale" and not params:
        plan.steps.append(("grayscale",))
    else:
        raise ValueError(f"Unknown or malformed operation: -/{'/'.join([name, *params])}/")


# Planning: what a plan gives, from image_info alone


def output_of(plan: Plan, image_info: dict, accepts_webp: bool) -> Output:
    """What `plan` gives for the image `image_info` describes, worked out without decoding it."""
    kind = _kind(plan, image_info, accepts_webp)
    if plan.named_by_size:
        turned = image_info.get("orientation") in QUARTER_TURNS
        width, height = (max(1, int(image_info.get(side) or 1)) for side in ("width", "height"))
        width, height = fit((height, width) if turned else (width, height), plan.steps[0][1:])
        return Output(kind=kind, tag=f"{width}x{height}", by_size=True)
    return Output(kind=kind, tag=hashlib.sha1(f"{plan.key()}|{kind}".encode()).hexdigest()[:20])


def _kind(plan: Plan, image_info: dict, accepts_webp: bool) -> str:
    """jpeg, png or webp, from the source's format and colour mode."""
    mode = "L" if ("grayscale",) in plan.steps else image_info.get("color_mode")
    source = (image_info.get("format") or "").lower()
    if plan.format in ("jpeg", "png", "webp"):
        return plan.format
    if plan.format == "auto" and accepts_webp:
        return "webp"
    if plan.format == "preserve" and source in ("jpeg", "png", "webp"):
        return source
    return "jpeg" if mode in JPEG_MODES else "png"


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit within `box`, aspect kept, never enlarged."""
    width, height = size
    box_width, box_height = box
    scale = min(box_width / width, box_height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def rendering_filename(original: str, output: Output) -> str:
    """The download name of a rendering: the original's stem with the output's extension."""
    return f"{PurePosixPath(original).stem or 'preview'}.{output.ext}"


def rendering_key(source: File | ProxiedFile, output: Output) -> str:
    """Where the rendering of `source` is kept in the default storage."""
    if isinstance(source, ProxiedFile):
        return f"{source.storage_key}-{output.name}"
    return f"previews/{source.uuid}/{output.name}"


# Rendering


def rendering_get_or_create(*, source: File | ProxiedFile, plan: Plan, accepts_webp: bool) -> str:
    """The storage key of `source` rendered by `plan`; renders and saves it on first use.

    Raises UndecodableImage, or LimitExceeded for a limit only the image's own size reveals.
    """
    key = rendering_key(source, output_of(plan, source.image_info or {}, accepts_webp))
    if default_storage.exists(key):
        return key
    storage = default_storage if isinstance(source, ProxiedFile) else storage_for(source)
    try:
        with storage.open(source.storage_key, "rb") as original:
            data, _ = render(original, plan, accepts_webp)
    except LimitExceeded:
        raise
    except DECODE_ERRORS as exc:
        raise UndecodableImage("The file could not be decoded as an image.") from exc
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:
        # Another request rendered it first and the storage picked a fresh name for ours; keep
        # theirs (same pixels) and drop the duplicate.
        default_storage.delete(saved)
    return key


def render(source, plan: Plan, accepts_webp: bool = False) -> tuple[bytes, str]:
    """Applies the plan to the image read from `source`; returns the encoded bytes and MIME type."""
    with Image.open(source) as original:
        kind = _kind(plan, {"format": original.format, "color_mode": original.mode}, accepts_webp)
        image, steps = _decode(original, plan.steps)
        for step in steps:
            image = _step(image, step)
    if kind == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options = {"quality": QUALITY[plan.quality]} if kind in ("jpeg", "webp") else {}
    if kind in ("jpeg", "png"):
        options["optimize"] = True
    if kind == "jpeg" and plan.progressive:
        options["progressive"] = True
    buffer = io.BytesIO()
    image.save(buffer, kind.upper(), **options)
    return buffer.getvalue(), f"image/{kind}"


def _decode(original: Image.Image, steps: list[tuple]) -> tuple[Image.Image, list[tuple]]:
    """The upright picture in a working mode, and the steps still to apply to it.

    A leading preview is sized from the whole picture, then done on one decoded at a reduced scale
    where the format allows (JPEG draft mode, at least twice the result): a large photo is never
    decoded in full for a thumbnail.
    """
    target = None
    if steps and steps[0][0] == "preview":
        turned = original.getexif().get(ExifTags.Base.Orientation) in QUARTER_TURNS
        target = fit(original.size[::-1] if turned else original.size, steps[0][1:])
        stored = target[::-1] if turned else target
        original.draft(None, (stored[0] * 2, stored[1] * 2))
        steps = steps[1:]
    image = ImageOps.exif_transpose(original)
    if image.mode not in WORKING_MODES:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if target is not None:
        image = _resize(image, target)
    return image, steps


def _step(image: Image.Image, step: tuple) -> Image.Image:
    name = step[0]
    if name == "preview":
        return _resize(image, fit(image.size, step[1:]))
    if name == "resize":
        width, height = step[1], step[2]
        if width is None:
            width = max(1, round(image.width * height / image.height))
        if height is None:
            height = max(1, round(image.height * width / image.width))
        limit = settings.FILEDOCK_CDN_MAX_DIMENSION
        if width > limit or height > limit:
            # The side computed from the aspect ratio is bounded too: 1x5000 resized to 5000x would
            # otherwise ask for 25 million rows.
            raise LimitExceeded(f"resize: the result would be {width}x{height}; sides are capped at {limit} pixels.")
        return _resize(image, (width, height))
    if name == "scale_crop":
        return ImageOps.fit(image, (step[1], step[2]), Image.Resampling.LANCZOS)
    if name == "crop":
        width, height, position = step[1], step[2], step[3]
        width, height = min(width, image.width), min(height, image.height)
        if position == "center":
            left, top = (image.width - width) // 2, (image.height - height) // 2
        else:
            left, top = (int(v) for v in position.split(","))
            left, top = min(left, image.width - width), min(top, image.height - height)
        return image.crop((left, top, left + width, top + height))
    if name == "grayscale":
        return ImageOps.grayscale(image)
    raise AssertionError(name)


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
