"""What every REST API view shares: the v0.7 media type, project authentication, throttling."""

import orjson
from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions, permissions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from billing.metering import pending_slot, usage_add
from billing.quotas import QuotaExceeded, api_call_count, api_call_quota
from core import ratelimit
from files.rest.auth import UploadcareAuthentication
from files.rest.common import BadRequest
from projects.models import Scope

MEDIA_TYPE = "application/vnd.uploadcare-v0.7+json"


class UploadcareRenderer(JSONRenderer):
    media_type = MEDIA_TYPE


def fast_json_response(data: dict) -> HttpResponse:
    """A 200 of `data` (plain dicts, lists, strings, numbers) encoded by orjson, the same bytes as
    the renderer above writes (compact, UTF-8, U+2028 and U+2029 escaped as DRF escapes them for
    JavaScript), in a fraction of its time: for the large answers, a page of file infos. DRF's
    content negotiation has run by then (a wrong Accept is still a 406); errors still go through
    the renderer."""
    body = orjson.dumps(data)
    if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
        body = body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return HttpResponse(body, content_type=MEDIA_TYPE)


class SafeJSONParser(JSONParser):
    """application/json, with nesting too deep for the parser answered as 400 rather than 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # DRF turns only ValueError into a 400
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class RequireVersionHeader(DefaultContentNegotiation):
    """The API answers only clients that ask for v0.7, as the original does."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if MEDIA_TYPE not in request.META.get("HTTP_ACCEPT", ""):
            raise exceptions.NotAcceptable(
                f"Incorrect Accept header provided. Make sure to specify 'Accept: {MEDIA_TYPE}'."
            )
        return renderers[0], MEDIA_TYPE


class HasProject(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.auth is None:
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        return True


class ProjectAPIView(APIView):
    """A REST view of one project. `area` says which of a secret key's scopes it needs: files
    (files:read for `read_methods`, files:write for the rest), webhooks, project or processing."""

    area = "files"
    read_methods = frozenset({"GET", "HEAD", "OPTIONS"})
    authentication_classes = [UploadcareAuthentication]
    permission_classes = [HasProject]
    renderer_classes = [UploadcareRenderer]
    parser_classes = [SafeJSONParser, FormParser]
    content_negotiation_class = RequireVersionHeader

    @property
    def project(self):
        return self.request.auth

    def initial(self, request, *args, **kwargs):
        """After authentication: the key's scope, then the project's rate (FILEDOCK_API_RATE, 429
        with Retry-After past it), then the call counted, within the plan's monthly API calls (403
        past them) where it sets a limit."""
        super().initial(request, *args, **kwargs)
        scope = self.required_scope(request.method)
        key = getattr(request.auth, "rest_key", None)
        if key is not None and scope not in key.scopes:
            raise exceptions.PermissionDenied(
                f"This secret key may not do that: it needs the “{scope}” scope ({Scope(scope).label})."
            )
        self._admit_and_count(request.auth)

    def check_throttles(self, request):
        """Throttling waits for `initial`, which counts the call in the same Redis round trip."""

    def _admit_and_count(self, project) -> None:
        """The project's requests are counted in core.ratelimit (a fixed window, one Redis round
        trip). A call the owner's plan limits is then counted into its usage row, where the quota
        reads it, in the statement that checks the quota; any other waits in Redis with the rate
        limit's count, in its round trip."""
        quota = api_call_quota(project=project)
        rate = (f"api-project:{project.pk}", settings.FILEDOCK_API_RATE)
        if quota is not None:
            wait, counted = ratelimit.seconds_to_wait(rate), False
        else:
            add = (*pending_slot(project_id=project.pk, counter="api_calls"), 1)
            wait, counted = ratelimit.seconds_to_wait_adding(rate, add=add)
        if wait:
            self.throttled(self.request, wait)
        if counted:
            return
        if quota is None:  # Redis is away: counted in the database
            usage_add(project_id=project.pk, api_calls=1)
            return
        try:
            api_call_count(project_id=project.pk, quota=quota)
        except QuotaExceeded as exc:
            raise exceptions.PermissionDenied(exc.message) from None

    def required_scope(self, method: str) -> str:
        if self.area == "files":
            return Scope.FILES_READ if method in self.read_methods else Scope.FILES_WRITE
        return {"webhooks": Scope.WEBHOOKS, "project": Scope.PROJECT, "processing": Scope.PROCESSING}[self.area]

    def handle_exception(self, exc):
        """A plan's limit on what the call would add (a local copy: file size, storage, uploads) is
        a bad request, as the call's other upload limits are; the API calls quota is 403 above."""
        if isinstance(exc, QuotaExceeded):
            exc = BadRequest(exc.message)
        return super().handle_exception(exc)
