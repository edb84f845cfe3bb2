"""The one image pipeline of the CDN, the proxy and local_copy: plan, load, render once, keep.

`{uuid}/-/preview/200x200/` and `{uuid}/-/resize/200x/-/format/webp/` are both a Plan
(files.cdn.operations parses the URL API into one). What a plan gives (format, name, ETag suffix)
is known from the source's image_info before anything is decoded; the rendering is made with
libvips on first use and kept in the default storage (it is a cache): in the file's
`previews/{uuid}/` folder, deleted with the file, or next to a proxied copy's version, so a
replaced copy is never shown with an old rendering.

Bounded by construction: only the loaders of web image formats are used; an image above
FILEDOCK_CDN_MAX_PIXELS is refused before its pixels are decoded (a decompression bomb is a 400);
a first step that shrinks is done while decoding (JPEG and WebP shrink-on-load), so a thumbnail of a
large photo never holds the photo; at most FILEDOCK_CDN_RENDERS_PER_PROCESS renders run at once in
a process and a request waits FILEDOCK_CDN_RENDER_WAIT seconds for a turn, then gets a 503.

Names: the preview URL's rendering by the size it gives (`100x50.jpg`), so every box that gives
the same picture shares one object; any other chain by a digest of its normalised form and format
(`ops-{digest}.webp`), so equivalent URLs share one rendering.
"""

import contextlib
import ctypes
import hashlib
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import pyvips
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from files.cdn import cache, faces, pixels
from files.cdn.operations import QUALITY, Plan, parse, parse_preview
from files.cdn.pixels import LimitExceeded
from files.models import File, ProxiedFile, Rendering
from files.storage.backends import storage_for

__all__ = ["LimitExceeded", "Output", "Plan", "UndecodableImage", "parse", "parse_preview", "render"]

pyvips.cache_set_max(0)  # libvips' operation cache would keep decoded images alive between requests
# Threads per render: web processes already run one per core, so more only adds switching (one
# thread measured 20 % less CPU per resize than two on two cores).
pyvips.concurrency_set(settings.FILEDOCK_CDN_RENDER_THREADS)
logging.getLogger("pyvips").setLevel(logging.WARNING)  # libvips narrates every operation at INFO

# Colour modes JPEG holds without losing anything the eye sees; anything else (alpha, palettes,
# 1-bit, 16-bit) becomes a PNG when the URL does not name a format.
JPEG_MODES = {"RGB", "L", "CMYK", "YCbCr"}
QUARTER_TURNS = {5, 6, 7, 8}  # EXIF orientations that swap width and height once upright
# libvips loaders a URL may reach: the web's image formats. Everything else libvips can read
# (matrices, CSV, its own format…) is never tried; Pillow reads the rest of what uploads call images.
LOADERS = ("Jpeg", "Png", "Webp", "Gif", "Tiff", "Heif", "Svg")
SPOOL_CHUNK = 1024 * 1024
# Steps that read the picture out of order or twice (see _needs_rows_again), and how large a
# picture held for them may be in memory before it goes to a scratch file instead.
RANDOM_ACCESS = {"rotate", "flip", "smart_resize", "zoom_objects", "enhance", "blur_region", "overlay"}
HOLD_IN_MEMORY = 48 * 1024 * 1024
OPTIMIZE_UP_TO = 1_000_000  # pixels: JPEGs up to this size get optimised Huffman tables
AVIF_AUTO_PIXELS = 2_000_000  # -/format/auto/ gives AVIF up to this size (encoding it costs more)

_turns = threading.BoundedSemaphore(settings.FILEDOCK_CDN_RENDERS_PER_PROCESS)
_LIBC = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None


class UndecodableImage(Exception):
    """The stored file is not an image the pipeline can read."""


class Busy(Exception):
    """Every render slot of this process stayed taken for FILEDOCK_CDN_RENDER_WAIT seconds."""


