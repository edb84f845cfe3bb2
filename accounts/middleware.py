from urllib.parse import urlparse

from allauth.usersessions.middleware import UserSessionsMiddleware as AllauthUserSessionsMiddleware
from django.conf import settings


class UserSessionsMiddleware(AllauthUserSessionsMiddleware):
    """allauth's session tracking, for dashboard pages only.

    Its bookkeeping writes to the database on every signed-in request and reads the session;
    on CDN, upload and API requests that would cost a write per file served and add
    `Vary: Cookie`, which keeps shared caches from caching public files.
    """

    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        bases = (settings.CDN_BASE, settings.UPLOAD_BASE, settings.API_BASE, settings.PROXY_BASE)
        self.untracked = tuple(urlparse(base).path for base in bases) + ("/static/", "/from_url/", "/group/")

    def __call__(self, request):
        if request.path.startswith(self.untracked):
            return self.get_response(request)
        return super().__call__(request)


class AuditContextMiddleware:
    """Makes the current request (user, IP, user agent) available to `accounts.audit.audit_record`.

    A context variable rather than an argument: the services that record events are called from views,
    the API, admin and commands, and only some of them have a request.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        from accounts.audit import request_context

        token = request_context.set(request)
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)
