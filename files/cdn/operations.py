"""CDN image operations: `{uuid}/-/resize/200x/-/format/webp/` parsed strictly, rendered with Pillow.

A bad operation is a ValueError whose message the CDN returns with a 400. Results are cached
by the normalised operation string, so equivalent URLs share one rendering.
"""

import hashlib
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image, ImageOps

SIZE = re.compile(r"^(\d{1,5})?x(\d{1,5})?$")
OFFSET = re.compile(r"^(\d{1,5}),(\d{1,5})$")
FORMATS = {"jpeg", "png", "webp", "auto", "preserve"}
QUALITY = {"lightest": 35, "lighter": 50, "normal": 75, "better": 85, "best": 95, "smart": 75, "smart_retina": 65}
JPEG_MODES = {"RGB", "L", "CMYK"}


class UndecodableImage(Exception):
    """The stored file is not an image Pillow can read."""


@dataclass
class Plan:
    """What to do to the image, in order, and how to encode the result."""

    steps: list[tuple] = field(default_factory=list)
    format: str = "preserve"
    quality: str = "normal"
    progressive: bool = False

    def key(self) -> str:
        parts = ["-".join(str(p) for p in step) for step in self.steps]
        return "/".join([*parts, f"f-{self.format}", f"q-{self.quality}", f"p-{int(self.progressive)}"])


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


def parse(path: str) -> tuple[Plan, str]:
    """Parses `-/op/params/-/op/params/[filename]`; returns the plan and the trailing filename."""
    tokens = [t for t in path.split("/")]
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
        plan.steps.append(("preview", width or 2048, height or 2048))
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


def output_kind(plan: Plan, image_info: dict, accepts_webp: bool) -> str:
    """jpeg, png or webp: known before rendering, so cache keys and headers need no decoding."""
    mode = "L" if ("grayscale",) in plan.steps else (image_info.get("color_mode") or "RGB")
    return _output_format(plan.format, (image_info.get("format") or "").lower(), mode, accepts_webp)


def render(source, plan: Plan, accepts_webp: bool = False) -> tuple[bytes, str]:
    """Applies the plan to the image read from `source`; returns the encoded bytes and MIME type."""
    with Image.open(source) as original:
        image = ImageOps.exif_transpose(original)
        source_format = (original.format or "").lower()
        for step in plan.steps:
            image = _step(image, step)
    kind = _output_format(plan.format, source_format, image.mode, accepts_webp)
    if kind == "jpeg" and image.mode not in JPEG_MODES:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options = {"quality": QUALITY[plan.quality]} if kind in ("jpeg", "webp") else {"optimize": True}
    if kind == "jpeg" and plan.progressive:
        options["progressive"] = True
    image.save(buffer, kind.upper(), **options)
    return buffer.getvalue(), f"image/{kind}"


def _output_format(requested: str, source: str, mode: str, accepts_webp: bool) -> str:
    if requested == "auto":
        return "webp" if accepts_webp else ("jpeg" if mode in JPEG_MODES else "png")
    if requested in ("jpeg", "png", "webp"):
        return requested
    if source in ("jpeg", "png", "webp"):
        return source
    return "jpeg" if mode in JPEG_MODES else "png"


def rendering_key(*, file, plan: Plan, kind: str) -> str:
    digest = hashlib.sha1(f"{plan.key()}|{kind}".encode()).hexdigest()[:20]
    return f"previews/{file.uuid}/ops-{digest}.{kind}"


def rendering_get_or_create(*, file, plan: Plan, accepts_webp: bool) -> tuple[str, str]:
    """The storage key and MIME type of `file` rendered by `plan`; renders it on first use.

    Kept next to the file's previews (deleted with the file), keyed by the normalised plan.
    Raises ValueError if the original cannot be decoded as an image.
    """
    from files.storage.backends import storage_for

    kind = output_kind(plan, file.image_info or {}, accepts_webp)
    key = rendering_key(file=file, plan=plan, kind=kind)
    render_to_storage(
        open_source=lambda: storage_for(file).open(file.storage_key, "rb"),
        key=key,
        plan=plan,
        accepts_webp=accepts_webp,
    )
    return key, f"image/{kind}"


def render_to_storage(*, open_source, key: str, plan: Plan, accepts_webp: bool) -> None:
    """Renders the image `open_source()` reads into the default storage under `key`, once.

    Raises UndecodableImage, or ValueError for a limit only the image's own size reveals.
    """
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    if default_storage.exists(key):
        return
    try:
        with open_source() as source:
            data, _ = render(source, plan, accepts_webp)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UndecodableImage("The file could not be decoded as an image.") from exc
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:  # rendered concurrently by another request: keep the first
        default_storage.delete(saved)


def _step(image, step: tuple):
    name = step[0]
    if name == "preview":
        copy = image.copy()
        copy.thumbnail((step[1], step[2]))
        return copy
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
            raise ValueError(f"resize: the result would be {width}x{height}; sides are capped at {limit} pixels.")
        return image.resize((width, height), Image.Resampling.LANCZOS)
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
