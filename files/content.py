"""What a file is: its MIME type from its first bytes, and Pillow's (for SVG, librsvg's) reading of images."""

import mimetypes
import posixpath
import re
import unicodedata
from datetime import datetime

import puremagic
import pyvips
from django.conf import settings
from PIL import ExifTags, Image, UnidentifiedImageError

SNIFF_BYTES = 8192
SVG_MAX_BYTES = 10 * 1024 * 1024
# Pillow refuses images above this many pixels (decompression bombs) — they are stored as plain files.
Image.MAX_IMAGE_PIXELS = 100_000_000
# pyuploadcare accepts only these colour modes.
COLOR_MODES = {"RGB", "RGBA", "RGBa", "RGBX", "L", "LA", "La", "P", "PA", "CMYK", "YCbCr", "HSV", "LAB"}
TEXT_TYPES = {"text/plain", "text/csv", "text/markdown", "text/html", "application/json", "text/xml", "application/xml"}


def clean_filename(name: str) -> str:
    """The base name only, without control characters; never used as a storage path."""
    name = posixpath.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "file"
    return name[:255]


URL_UNSAFE = re.compile(r"[^\w.\-]+", flags=re.ASCII)


def url_filename(name: str) -> str:
    """A name safe in a URL path segment, as the CDN URL shows it."""
    return URL_UNSAFE.sub("", name.replace(" ", "_")) or "file"


def _signatures_by_offset() -> list[tuple[int, dict[bytes, list[bytes]]]]:
    """puremagic's header signatures grouped by offset, then by their first byte."""
    grouped: dict[int, dict[bytes, list[bytes]]] = {}
    for row in puremagic.magic_header_array:
        grouped.setdefault(row.offset, {}).setdefault(row.byte_match[:1], []).append(row.byte_match)
    return sorted(grouped.items())


# puremagic compares each of its ~1,450 signatures with the bytes in Python, whatever they hold:
# 0.6 ms of an upload's CPU, mostly to find that nothing matches (most uploads). Indexed by offset
# and first byte, the same comparisons take a few dozen dictionary lookups.
HEADER_SIGNATURES = _signatures_by_offset()
# (start, end, bytes) from the end: each ends at or before the last byte (an end of 0 is None).
FOOTER_SIGNATURES = [
    (row.offset, row.offset + len(row.byte_match) or None, row.byte_match) for row in puremagic.magic_footer_array
]


def has_signature(head: bytes) -> bool:
    """Whether any of puremagic's header or footer signatures is in `head`, compared as its own scan
    compares them. Its multi-part signatures only extend a match, so without one it finds nothing."""
    for offset, by_first_byte in HEADER_SIGNATURES:
        candidates = by_first_byte.get(head[offset : offset + 1])
        if candidates and any(head.startswith(signature, offset) for signature in candidates):
            return True
    return any(head[start:end] == signature for start, end, signature in FOOTER_SIGNATURES)


def signature_mime(head: bytes) -> str:
    """The MIME type puremagic's full scan ranks first for `head` ("" for none or unknown)."""
    if not head or not has_signature(head):
        return ""
    try:
        return puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return ""


def sniff_mime(head: bytes, filename: str, declared: str | None) -> str:
    """The MIME type from the content's signature; for text, the name's extension decides."""
    sniffed = signature_mime(head)
    if sniffed == "text/ascii":  # puremagic's name for plain text, not a registered type
        sniffed = ""
    if sniffed:
        return sniffed
    guessed = mimetypes.guess_type(filename)[0]
    if _looks_like_text(head):
        if guessed and (guessed.startswith("text/") or guessed in TEXT_TYPES):
            return guessed
        return "text/plain"
    if guessed and not guessed.startswith(("image/", "video/", "audio/")):
        # A name claiming a media type the bytes do not show is not believed.
        return guessed
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut at the sniff boundary
    return True


def image_info(fileobj) -> dict | None:
    """Pillow's reading of an image (None if it is not one), in the shape the clients parse."""
    try:
        with Image.open(fileobj) as image:
            if image.width * image.height > settings.FILEDOCK_CDN_MAX_PIXELS:
                return None  # a decompression bomb, or simply too large to transform: kept as a plain file
            info = {
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "color_mode": image.mode if image.mode in COLOR_MODES else None,
                "orientation": _orientation(image),
                "dpi": _dpi(image),
                "geo_location": _geo_location(image),
                "datetime_original": _datetime_original(image),
                "sequence": bool(getattr(image, "is_animated", False)),
            }
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        fileobj.seek(0)
        return _svg_info(fileobj)
    finally:
        fileobj.seek(0)
    return info


def _svg_info(fileobj) -> dict | None:
    """An SVG is an image too (the CDN rasterizes it): its size as librsvg reads it, at 72 dpi."""
    head = fileobj.read(SNIFF_BYTES)
    if b"<svg" not in head:
        return None
    data = head + fileobj.read(SVG_MAX_BYTES + 1 - len(head))
    if len(data) > SVG_MAX_BYTES:
        return None  # larger drawings are kept and served, just not treated as images
    try:
        header = pyvips.Image.svgload_buffer(data, access="sequential")
    except pyvips.Error:
        return None
    if header.width * header.height > settings.FILEDOCK_CDN_MAX_PIXELS:
        return None
    return {
        "format": "SVG",
        "width": header.width,
        "height": header.height,
        "color_mode": "RGBA",
        "orientation": None,
        "dpi": None,
        "geo_location": None,
        "datetime_original": None,
        "sequence": False,
    }


def _orientation(image) -> int | None:
    try:
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return None


def _datetime_original(image) -> str | None:
    """EXIF DateTimeOriginal as Uploadcare shows it ("2018-08-20T08:59:50", no time zone)."""
    try:
        value = image.getexif().get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
        parsed = datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if value else None
    except Exception:  # any malformed EXIF: the date is simply unknown
        return None
    return parsed.isoformat() if parsed else None


def _geo_location(image) -> dict | None:
    """EXIF GPS position as {latitude, longitude} in signed decimal degrees."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        if not gps.get(2) or not gps.get(4):
            return None
        latitude = _degrees(gps[2], gps.get(1), "S")
        longitude = _degrees(gps[4], gps.get(3), "W")
    except Exception:  # any malformed EXIF: the position is simply unknown
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return {"latitude": latitude, "longitude": longitude}


def _degrees(value, ref, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    sign = -1 if str(ref or "").strip("\x00 ").upper() == negative else 1
    return sign * (degrees + minutes / 60 + seconds / 3600)


def _dpi(image) -> list[int] | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    try:
        return [round(float(dpi[0])), round(float(dpi[1]))]
    except (TypeError, ValueError, IndexError):
        return None
