"""Multipart part bodies the edge wrote to a file (deploy/nginx.conf.template's part location).

nginx reads a part PUT's body into a file of FILEDOCK_EDGE_BODY_DIR, in large reads, and sends
gunicorn no body: only the file's path, the length the client declared and FILEDOCK_EDGE_SECRET.
A client can reach gunicorn around that location (through the CDN host, or directly), so those
headers count only with the secret, and a path only inside that folder: a client never names a
server file. The file is removed once the view has answered, whatever it answered.
"""

import hmac
import io
import logging
import os
import stat
from dataclasses import dataclass
from functools import wraps

from django.conf import settings

from files import errors

log = logging.getLogger(__name__)

SECRET = "HTTP_X_FILEDOCK_EDGE_SECRET"
BODY_FILE = "HTTP_X_FILEDOCK_BODY_FILE"
BODY_LENGTH = "HTTP_X_FILEDOCK_BODY_LENGTH"


@dataclass(frozen=True)
class EdgeBody:
    path: str | None  # None: the edge refused the body (larger than its client_max_body_size)
    declared_length: str  # the client's Content-Length, as it sent it ("" for a chunked body)

    def open(self) -> io.RawIOBase:
        """The body file for reading (never through a symbolic link); no file reads as empty."""
        if self.path is None:
            return io.BytesIO()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:  # gone, or a symbolic link: nginx makes neither
            log.error("the edge's body file %r: %s", self.path, exc)
            raise errors.upload_failed() from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise errors.upload_failed()
        return open(fd, "rb", buffering=0)


def edge_body(request) -> EdgeBody | None:
    """The body the edge wrote for this request; None when the request carries no edge headers.
    Raises UploadError (403) for edge headers without the edge's secret, or naming a file elsewhere."""
    if not any(name in request.META for name in (SECRET, BODY_FILE, BODY_LENGTH)):
        return None
    if not _from_edge(request):
        log.warning("part body headers without the edge's secret from %s", request.META.get("REMOTE_ADDR"))
        raise errors.upload_failed()
    path = request.META.get(BODY_FILE, "")
    if path and not _inside_body_dir(path):
        log.error("the edge named a body file outside FILEDOCK_EDGE_BODY_DIR: %r", path)
        raise errors.upload_failed()
    return EdgeBody(path=path or None, declared_length=request.META.get(BODY_LENGTH, ""))


def edge_body_removed(view):
    """Removes the body file the edge wrote for the request once `view` has answered (a part taken
    was copied into place; a refused one leaves nothing). Goes above the rate limit, so that its
    refusals remove the file too. nginx removes it as well (`clean`), but only after the answer."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        finally:
            path = request.META.get(BODY_FILE, "")
            if path and _from_edge(request) and _inside_body_dir(path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    return wrapper


def _from_edge(request) -> bool:
    secret = settings.FILEDOCK_EDGE_SECRET.encode()
    sent = request.META.get(SECRET, "").encode("latin-1", "replace")  # WSGI gives header bytes as latin-1 text
    return bool(secret) and hmac.compare_digest(sent, secret)


def _inside_body_dir(path: str) -> bool:
    """True for a file directly in FILEDOCK_EDGE_BODY_DIR (nginx's temporary files, no levels)."""
    if "\x00" in path or not os.path.isabs(path):
        return False
    return os.path.dirname(os.path.realpath(path)) == os.path.realpath(settings.FILEDOCK_EDGE_BODY_DIR)
