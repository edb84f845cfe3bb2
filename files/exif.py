"""EXIF stripping: the location, or all metadata, taken out of a stored original.

JPEG, PNG and WebP are edited at the container level, segment by segment and chunk by chunk,
so the pixels are never decoded and re-encoded (a JPEG saved again would lose quality). TIFF
keeps its metadata among the tags that describe the pixels, so it is written again by Pillow
(losslessly: the same compression for the uncompressed, LZW and Deflate files TIFF mostly holds).

- "location": the EXIF GPS directory is removed; so is the XMP packet, which repeats the
  location in its own words and is not parsed here. Everything else stays.
- "all": EXIF, XMP, IPTC/Photoshop and comments go. The ICC profile stays (without it colours
  change), and so does the orientation, kept as the one EXIF tag left, so the picture still
  shows the right way up without being rotated and re-encoded.
"""

import io
import struct
import zlib

from PIL import ExifTags, Image

MODES = ("location", "all")
STRIPPABLE = {"image/jpeg", "image/png", "image/webp", "image/tiff"}
EXIF_HEADER = b"Exif\x00\x00"
XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"


def strip_metadata(data: bytes, mime_type: str, mode: str) -> bytes | None:
    """`data` without the metadata `mode` names; None when there is nothing to take out, or the
    image cannot be edited (it is then kept as uploaded)."""
    if mode not in MODES or mime_type not in STRIPPABLE:
        return None
    strip = {"image/jpeg": _jpeg, "image/png": _png, "image/webp": _webp, "image/tiff": _tiff}[mime_type]
    try:
        stripped = strip(data, mode)
    except (ValueError, struct.error, OSError, SyntaxError, KeyError, IndexError):
        return None
    return stripped if stripped != data else None


def _exif_without_gps(raw: bytes) -> bytes | None:
    """The TIFF-structured EXIF block `raw` without its GPS directory; None when it had none."""
    exif = Image.Exif()
    exif.load(raw)
    if ExifTags.IFD.GPSInfo not in exif:
        return None
    exif.get_ifd(ExifTags.IFD.Exif)  # read now, so tobytes writes the sub-directory back
    del exif[ExifTags.IFD.GPSInfo]
    return exif.tobytes()


def _orientation_only(raw: bytes | None) -> bytes | None:
    """A minimal EXIF block holding only the orientation `raw` had (none when it had none or 1)."""
    if raw is None:
        return None
    exif = Image.Exif()
    exif.load(raw)
    orientation = exif.get(ExifTags.Base.Orientation)
    if orientation in (None, 1):
        return None
    kept = Image.Exif()
    kept[ExifTags.Base.Orientation] = orientation
    return kept.tobytes()


# --- JPEG: markers up to the start of the scan -----------------------------------------------


