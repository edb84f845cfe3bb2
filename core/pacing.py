"""Request bodies that arrive too slowly are cut off, so a few slow clients cannot hold every
worker thread (a sync or threaded WSGI server gives each request a thread until its body is read).

A body must keep arriving: no read may wait more than FILEDOCK_BODY_IDLE_SECONDS, and after the
first FILEDOCK_BODY_GRACE_SECONDS it must average at least FILEDOCK_BODY_MIN_RATE bytes a second.
Past either, reading raises BadRequest, which Django answers with a 400 (and the thread is free).
The idle limit is the socket's timeout when gunicorn hands the socket over (`gunicorn.socket`).
"""

import time

from django.conf import settings
from django.core.exceptions import BadRequest


class BodyPacing:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if length not in ("", "0"):
            sock = environ.get("gunicorn.socket")
            if sock is not None:
                sock.settimeout(settings.FILEDOCK_BODY_IDLE_SECONDS)
            environ["wsgi.input"] = PacedBody(environ["wsgi.input"])
        return self.app(environ, start_response)


class PacedBody:
    """A wsgi.input that raises BadRequest when the body stalls or trickles."""

    def __init__(self, stream):
        self.stream = stream
        self.started = time.monotonic()
        self.received = 0

    def _checked(self, data):
        self.received += len(data)
        elapsed = time.monotonic() - self.started
        if elapsed > settings.FILEDOCK_BODY_GRACE_SECONDS and self.received < elapsed * settings.FILEDOCK_BODY_MIN_RATE:
            raise BadRequest("The request body is arriving too slowly.")
        return data

    def _call(self, name: str, *args):
        try:
            return getattr(self.stream, name)(*args)
        except TimeoutError:
            raise BadRequest("The request body stopped arriving.") from None

    def read(self, *args):
        return self._checked(self._call("read", *args))

    def readline(self, *args):
        return self._checked(self._call("readline", *args))

    def readlines(self, *args):
        lines = self._call("readlines", *args)
        self._checked(b"".join(lines))
        return lines

    def __iter__(self):
        while line := self.readline():
            yield line