@dataclass(frozen=True)
class Output:
    """What a plan gives for one source: its format, and the tag that names it in storage and ETags."""

    kind: str  # jpeg, png, webp, avif, or json for the answers about an image
    tag: str  # the size it gives (`100x50`) for the preview URL, else a digest of the plan
    by_size: bool = False

    @property
    def mime_type(self) -> str:
        special = {"json": "application/json", "mp4": "video/mp4", "webm": "video/webm"}
        return special.get(self.kind, f"image/{self.kind}")

    @property
    def ext(self) -> str:
        return "jpg" if self.kind == "jpeg" else self.kind

    @property
    def name(self) -> str:
        """The file name it is kept under, beside the source's other renderings."""
        return f"{self.tag}.{self.ext}" if self.by_size else f"ops-{self.tag}.{self.kind}"


# Planning: what a plan gives, from image_info alone


def output_of(plan: Plan, image_info: dict, accepts: str) -> Output:
    """What `plan` gives for the image `image_info` describes, worked out without decoding it."""
    kind = "json" if plan.answer else _kind(plan, image_info, accepts)
    if plan.named_by_size:
        width, height = upright_size(image_info, plan.autorotate)
        width, height = pixels.fit((width, height), plan.steps[0][1:])
        return Output(kind=kind, tag=f"{width}x{height}", by_size=True)
    return Output(kind=kind, tag=hashlib.sha1(f"{plan.key()}|{plan.answer}|{kind}".encode()).hexdigest()[:20])


def upright_size(image_info: dict, autorotate: bool = True) -> tuple[int, int]:
    width, height = (max(1, int(image_info.get(side) or 1)) for side in ("width", "height"))
    turned = autorotate and image_info.get("orientation") in QUARTER_TURNS
    return (height, width) if turned else (width, height)


def accepted(accept_header: str) -> str:
    """The most compact format a client's Accept names: avif, webp, or "" for neither."""
    return next((kind for kind in ("avif", "webp") if f"image/{kind}" in accept_header), "")


def _kind(plan: Plan, image_info: dict, accepts: str) -> str:
    """jpeg, png, webp or avif, from the URL's format and the source's format and colour mode;
    `-/format/auto/` gives what the client accepts (`accepted`), AVIF only up to AVIF_AUTO_PIXELS."""
    names = {step[0] for step in plan.steps}
    mode = "L" if "grayscale" in names else image_info.get("color_mode")
    if "border_radius" in names and not plan.fill:
        mode = "RGBA"  # rounded corners are transparent unless a fill colour is set
    source = (image_info.get("format") or "").lower()
    if plan.format in ("jpeg", "png", "webp", "avif"):
        return plan.format
    if plan.format == "auto" and accepts:
        size = planned_size(plan, image_info)
        small = size is not None and size[0] * size[1] <= AVIF_AUTO_PIXELS
        return "avif" if accepts == "avif" and small else "webp"
    if plan.format == "preserve" and source in ("jpeg", "png", "webp") and not (source == "jpeg" and mode == "RGBA"):
        return source
    return "jpeg" if mode in JPEG_MODES else "png"


def planned_size(plan: Plan, image_info: dict) -> tuple[int, int] | None:
    """The size the plan's steps give, worked out from image_info; None where only the pixels can
    tell (a crop around a face)."""
    width, height = upright_size(image_info, plan.autorotate)
    for step in plan.steps:
        name = step[0]
        if name == "preview":
            width, height = pixels.fit((width, height), step[1:3])
        elif name == "resize":
            target = pixels.resize_target(step[1], step[2], (width, height))
            if step[3] == "on" or (target[0] <= width and target[1] <= height) or step[3] == "fill":
                width, height = target
        elif name in ("scale_crop", "smart_resize"):
            width, height = step[1], step[2]
        elif name == "crop" and step[1] == "box":
            width, height = pixels.box_size(step[2:4], width, height)
        elif name == "crop" and step[1] == "ratio":
            width, height = pixels.largest_with_ratio(width, height, step[2])
        elif name == "crop":
            return None
        elif name == "rotate" and step[1] in (90, 270):
            width, height = height, width
    return width, height


def rendering_filename(original: str, output: Output) -> str:
    """The download name of a rendering: the original's stem with the output's extension."""
    return f"{PurePosixPath(original).stem or 'preview'}.{output.ext}"


def rendering_key(source: File | ProxiedFile, output: Output) -> str:
    """Where the rendering of `source` is kept in the default storage."""
    if isinstance(source, ProxiedFile):
        return f"{source.storage_key}-{output.name}"
    return f"previews/{source.uuid}/{output.name}"


# Rendering, kept


