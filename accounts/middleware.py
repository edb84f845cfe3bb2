import time
from urllib.parse import urlparse

from allauth.usersessions.middleware import UserSessionsMiddleware as AllauthUserSessionsMiddleware
from django.conf import settings
from django.core.cache import cache

from accounts.audit import request_context

TRACK_EVERY_SECONDS = 60
ASKED_KEPT = 10_000
_asked: dict[str, float] = {}  # session key -> when this process last asked the cache (monotonic)


class UserSessionsMiddleware(AllauthUserSessionsMiddleware):
    """allauth's session tracking, for dashboard pages only.

    Its bookkeeping writes to the database on every signed-in request and reads the session;
    on CDN, upload and API requests that would cost a write per file served and add
    `Vary: Cookie`, which keeps shared caches from caching public files. On dashboard pages it
    writes at most once a minute per session.
    """

    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        bases = (settings.CDN_BASE, settings.UPLOAD_BASE, settings.API_BASE, settings.PROXY_BASE)
        self.untracked = (*tuple(urlparse(base).path for base in bases), "/static/", "/from_url/", "/group/")

    def __call__(self, request):
        if request.path.startswith(self.untracked) or not self._due(request):
            return self.get_response(request)
        return super().__call__(request)

    @staticmethod
    def _due(request) -> bool:
        """At most one activity write per session a minute: "last seen" to the minute is enough,
        and a write (and commit) on every page view is not. With the cache away it tracks.

        The shared cache says whose minute it is; each process asks it at most once a minute per
        session (`_asked`), so a page view costs no round trip to it. "Last seen" may then lag by
        up to two minutes."""
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        if not session_key:
            return True
        now = time.monotonic()
        asked = _asked.get(session_key)
        if asked is not None and now - asked < TRACK_EVERY_SECONDS:
            return False
        if len(_asked) >= ASKED_KEPT:  # bounded: forgetting only costs a round trip each
            _asked.clear()
        _asked[session_key] = now
        try:
            return cache.add(f"usersession-seen:{session_key}", 1, timeout=TRACK_EVERY_SECONDS)
        except Exception:
            return True


class AuditContextMiddleware:
    """Makes the current request (user, IP, user agent) available to `accounts.audit.audit_record`.

    A context variable rather than an argument: the services that record events are called from views,
    the API, admin and commands, and only some of them have a request.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = request_context.set(request)
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)