def _jpeg(data: bytes, mode: str) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, pos, exif_raw = [data[:2]], 2, None
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError("bad marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan (entropy-coded data follows) / end
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment, payload = data[pos : pos + 2 + length], data[pos + 4 : pos + 2 + length]
        pos += 2 + length
        if marker == 0xE1 and payload.startswith(EXIF_HEADER):
            exif_raw = payload[len(EXIF_HEADER) :]
            if mode == "location":
                cleaned = _exif_without_gps(exif_raw)
                if cleaned is not None:
                    segment = _jpeg_segment(0xE1, EXIF_HEADER + cleaned)
                out.append(segment)
            else:
                out.append(b"")  # a placeholder: the orientation goes where the EXIF was
            continue
        if marker == 0xE1 and payload.startswith((XMP_JPEG_HEADER, XMP_EXTENSION_HEADER)):
            continue  # XMP (and extended XMP): dropped in both modes
        if mode == "all" and (marker == 0xED or marker == 0xFE):  # Photoshop IRB (IPTC), comment
            continue
        out.append(segment)
    if mode == "all":
        minimal = _orientation_only(exif_raw)
        at = out.index(b"") if b"" in out else 1
        out[at:at] = [_jpeg_segment(0xE1, EXIF_HEADER + minimal)] if minimal else []
    return b"".join(out) + data[pos:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("segment too long")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


# --- PNG: chunks -------------------------------------------------------------------------------


def _png(data: bytes, mode: str) -> bytes:
    signature = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(signature):
        raise ValueError("not a PNG")
    out, pos = [signature], len(signature)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        chunk = data[pos : pos + 12 + length]
        pos += 12 + length
        if kind == b"eXIf":
            replaced = _exif_without_gps(body) if mode == "location" else _orientation_only(body)
            if mode == "location" and replaced is None:
                out.append(chunk)
            elif replaced:
                out.append(_png_chunk(kind, replaced))
            continue
        if kind in (b"iTXt", b"tEXt", b"zTXt") and (mode == "all" or body.startswith(XMP_PNG_KEYWORD + b"\x00")):
            continue
        out.append(chunk)
        if kind == b"IEND":
            break
    return b"".join(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# --- WebP: RIFF chunks, with the VP8X header's flags kept in step -------------------------------

WEBP_EXIF_FLAG, WEBP_XMP_FLAG = 0x08, 0x04


def _webp(data: bytes, mode: str) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks.append([kind, data[pos + 8 : pos + 8 + length]])
        pos += 8 + length + (length & 1)
    kept = []
    for kind, body in chunks:
        if kind == b"XMP ":
            continue
        if kind == b"EXIF":
            raw = body[len(EXIF_HEADER) :] if body.startswith(EXIF_HEADER) else body
            replaced = _exif_without_gps(raw) if mode == "location" else _orientation_only(raw)
            if mode == "location" and replaced is None:
                kept.append([kind, body])
            elif replaced:
                kept.append([kind, replaced])
            continue
        kept.append([kind, body])
    kinds = {kind for kind, _ in kept}
    for chunk in kept:
        if chunk[0] == b"VP8X":
            flags = chunk[1][0] & ~(WEBP_EXIF_FLAG | WEBP_XMP_FLAG)
            flags |= WEBP_EXIF_FLAG if b"EXIF" in kinds else 0
            chunk[1] = bytes([flags]) + chunk[1][1:]
    body = b"WEBP" + b"".join(
        kind + struct.pack("<I", len(chunk)) + chunk + (b"\x00" if len(chunk) & 1 else b"") for kind, chunk in kept
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- TIFF: written again by Pillow ---------------------------------------------------------------

# IPTC, Photoshop, XMP, Photoshop image source data, and the EXIF and GPS directories.
TIFF_METADATA_TAGS = (33723, 34377, 700, 37724, 34665, 34853)
# Descriptive tags of the first directory (Pillow writes back the tags it read): description,
# make, model, software, date, artist, host, copyright, PrintIM, the Windows XP tags, unique id.
TIFF_DESCRIPTIVE_TAGS = (270, 271, 272, 305, 306, 315, 316, 33432, 50341, 40091, 40092, 40093, 40094, 40095, 42016)


def _tiff(data: bytes, mode: str) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        gps = ExifTags.IFD.GPSInfo in exif
        if mode == "location" and not gps and 700 not in image.tag_v2 and 34853 not in image.tag_v2:
            return data
        compression = image.info.get("compression", "raw")
        if compression not in ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"):
            raise ValueError("lossy TIFF compression: kept as uploaded")
        for tag in (700, 34853) if mode == "location" else TIFF_METADATA_TAGS + TIFF_DESCRIPTIVE_TAGS:
            image.tag_v2.pop(tag, None)
        if mode == "location":
            exif.get_ifd(ExifTags.IFD.Exif)
            exif.pop(ExifTags.IFD.GPSInfo, None)
            kept = exif
        else:
            kept = Image.Exif()
            if exif.get(ExifTags.Base.Orientation) not in (None, 1):
                kept[ExifTags.Base.Orientation] = exif[ExifTags.Base.Orientation]
        out = io.BytesIO()
        options = {"compression": compression, "exif": kept}
        if image.info.get("icc_profile"):
            options["icc_profile"] = image.info["icc_profile"]
        if image.info.get("dpi"):
            options["dpi"] = image.info["dpi"]
        image.save(out, format="TIFF", save_all=True, **options)
    return out.getvalue()
