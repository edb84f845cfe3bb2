"""REST API authentication: `Uploadcare.Simple public:secret` and the HMAC-SHA1 signed scheme."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.audit import client_ip
from core import kept, ratelimit
from projects.apilogs import api_log_note
from projects.services import secret_key_authenticate, secret_key_match

DATE_TOLERANCE = timedelta(minutes=15)
PYUPLOADCARE_DATE = "%a, %d %b %Y, %H:%M:%S GMT"  # a comma after the year, as pyuploadcare sends it


def parse_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, PYUPLOADCARE_DATE).replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def raw_uri(request) -> str:
    """The request target as the client sent it (gunicorn keeps it in RAW_URI)."""
    meta = request.META
    uri = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    if uri:
        return uri
    path = quote(meta.get("SCRIPT_NAME", "") + meta.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~%")
    query = meta.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def date_header(request) -> str:
    """The signed date: @uploadcare/rest-client sends X-Uploadcare-Date, pyuploadcare sends Date."""
    return request.META.get("HTTP_X_UPLOADCARE_DATE") or request.META.get("HTTP_DATE", "")


def string_to_sign(request) -> str:
    body = request._request.body  # the raw bytes, before any parsing
    return "\n".join(
        [
            request.method,
            hashlib.md5(body).hexdigest(),
            request.META.get("CONTENT_TYPE", ""),
            date_header(request),
            raw_uri(request),
        ]
    )


class UploadcareAuthentication(BaseAuthentication):
    """Sets `request.auth` to the project whose key pair signed the request."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        public_key = credentials.strip().partition(":")[0]
        scope = f"rest-auth-failed:{client_ip(request)}"
        # The same round trip reads the token the project's keys are kept under (secret_key_match).
        token_key = kept.token_key(public_key)
        reads = (token_key,) if token_key else ()
        wait, found = ratelimit.waiting_reading(scope, settings.FILEDOCK_RATE_AUTH_FAILED, reads)
        if wait:
            # Too many wrong keys from this address: no answer says whether the next one is right.
            raise exceptions.Throttled(wait)
        try:
            return self._authenticate(request, scheme, credentials, found.get(token_key))
        except exceptions.AuthenticationFailed:
            ratelimit.seconds_to_wait((scope, settings.FILEDOCK_RATE_AUTH_FAILED))  # counts the failure
            raise

    def _authenticate(self, request, scheme: str, credentials: str, token: int | None):
        public_key, _, secret_or_signature = credentials.strip().partition(":")
        # Keys and signatures are printable ASCII: anything else (a NUL PostgreSQL refuses, non-ASCII that
        # compare_digest refuses) is simply wrong.
        if not public_key or not secret_or_signature or not (credentials.isascii() and credentials.isprintable()):
            raise exceptions.AuthenticationFailed("Incorrect authentication credentials.")
        if scheme == "Uploadcare.Simple":
            key = secret_key_authenticate(public_key=public_key, secret=secret_or_signature, token=token)
        elif scheme == "Uploadcare":
            key = self._signed(request, public_key, secret_or_signature.lower(), token)
        else:
            raise exceptions.AuthenticationFailed("Unknown authorization scheme.")
        if key is None:
            raise exceptions.AuthenticationFailed("Incorrect authentication credentials.")
        project = key.project
        project.rest_key = key  # whose scopes the view checks (files.rest.base)
        api_log_note(project=project, key_label=key.label)
        return AnonymousUser(), project

    def _signed(self, request, public_key: str, signature: str, token: int | None):
        date = parse_date(date_header(request))
        if date is None:
            raise exceptions.AuthenticationFailed("Date header is missing or malformed.")
        if abs(datetime.now(UTC) - date) > DATE_TOLERANCE:
            raise exceptions.AuthenticationFailed("Date header differs from the server's time by more than 15 minutes.")
        message = string_to_sign(request).encode()

        def check(secret: str) -> bool:
            expected = hmac.new(secret.encode(), message, hashlib.sha1).hexdigest()
            return hmac.compare_digest(expected, signature)

        return secret_key_match(public_key=public_key, check=check, token=token)

    def authenticate_header(self, request) -> str:
        return 'Uploadcare realm="api"'