def rendering_get_or_create(
    *,
    source: File | ProxiedFile,
    plan: Plan,
    accepts: str,
    layers: Callable | None = None,
    admit: Callable[[], None] | None = None,
) -> str:
    """The storage key of `source` rendered by `plan`; renders and saves it on first use.

    `layers(uuid)` opens another file an overlay names (None when it may not be used); `admit()`
    is called before a render (a cache miss) and may raise core.ratelimit.Throttled. Raises
    UndecodableImage, LimitExceeded (answered with a 400), ValueError for a plan the image cannot
    take (a 400), or Busy.
    """
    info = {"id": str(getattr(source, "uuid", "")) or None, **(source.image_info or {})}

    def make() -> bytes:
        if plan.answer == ("json",) and not plan.steps:
            return _json(info, upright_size(info, plan.autorotate))  # nothing to decode
        storage = default_storage if isinstance(source, ProxiedFile) else storage_for(source)
        with storage.open(source.storage_key, "rb") as original:
            return render(original, plan, accepts, layers=layers, info=info)[0]

    return kept(rendering_key(source, output_of(plan, info, accepts)), make, source, admit)


def kept(
    key: str, make: Callable[[], bytes], source: File | ProxiedFile, admit: Callable[[], None] | None = None
) -> str:
    """`key` in the default storage, made by `make()` on first use: the cache of every rendering,
    counted toward the project's cache budget (files.cdn.cache). `admit()`, when given, is asked
    first on a miss (rate limits count misses, not hits)."""
    if default_storage.exists(key):
        cache.touched(Rendering, storage_key=key)
        return key
    if admit is not None:
        admit()
    data = make()
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:
        # Another request rendered it first and the storage picked a fresh name for ours; keep
        # theirs (same pixels) and drop the duplicate.
        default_storage.delete(saved)
    owner = {"proxied_id": source.pk} if isinstance(source, ProxiedFile) else {"file_id": source.pk}
    cache.rendering_kept(key=key, size=len(data), project_id=source.project_id, **owner)
    return key


@contextlib.contextmanager
def turn():
    """One of this process's render slots, for as long as the block runs; Busy if none frees up.
    Afterwards the memory the render freed goes back to the system (see _give_back_memory)."""
    if not _turns.acquire(timeout=settings.FILEDOCK_CDN_RENDER_WAIT):
        raise Busy("Every image renderer of this process is busy; try again in a moment.")
    try:
        yield
    finally:
        _turns.release()
        _give_back_memory()


