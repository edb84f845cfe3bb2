"""Request bodies that arrive too slowly are cut off, so a few slow clients cannot hold every
worker thread (a sync or threaded WSGI server gives each request a thread until its body is read).

A body must keep arriving: no read may wait more than FILEDOCK_BODY_IDLE_SECONDS, and after the
first FILEDOCK_BODY_GRACE_SECONDS it must average at least FILEDOCK_BODY_MIN_RATE bytes a second.
Past either, reading raises BadRequest, which Django answers with a 400 (and the thread is free).
The idle limit is the socket's timeout when gunicorn hands the socket over (`gunicorn.socket`).

That bounds how long a slow body holds a thread, not how many it holds: with
FILEDOCK_BODIES_PER_CLIENT set (the embedded run, which has no proxy in front), one address may
have at most that many bodies in flight in a process; past it the request is a 429 at once, its
connection closed without reading the body.
"""

import contextlib
import socket
import threading
import time
from collections import Counter

from django.conf import settings
from django.core.exceptions import BadRequest


class BodyPacing:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.in_flight: Counter = Counter()  # bodies being read, per client address

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if length in ("", "0"):
            return self.app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            sock.settimeout(settings.FILEDOCK_BODY_IDLE_SECONDS)
        environ["wsgi.input"] = PacedBody(environ["wsgi.input"])
        cap, address = settings.FILEDOCK_BODIES_PER_CLIENT, environ.get("REMOTE_ADDR", "")
        if not cap:
            return self.app(environ, start_response)
        with self.lock:
            refused = self.in_flight[address] >= cap
            if not refused:
                self.in_flight[address] += 1
        if refused:
            if sock is not None:
                # The body is never read: the server must not wait for it to drain either.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)
            return _too_many(start_response)
        try:
            return Released(self.app(environ, start_response), lambda: self._release(address))
        except BaseException:
            self._release(address)
            raise

    def _release(self, address: str) -> None:
        with self.lock:
            self.in_flight[address] -= 1
            if not self.in_flight[address]:
                del self.in_flight[address]


class Released:
    """The app's response iterable, calling `release` once the server closes it (WSGI's close)."""

    def __init__(self, iterable, release):
        self.iterable, self.release = iterable, release

    def __iter__(self):
        return iter(self.iterable)

    def close(self):
        try:
            if hasattr(self.iterable, "close"):
                self.iterable.close()
        finally:
            self.release()


def _too_many(start_response):
    start_response(
        "429 Too Many Requests",
        [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "5"), ("Connection", "close")],
    )
    return [b"Too many requests with bodies from this address at once; try again in a moment.\n"]


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
