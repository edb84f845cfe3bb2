"""The OpenAPI description of the REST API (`schema/`) and the Swagger UI page that renders it (`docs/`)."""

import base64
import hashlib
import re
from functools import cache
from urllib.parse import urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.template import loader
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers

DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
_ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description='Invalid input: `{"detail": "..."}` or `{"field": ["message"]}`.',
    ),
    401: OpenApiResponse(DETAIL, description="Missing or wrong credentials."),
    403: OpenApiResponse(DETAIL, description="The plan's monthly API calls are used up."),
    404: OpenApiResponse(DETAIL, description='Not in this project: `{"detail": "Not found."}`.'),
    406: OpenApiResponse(DETAIL, description="The Accept header does not ask for v0.7."),
    429: OpenApiResponse(DETAIL, description="Too many requests; retry after `Retry-After` seconds."),
    503: OpenApiResponse(DETAIL, description="Every image renderer is busy; try again in a moment."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses=...)`: the given codes plus those of every request."""
    return {code: _ERRORS[code] for code in sorted({*codes, 401, 403, 406, 429})}


class DeleteWithBody(AutoSchema):
    """Documents a DELETE's body (batch delete, unsubscribe): drf-spectacular otherwise drops it."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "PUT"  # the only check that keeps DELETE bodies out
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class UploadcareAuthScheme(OpenApiAuthenticationExtension):
    target_class = "files.rest.auth.UploadcareAuthentication"
    name = "Uploadcare"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Uploadcare.Simple <public key>:<secret key>`, or the signed scheme "
                "`Uploadcare <public key>:<hex HMAC-SHA1>` with a `Date` header. "
                "Every request also needs `Accept: application/vnd.uploadcare-v0.7+json`."
            ),
        }


@cache
def _inline_style_hashes(template_name: str) -> tuple[str, ...]:
    source = loader.get_template(template_name).template.source
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
        for style in re.findall(r"<style>(.*?)</style>", source, re.S)
    )


class SchemaView(SpectacularAPIView):
    """Public, like the API's documentation: no credentials and no v0.7 Accept header."""


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its init script served as a separate file, so the strict CSP holds."""

    url_name = "api:schema"

    def dispatch(self, request, *args, **kwargs):
        # The packaged page carries one small <style> block; allow exactly that block, by its hash.
        allow_style = csp_update({"style-src": list(_inline_style_hashes(self.template_name))})
        return allow_style(super().dispatch)(request, *args, **kwargs)


def api_base_only(endpoints, **kwargs):
    """drf-spectacular's preprocessing hook: the operations under API_BASE only. The same views are
    also answered at the root (rest-client drops the base's path), which would describe every
    operation twice and make their operationIds collide."""
    prefix = "/" + urlsplit(settings.API_BASE).path.lstrip("/")
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(prefix)]
