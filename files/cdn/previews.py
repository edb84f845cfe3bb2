"""Image previews for the CDN (`-/preview/WxH/`): rendered once with Pillow, then kept in storage.

The original is read from wherever it lives; previews are a cache and always go to the default storage.
"""

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

import files.content  # noqa: F401  (sets Image.MAX_IMAGE_PIXELS before any image is decoded)
from files.models import File
from files.storage.backends import storage_for

PREVIEW_MAX = 2048
SIZE = re.compile(r"^(\d{1,5})?x(\d{1,5})?$")
# EXIF orientations that turn the image a quarter: width and height swap once it is upright.
QUARTER_TURNS = {5, 6, 7, 8}
# Modes JPEG can hold without losing anything the eye sees; anything else (alpha, palettes,
# 1-bit, 16-bit) becomes a PNG.
JPEG_MODES = {"RGB", "L", "CMYK", "YCbCr"}
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class PreviewError(Exception):
    """The original could not be read or decoded as an image."""


@dataclass(frozen=True)
class Preview:
    key: str
    width: int
    height: int
    ext: str

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.ext == "jpg" else "image/png"


def parse_size(value: str | None) -> tuple[int, int]:
    """The box of `-/preview/{value}/`: `WxH`, `Wx` or `xH`, a missing side (or no value) meaning
    the cap; sides above the cap are capped. Raises ValueError with a message for anything else."""
    if value is None:
        return PREVIEW_MAX, PREVIEW_MAX
    match = SIZE.match(value)
    if not match or match.groups() == (None, None):
        raise ValueError(f"Invalid preview size {value!r}: expected WxH, e.g. 800x600.")
    width, height = (int(side) if side is not None else PREVIEW_MAX for side in match.groups())
    if width < 1 or height < 1:
        raise ValueError(f"Invalid preview size {value!r}: width and height must be at least 1.")
    return min(width, PREVIEW_MAX), min(height, PREVIEW_MAX)


def preview_plan(*, file: File, width: int, height: int) -> Preview:
    """The preview of `file` fitted in width x height, worked out from image_info without decoding.

    Keyed by the output size, not the requested box, so every box that gives the same picture
    shares one stored object and an image can never have more variants than its longest side.
    """
    info = file.image_info or {}
    source_w, source_h = max(1, int(info.get("width") or 1)), max(1, int(info.get("height") or 1))
    if info.get("orientation") in QUARTER_TURNS:
        source_w, source_h = source_h, source_w
    scale = min(width / source_w, height / source_h, 1.0)  # fit within the box, never enlarge
    out_w, out_h = max(1, round(source_w * scale)), max(1, round(source_h * scale))
    ext = "jpg" if info.get("color_mode") in JPEG_MODES else "png"
    return Preview(key=f"previews/{file.uuid}/{out_w}x{out_h}.{ext}", width=out_w, height=out_h, ext=ext)


def preview_get_or_create(*, file: File, width: int, height: int) -> str:
    """The storage key of `file`'s preview within width x height; renders and saves it on first use.

    Raises PreviewError if the original is not a readable image.
    """
    plan = preview_plan(file=file, width=width, height=height)
    if default_storage.exists(plan.key):
        return plan.key
    data = _render(file, plan)
    saved = default_storage.save(plan.key, ContentFile(data))
    if saved != plan.key:
        # Another request rendered the same preview first and the storage picked a fresh name
        # for ours; keep theirs (same pixels) and drop the duplicate.
        default_storage.delete(saved)
    return plan.key


def preview_filename(original: str, ext: str) -> str:
    return f"{PurePosixPath(original).stem or 'preview'}.{ext}"


def _render(file: File, plan: Preview) -> bytes:
    quarter_turn = (file.image_info or {}).get("orientation") in QUARTER_TURNS
    # The box in the stored (not yet upright) orientation, so JPEG draft mode can decode at a
    # reduced scale: a 24-megapixel photo is never decoded in full for a thumbnail.
    box = (plan.height, plan.width) if quarter_turn else (plan.width, plan.height)
    try:
        with storage_for(file).open(file.storage_key, "rb") as source, Image.open(source) as image:
            image.draft(None, (box[0] * 2, box[1] * 2))
            upright = ImageOps.exif_transpose(image)
            if plan.ext == "jpg":
                upright = upright if upright.mode in ("RGB", "L") else upright.convert("RGB")
            elif upright.mode not in ("RGB", "RGBA", "L", "LA"):
                upright = upright.convert("RGBA")
            if upright.size != (plan.width, plan.height):
                upright = upright.resize((plan.width, plan.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            if plan.ext == "jpg":
                upright.save(out, "JPEG", quality=85, optimize=True)
            else:
                upright.save(out, "PNG")
    except DECODE_ERRORS as exc:
        raise PreviewError(str(file.uuid)) from exc
    return out.getvalue()
