"""MIME sniffing: the indexed signature check finds what puremagic's own full scan finds."""

import gzip
import io
import json
import random
import wave
import zipfile

import puremagic
import pytest
from PIL import Image

from files.content import SNIFF_BYTES, has_signature, signature_mime, sniff_mime


def full_scan(head: bytes) -> str:
    """What sniffing answered before the index: puremagic's scan of every signature."""
    try:
        return puremagic.from_string(head, mime=True) if head else ""
    except (puremagic.PureError, ValueError):
        return ""


def full_scan_finds_any(head: bytes) -> bool:
    try:
        return bool(puremagic.magic_string(head))
    except (puremagic.PureError, ValueError):
        return False


def image(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (24, 16), (10, 200, 30, 255)[: len(mode)]).save(out, fmt)
    return out.getvalue()


def zipped() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x01" * 800)
    return out.getvalue()


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'
# The formats the test suite uploads (Pillow's images, SVG, PDF, video and audio containers, archives,
# text), with the type puremagic's scan ranks first for each (its names, and its guesses: any
# zip is a .docx to it), which is what uploads have always been given.
SAMPLES = {
    "png": (image("PNG"), "image/png"),
    "jpeg": (image("JPEG"), "image/jpeg"),
    "gif": (image("GIF", "P"), "image/gif"),
    "webp": (image("WEBP"), "image/webp"),
    "tiff": (image("TIFF"), "image/tiff"),
    "bmp": (image("BMP"), "image/x-ms-bmp"),
    "ico": (image("ICO"), "image/x-icon"),
    "svg": (SVG, "image/svg+xml"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n", "application/pdf"),
    "mp4": (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(64), "video/mp4"),
    "webm": (bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d") + bytes(64), "video/webm"),
    "ogg": (b"OggS\x00\x02" + bytes(58), "application/ogg"),
    "wav": (wav(), "audio/wave"),
    "mp3": (b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64), ""),  # puremagic names no type for a bare ID3 tag
    "zip": (zipped(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "gzip": (gzip.compress(b"x" * 100), "application/x-gzip"),
    "json": (json.dumps({"a": [1, 2]}).encode(), "application/json"),
    "text": (b"just words", ""),
    "utf-8 text": ("plain words, naïve café".encode(), ""),
    "random": (random.Random(4).randbytes(10_000), ""),
    "zeros": (bytes(10_000), ""),
    "empty": (b"", ""),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_known_format_is_sniffed_as_the_full_scan_sniffs_it(name):
    data, expected = SAMPLES[name]
    head = data[:SNIFF_BYTES]
    assert signature_mime(head) == full_scan(head)
    assert signature_mime(head) == expected


def _filler(length: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(length)


HEADER_ROWS = list(enumerate(puremagic.magic_header_array))
FOOTER_ROWS = list(enumerate(puremagic.magic_footer_array))
MULTI_PART_ROWS = [
    (base, row) for base, rows in sorted(puremagic.multi_part_dict.items()) for row in rows if row.offset >= 0
]


def test_every_header_signature_is_found_where_the_full_scan_finds_it():
    for index, row in HEADER_ROWS:
        end = row.offset + len(row.byte_match)
        data = bytearray(_filler(end + 32, index))
        data[row.offset : end] = row.byte_match
        assert has_signature(bytes(data)), row
        assert full_scan_finds_any(bytes(data)), row
        assert signature_mime(bytes(data)) == full_scan(bytes(data)), row
        # Cut one byte short, it is not there (another signature may still be).
        short = bytes(data[: end - 1])
        assert has_signature(short) == full_scan_finds_any(short), row


def test_every_footer_signature_is_found_where_the_full_scan_finds_it():
    for index, row in FOOTER_ROWS:
        for length in (4096, len(row.byte_match) + abs(row.offset)):
            data = bytearray(_filler(length, index))
            start = len(data) + row.offset
            data[start : start + len(row.byte_match)] = row.byte_match
            assert has_signature(bytes(data)), row
            assert signature_mime(bytes(data)) == full_scan(bytes(data)), row


def test_multi_part_signatures_rank_as_the_full_scan_ranks_them():
    for index, (base, row) in enumerate(MULTI_PART_ROWS):
        end = max(len(base), row.offset + len(row.byte_match))
        data = bytearray(_filler(end + 32, index))
        data[: len(base)] = base
        data[row.offset : row.offset + len(row.byte_match)] = row.byte_match
        assert signature_mime(bytes(data)) == full_scan(bytes(data)), (base, row)


def test_random_bytes_match_no_signature_exactly_when_the_full_scan_finds_none():
    generator = random.Random(22)
    for length in (1, 2, 7, 100, SNIFF_BYTES):
        for _ in range(300):
            head = generator.randbytes(length)
            assert has_signature(head) == full_scan_finds_any(head), head[:16]
            assert signature_mime(head) == full_scan(head)


def test_a_random_upload_is_octet_stream_and_text_follows_its_name():
    assert sniff_mime(_filler(SNIFF_BYTES, 1), "small.bin", None) == "application/octet-stream"
    assert sniff_mime(b"a,b\n1,2\n", "table.csv", None) == "text/csv"
    assert sniff_mime(b"just words", "notes", None) == "text/plain"