def _give_back_memory() -> None:
    """glibc keeps freed pixel buffers in its heaps, so a process that once rendered a few large
    images stays that large: 200 abusive chains took one from 110 to 382 MiB, and to 113 MiB with
    malloc_trim after each render (it costs well under a millisecond when there is little to trim)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def render(
    source, plan: Plan, accepts: str = "", *, layers: Callable | None = None, info: dict | None = None
) -> tuple[bytes, str]:
    """Applies the plan to the image read from `source` (a path, bytes or a binary file); returns
    the encoded bytes and their MIME type."""
    scratch_folder = tempfile.TemporaryDirectory(prefix="filedock-held-")
    with turn(), readable_copy(source) as readable, scratch_folder as scratch:
        try:
            image, described, held = _load(readable, plan, scratch)
            image = _working(image, plan)
            for step in plan.steps:
                if not held and _needs_rows_again(step):
                    image, held = _held(image, scratch), True
                image = _step(image, step, plan, layers)
            if plan.answer:
                return _answer(image, plan, {**described, **(info or {})}), "application/json"
            kind = _kind(plan, described, accepts)
            return _encode(image, plan, kind), f"image/{kind}"
        except (pyvips.Error, OSError, SyntaxError, Image.DecompressionBombError) as exc:
            raise UndecodableImage("The file could not be decoded as an image.") from exc


@contextlib.contextmanager
def readable_copy(source):
    """A path on local disk or the bytes: a stored file that is not on disk (S3) is spooled to a
    temporary file, never held in memory."""
    if isinstance(source, (bytes, str)):
        yield source
        return
    name = getattr(source, "name", None)
    if isinstance(name, str) and os.path.isabs(name) and os.path.isfile(name):
        yield name
        return
    if isinstance(source, io.BytesIO):
        yield source.getvalue()
        return
    with tempfile.NamedTemporaryFile(prefix="filedock-render-") as spool:
        shutil.copyfileobj(source, spool, SPOOL_CHUNK)
        spool.flush()
        yield spool.name


# Loading


def _load(readable, plan: Plan, scratch: str) -> tuple[pyvips.Image, dict, bool]:
    """The upright image, shrunk while decoding when the plan starts by shrinking; what its header
    says (format, size, mode, orientation) for planning the output; and whether it is held (may be
    read out of order) or still streams from the decoder."""
    loader = _loader(readable)
    if loader is None:
        return (*_load_with_pillow(readable, plan), True)
    header = _open(readable, access="sequential")
    _check_pixels(header.width, header.height)
    described = {
        "format": loader.upper(),
        "color_mode": _mode(header),
        "width": header.width,
        "height": header.height,
        "orientation": header.get("orientation") if "orientation" in header.get_fields() else None,
    }
    upright = upright_size(described, plan.autorotate)
    target = _shrink_target(plan.steps[0], upright) if plan.steps else None
    if target is not None:
        options = {"height": target[1], "size": "force", "no_rotate": not plan.autorotate}
        if isinstance(readable, bytes):
            image = pyvips.Image.thumbnail_buffer(readable, target[0], **options)
        else:
            image = pyvips.Image.thumbnail(readable, target[0], **options)
        return image.copy_memory(), described, True
    image = _open(readable, access="sequential")
    if plan.autorotate and (described["orientation"] or 1) != 1:
        return _held(image, scratch).autorot(), described, True  # turning reads the rows out of order
    return image, described, False


def _needs_rows_again(step: tuple) -> bool:
    """Whether a step reads the picture other than once from top to bottom."""
    name = step[0]
    if name == "scale_crop":
        return step[3] != "center"
    if name == "crop":
        return step[1] in ("face", "image")
    return name in RANDOM_ACCESS


def _held(image: pyvips.Image, scratch: str) -> pyvips.Image:
    """The picture so far, computed once and held for steps that read it out of order: in memory,
    or in a scratch file when it is large (the decoder itself only ever streams)."""
    if image.width * image.height * image.bands <= HOLD_IN_MEMORY:
        return image.copy_memory()
    path = os.path.join(scratch, f"held-{id(image)}.v")
    image.write_to_file(path)
    return pyvips.Image.new_from_file(path, access="random")


def _loader(readable) -> str | None:
    if isinstance(readable, bytes):
        found = pyvips.vips_lib.vips_foreign_find_load_buffer(readable, len(readable))
    else:
        found = pyvips.vips_lib.vips_foreign_find_load(readable.encode())
    if found == pyvips.ffi.NULL:
        pyvips.vips_lib.vips_error_clear()
        return None
    name = pyvips.ffi.string(found).decode()  # e.g. VipsForeignLoadJpegFile
    return next((kind for kind in LOADERS if name.startswith(f"VipsForeignLoad{kind}")), None)


def _open(readable, access: str) -> pyvips.Image:
    if isinstance(readable, bytes):
        return pyvips.Image.new_from_buffer(readable, "", access=access)
    return pyvips.Image.new_from_file(readable, access=access)


def _check_pixels(width: int, height: int) -> None:
    limit = settings.FILEDOCK_CDN_MAX_PIXELS
    if width * height > limit:
        raise LimitExceeded(
            f"The image is {width}x{height} ({width * height / 1e6:.0f} megapixels); the CDN transforms "
            f"images of up to {limit / 1e6:.0f} megapixels. The original is served without operations."
        )


def _load_with_pillow(readable, plan: Plan) -> tuple[pyvips.Image, dict]:
    """BMP, ICO, PCX, TGA and the like: decoded by Pillow, then the same pipeline."""
    with Image.open(io.BytesIO(readable) if isinstance(readable, bytes) else readable) as original:
        _check_pixels(*original.size)
        described = {"format": original.format, "color_mode": original.mode}
        image = ImageOps.exif_transpose(original) if plan.autorotate else original
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        data = np.asarray(image)
    height, width, bands = data.shape
    return pyvips.Image.new_from_memory(data.tobytes(), width, height, bands, "uchar"), described


def _mode(image: pyvips.Image) -> str:
    """The Pillow-style colour mode the rest of the product speaks (image_info's color_mode)."""
    if image.interpretation == "cmyk":
        return "CMYK"
    grey = image.bands - int(image.hasalpha()) < 3
    return ("LA" if grey else "RGBA") if image.hasalpha() else ("L" if grey else "RGB")


def _shrink_target(step: tuple, upright: tuple[int, int]) -> tuple[int, int] | None:
    """The size to decode at when the first step makes the image smaller (None when it does not)."""
    width, height = upright
    name = step[0]
    if name == "preview":
        target = pixels.fit(upright, step[1:3])
    elif name == "resize":
        target = pixels.resize_target(step[1], step[2], upright)
    elif name in ("scale_crop", "smart_resize"):
        scale = max(step[1] / width, step[2] / height)
        target = (max(step[1], math.ceil(width * scale)), max(step[2], math.ceil(height * scale)))
    else:
        return None
    if target[0] >= width or target[1] >= height:
        return None
    return target


def _working(image: pyvips.Image, plan: Plan) -> pyvips.Image:
    """8-bit sRGB or greyscale, with alpha if it has one; an embedded profile converted (icc),
    ignored (fast) or kept (keep_profile, when no larger than max_icc_size KB)."""
    fields = image.get_fields()
    profile = image.get("icc-profile-data") if "icc-profile-data" in fields else None
    keep = plan.srgb == "keep_profile" and profile is not None and len(profile) <= plan.max_icc_size * 1024
    if image.interpretation == "cmyk" or (profile is not None and plan.srgb != "fast" and not keep):
        try:
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
        except pyvips.Error:
            image = image.colourspace("srgb")
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        grey = image.bands - int(image.hasalpha()) < 3
        image = image.colourspace("b-w" if grey else "srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    if not keep and "icc-profile-data" in image.get_fields():
        image = image.copy()
        image.remove("icc-profile-data")
    return image


# Steps


def _step(image: pyvips.Image, step: tuple, plan: Plan, layers: Callable | None) -> pyvips.Image:
    name, args = step[0], step[1:]
    if name == "preview":
        return pixels.preview(image, *args)
    if name == "resize":
        return pixels.resize(image, *args, fill=plan.fill)
    if name == "scale_crop":
        return pixels.scale_crop(image, *args, fill=plan.fill)
    if name == "crop":
        return pixels.crop(image, *args, fill=plan.fill)
    if name == "overlay":
        return pixels.overlay(image, _layer(image, args[0], layers), *args[1:])
    simple = {
        "smart_resize": pixels.smart_resize,
        "zoom_objects": pixels.zoom_objects,
        "border_radius": pixels.border_radius,
        "rotate": pixels.rotate,
        "flip": lambda im: im.flipver(),
        "mirror": lambda im: im.fliphor(),
        "grayscale": pixels.grayscale,
        "invert": pixels.invert,
        "enhance": pixels.enhance,
        "brightness": pixels.brightness,
        "exposure": pixels.exposure,
        "gamma": pixels.gamma,
        "contrast": pixels.contrast,
        "saturation": pixels.saturation,
        "vibrance": pixels.vibrance,
        "warmth": pixels.warmth,
        "filter": pixels.filter_,
        "blur": pixels.blur,
        "blur_region": pixels.blur_region,
        "sharp": pixels.sharp,
        "rect": pixels.rect,
        "text": pixels.text,
    }
    image = simple[name](image, *args)
    return image if image.format == "uchar" else image.cast("uchar")


def _layer(image: pyvips.Image, uuid: str, layers: Callable | None) -> pyvips.Image:
    """The overlay's image: the image itself, or another file of the same project, decoded no larger
    than the image it goes on."""
    if uuid == "self":
        return image
    opened = layers(uuid) if layers else None
    if opened is None:
        raise ValueError(f"overlay: {uuid} is not an image of this project.")
    with opened as original, readable_copy(original) as readable:
        if _loader(readable) is None:
            raise ValueError(f"overlay: {uuid} is not an image the CDN can overlay.")
        header = _open(readable, access="sequential")
        _check_pixels(header.width, header.height)
        thumbnail = pyvips.Image.thumbnail_buffer if isinstance(readable, bytes) else pyvips.Image.thumbnail
        layer = thumbnail(readable, image.width, height=image.height, size="down").copy_memory()
    return _working(layer, Plan())


# Answers: JSON about the image


def _answer(image: pyvips.Image, plan: Plan, info: dict) -> bytes:
    kind = plan.answer[0]
    if kind == "json":
        return _json(info, (image.width, image.height))
    if kind == "detect_faces":
        return json.dumps({**_info_fields(info, (image.width, image.height)), "faces": faces.detect(image)}).encode()
    colours = main_colors(image, plan.answer[1])
    return json.dumps(
        {"width": image.width, "height": image.height, "main_colors": colours, "original": _info_fields(info, None)}
    ).encode()


def _json(info: dict, size: tuple[int, int]) -> bytes:
    return json.dumps(_info_fields(info, size)).encode()


def _info_fields(info: dict, size: tuple[int, int] | None) -> dict:
    """Uploadcare's image info shape; the size is the processed (and upright) one when given."""
    fields = {
        "id": info.get("id"),
        "dpi": info.get("dpi"),
        "width": info.get("width"),
        "height": info.get("height"),
        "format": info.get("format"),
        "sequence": bool(info.get("sequence")),
        "color_mode": info.get("color_mode"),
        "orientation": info.get("orientation"),
        "geo_location": info.get("geo_location"),
        "datetime_original": info.get("datetime_original"),
    }
    if size is not None:
        fields["width"], fields["height"] = size
    return fields


def main_colors(image: pyvips.Image, count: int) -> list[list[int]]:
    """The image's `count` main colours, most common first: k-means on a 64 px copy, started from
    the colours farthest apart, so the same image always answers the same."""
    small = pixels.colour(pixels.split(image)[0]).thumbnail_image(64)
    data = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8, shape=(small.height * small.width, small.bands))
    points = data[:, :3].astype(np.float64)
    count = min(count, len(np.unique(points, axis=0)))
    centres = points[[0]]
    while len(centres) < count:
        distance = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        centres = np.vstack([centres, points[distance.argmax()]])
    for _ in range(12):
        nearest = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for index in range(count):
            members = points[nearest == index]
            if len(members):
                centres[index] = members.mean(axis=0)
    sizes = np.bincount(nearest, minlength=count)
    return [[round(float(v)) for v in centres[index]] for index in np.argsort(-sizes)]


# Encoding


def _encode(image: pyvips.Image, plan: Plan, kind: str) -> bytes:
    if kind == "jpeg" and image.hasalpha():
        image = image.flatten(background=pixels.rgba(plan.fill or pixels.WHITE)[: image.bands - 1]).cast("uchar")
    image, keep = _metadata(image, plan)
    quality = QUALITY[plan.quality]
    if kind == "jpeg":
        # Optimised Huffman tables save ~5 % but triple the encoding time of a large picture.
        optimize = image.width * image.height <= OPTIMIZE_UP_TO
        return image.jpegsave_buffer(Q=quality, interlace=plan.progressive, optimize_coding=optimize, keep=keep)
    if kind == "png":
        return image.pngsave_buffer(compression=6, keep=keep)
    if kind == "webp":
        return image.webpsave_buffer(Q=quality, effort=2, keep=keep)  # 6 % larger than 3, twice as fast
    return image.heifsave_buffer(Q=quality, compression="av1", effort=2, keep=keep)


def _metadata(image: pyvips.Image, plan: Plan) -> tuple[pyvips.Image, int]:
    """strip_meta: all drops everything (the default); none keeps EXIF (orientation already applied);
    sensitive keeps EXIF without the GPS fields. An ICC profile is kept only with keep_profile."""
    keep = pyvips.enums.ForeignKeep.NONE
    if plan.srgb == "keep_profile":
        keep |= pyvips.enums.ForeignKeep.ICC
    if plan.strip_meta == "all":
        return image, keep
    image = image.copy()
    if plan.strip_meta == "sensitive":
        for name in image.get_fields():
            if name.startswith("exif-ifd3-"):  # IFD 3 is GPS
                image.remove(name)
    if "orientation" in image.get_fields():
        image.set_type(pyvips.GValue.gint_type, "orientation", 1)
    return image, keep | pyvips.enums.ForeignKeep.EXIF
