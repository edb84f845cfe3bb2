"""ClamAV's daemon, spoken to over its socket (the clamd protocol; `man clamd`).

`scan` streams a file with INSTREAM in chunks (nothing held whole in memory) and returns the
signature name when clamd finds one. FILEDOCK_CLAMD_ADDRESS is clamd's LocalSocket path (Debian's
default /var/run/clamav/clamd.ctl) or host:port for its TCPSocket.
"""

import socket
import struct
import time
from typing import BinaryIO

from django.conf import settings

CHUNK = 256 * 1024
TIMEOUT = 60.0
VERSION_SECONDS = 60
_version: tuple[float, str] | None = None


class ScannerUnavailable(Exception):
    """clamd cannot be reached (not installed, not running, still loading its signatures)."""


class ScanFailed(Exception):
    """clamd answered with an error for this file (e.g. larger than its StreamMaxLength)."""


def scan(stream: BinaryIO) -> str | None:
    """The signature clamd matched in `stream`, or None when it found nothing."""
    with _connect() as conn:
        try:
            conn.sendall(b"zINSTREAM\0")
            while chunk := stream.read(CHUNK):
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
            conn.sendall(struct.pack("!L", 0))
        except OSError:
            pass  # clamd stops reading at its StreamMaxLength and says so: read its answer
        answer = _answer(conn)
    # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    if answer.endswith(" FOUND"):
        return answer.removeprefix("stream: ").removesuffix(" FOUND")
    if answer.endswith("OK"):
        return None
    raise ScanFailed(answer)


def version() -> str:
    """clamd's version line, e.g. "ClamAV 1.4.6/27000/…", asked at most once a minute per process
    (it changes when clamd loads new signatures); raises ScannerUnavailable."""
    global _version
    now = time.monotonic()
    if _version is None or now - _version[0] > VERSION_SECONDS:
        with _connect() as conn:
            conn.sendall(b"zVERSION\0")
            _version = (now, _answer(conn))
    return _version[1]


def available() -> bool:
    try:
        with _connect() as conn:
            conn.sendall(b"zPING\0")
            return _answer(conn) == "PONG"
    except ScannerUnavailable:
        return False


def _connect() -> socket.socket:
    address = settings.FILEDOCK_CLAMD_ADDRESS
    try:
        if address.startswith("/"):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(TIMEOUT)
            conn.connect(address)
        else:
            host, _, port = address.rpartition(":")
            conn = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    except (OSError, ValueError) as exc:
        raise ScannerUnavailable(f"ClamAV's clamd is not reachable at {address}: {exc}") from None
    return conn


def _answer(conn: socket.socket) -> str:
    data = b""
    try:
        while not data.endswith(b"\0"):
            part = conn.recv(4096)
            if not part:
                break
            data += part
    except OSError as exc:
        raise ScannerUnavailable(f"clamd stopped answering: {exc}") from None
    if not data:
        raise ScannerUnavailable("clamd closed the connection without an answer")
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()
