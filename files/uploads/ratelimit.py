"""Upload API request limits: per client address, then per public key (core.ratelimit counts).

Past a limit the answer is 429 with Retry-After (the seconds left in the window) and the Upload
API's usual error body: plain text, or `{"error": {...}}` with status 200 when the client asks for
`jsonerrors=1`.
"""

from functools import wraps
from weakref import WeakKeyDictionary

from django.conf import settings
from django.http import HttpResponse

from accounts.audit import client_ip
from core import kept
from core.ratelimit import seconds_to_wait, seconds_to_wait_reading
from files import errors

# Each request's public key and the core.kept token read with its rate limit, for project_for.
kept_tokens: WeakKeyDictionary = WeakKeyDictionary()


def _form(request) -> dict:
    """The POST fields, parsed only for bodies the views themselves read (they refuse larger ones)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    readable = length.isdigit() and int(length) <= settings.FILEDOCK_DIRECT_UPLOAD_MAX_SIZE + 64 * 1024
    return request.POST if request.method == "POST" and readable else {}


def _public_key(request) -> str:
    form = _form(request)
    key = request.GET.get("pub_key") or form.get("UPLOADCARE_PUB_KEY") or form.get("pub_key") or ""
    return "".join(c for c in key if c.isascii() and c.isalnum())[:64]  # public keys are hex; a cache key must be clean


def _throttled(request, wait: int) -> HttpResponse:
    # Before the view: the body is read only if the view itself would read it.
    response = errors.error_response(request, errors.throttled(wait), form=_form(request))
    response["Retry-After"] = str(wait)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def upload_rate_limit(view):
    """Limits an Upload API view per client address (FILEDOCK_RATE_UPLOAD_IP), then per public key
    (FILEDOCK_RATE_UPLOAD): a request refused for its address is not counted against its key.
    Goes above `upload_endpoint`; CORS preflights are not counted."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "OPTIONS":
            limits = [(f"upload-ip:{client_ip(request)}", settings.FILEDOCK_RATE_UPLOAD_IP)]
            public_key = _public_key(request)
            if public_key:
                limits.append((f"upload-key:{public_key}", settings.FILEDOCK_RATE_UPLOAD))
                # The same round trip reads the token the project is kept under (files.uploads.auth).
                wait, token = seconds_to_wait_reading(*limits, read=kept.token_key(public_key))
                kept_tokens[request] = (public_key, token)
            else:
                wait = seconds_to_wait(*limits)
            if wait:
                return _throttled(request, wait)
        return view(request, *args, **kwargs)

    return wrapper
