"""The proxy: a project's allowed domains, and remote files fetched from them and cached.

`{PROXY_BASE}{public_key}/{remote_url}` serves a remote file only when its host matches one of the
project's patterns: `example.com` exactly, or `*.example.com` for any subdomain at any depth — but
not example.com itself (add both to allow both). Every redirect hop must match as well, so an
allowed site cannot bounce the proxy to a host the owner never listed.

The copy is kept in the default storage (it is a cache, like previews) and revalidated with the
origin's ETag / Last-Modified once its freshness (the origin's max-age, at least a minute,
an hour when it gives none) has run out: a 304 keeps it, a 200 replaces it.
"""

import hashlib
import re
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File as DjangoFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from core import fetch
from core.numbers import bounded_int
from files.cdn import cache
from files.content import SNIFF_BYTES, image_info, sniff_mime
from files.models import ProxiedFile, ProxyDomain

LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOST = re.compile(rf"^{LABEL}(?:\.{LABEL})*$")
MIN_FRESH = 60
DEFAULT_FRESH = 3600
MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
CHUNK = 64 * 1024
SPOOL = 2 * 1024**2  # bodies up to this size stay in memory on their way to storage


class ProxyError(Exception):
    """A proxied fetch that cannot be served; `status` is the HTTP status the endpoint answers."""

    status = 502

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DomainNotAllowed(ProxyError):
    status = 403

    def __init__(self, host: str):
        super().__init__(
            f"The host {host} is not an allowed domain of this project's proxy. Add it in the project's Proxy settings."
        )
        self.host = host


class AddressRefused(ProxyError):
    status = 403


class TooLarge(ProxyError):
    status = 413


class OriginError(ProxyError):
    status = 502


# Domains


def normalize_pattern(value: str) -> str:
    """`example.com` or `*.example.com`, lowercase and IDNA-encoded; raises ValidationError."""
    value = (value or "").strip().lower().rstrip(".")
    if not value:
        raise ValidationError("Enter a domain, e.g. images.example.com or *.example.com.")
    if "://" in value or "/" in value or "@" in value or "?" in value or "#" in value:
        raise ValidationError("Enter only the host name, without scheme or path (e.g. images.example.com).")
    if ":" in value:
        raise ValidationError("Leave out the port: any port of an allowed host is allowed.")
    wildcard = value.startswith("*.")
    host = value[2:] if wildcard else value
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"“{value}” is not a valid host name.") from None
    if "*" in host or len(host) > 253 or not HOST.match(host):
        raise ValidationError(
            f"“{value}” is not a valid host name. A wildcard is only allowed as a leading “*.”, e.g. *.example.com."
        )
    return f"*.{host}" if wildcard else host


def proxy_domain_add(*, project, pattern: str) -> ProxyDomain:
    """Adds an allowed domain to the project's proxy. Raises ValidationError({"pattern": ...})."""
    try:
        pattern = normalize_pattern(pattern)
    except ValidationError as exc:
        raise ValidationError({"pattern": exc.messages}) from None
    try:
        with transaction.atomic():
            domain = ProxyDomain.objects.create(project=project, pattern=pattern)
            audit_record(action="proxy.domain_added", project=project, details={"pattern": pattern})
            return domain
    except IntegrityError:
        raise ValidationError({"pattern": [f"{pattern} is already allowed."]}) from None


def proxy_domain_remove(*, domain: ProxyDomain) -> None:
    """Removes an allowed domain; files cached from it are no longer served (the host check comes first)."""
    with transaction.atomic():
        domain.delete()
        audit_record(action="proxy.domain_removed", project=domain.project, details={"pattern": domain.pattern})


def host_allowed(host: str, patterns: list[str]) -> bool:
    host = _ascii_host(host)
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):  # ".example.com": a subdomain, never the bare domain
                return True
        elif host == pattern:
            return True
    return False


def check_host(project, url: str) -> None:
    """Raises DomainNotAllowed unless the URL's host matches one of the project's patterns."""
    host = urlsplit(url).hostname or ""
    if not host_allowed(host, list(project.proxy_domains.values_list("pattern", flat=True))):
        raise DomainNotAllowed(_ascii_host(host) or "(none)")


def _ascii_host(host: str) -> str:
    host = (host or "").lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


# Fetching


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def proxy_fetch(*, project, url: str, admit=None) -> ProxiedFile:
    """The project's cached copy of `url`, fetched or revalidated when needed; `admit()` is asked
    before going to the origin (it may raise core.ratelimit.Throttled).

    Writes the bytes to storage and the ProxiedFile row. Raises DomainNotAllowed, AddressRefused,
    TooLarge (over FILEDOCK_PROXY_MAX_SIZE) or OriginError (network, time limit, non-2xx status).
    """
    check_host(project, url)
    digest = url_hash(url)
    cached = ProxiedFile.objects.filter(project=project, url_hash=digest).first()
    if cached is not None and cached.revalidate_after > timezone.now():
        cache.touched(ProxiedFile, pk=cached.pk)
        return cached
    if admit is not None:
        admit()
    conditional = {}
    if cached is not None and cached.etag:
        conditional["If-None-Match"] = cached.etag
    if cached is not None and cached.last_modified:
        conditional["If-Modified-Since"] = cached.last_modified
    deadline = time.monotonic() + settings.FILEDOCK_PROXY_TIMEOUT
    try:
        with fetch.guarded_stream(
            url, settings.FILEDOCK_PROXY_TIMEOUT, headers=conditional, check_hop=lambda hop: check_host(project, hop)
        ) as response:
            if response.status_code == 304 and cached is not None:
                return _keep(cached, response)
            if not 200 <= response.status_code < 300:
                raise OriginError(f"The origin answered HTTP {response.status_code} for {url}.")
            return _save(project, url, digest, response, deadline)
    except fetch.FetchRefused as exc:
        if exc.code == "URLRedirectsLimitExceededError":
            raise OriginError("The origin redirected too many times.") from None
        raise AddressRefused(f"Refused to fetch {url}: {exc.message}") from None
    except httpx.TimeoutException:
        raise OriginError(f"The origin did not answer within {settings.FILEDOCK_PROXY_TIMEOUT} s.") from None
    except httpx.HTTPError as exc:
        raise OriginError(f"Could not fetch {url}: {exc.__class__.__name__}.") from None


def _freshness(response: httpx.Response):
    match = MAX_AGE.search(response.headers.get("cache-control", ""))
    # Capped at a year: an absurd max-age must not overflow the date arithmetic.
    seconds = max(MIN_FRESH, bounded_int(match.group(1), cap=365 * 24 * 3600)) if match else DEFAULT_FRESH
    return timezone.now() + timedelta(seconds=seconds)


def _keep(cached: ProxiedFile, response: httpx.Response) -> ProxiedFile:
    cached.revalidate_after = _freshness(response)
    cached.etag = response.headers.get("etag", cached.etag)[:255]
    cached.last_modified = response.headers.get("last-modified", cached.last_modified)[:64]
    cached.save(update_fields=["revalidate_after", "etag", "last_modified"])
    return cached


def _save(project, url: str, digest: str, response: httpx.Response, deadline: float) -> ProxiedFile:
    limit = settings.FILEDOCK_PROXY_MAX_SIZE
    declared = response.headers.get("content-length", "")
    if (bounded_int(declared) or 0) > limit:
        raise TooLarge(f"The remote file is larger than the proxy's limit of {limit} bytes.")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as body:
        size, head = 0, b""
        for chunk in response.iter_bytes(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"The remote file is larger than the proxy's limit of {limit} bytes.")
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("The download took too long.")
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            body.write(chunk)
        name = unquote(PurePosixPath(urlsplit(url).path).name) or "file"
        mime = sniff_mime(head, name, response.headers.get("content-type"))
        body.seek(0)
        info = image_info(body) if mime.startswith("image/") else None
        body.seek(0)
        key = f"proxy/{project.pk}/{digest}/{uuid.uuid4().hex}"
        key = default_storage.save(key, DjangoFile(body, name=key))
    fields = {
        "url": url,
        "storage_key": key,
        "size": size,
        "mime_type": mime,
        "image_info": info,
        "etag": response.headers.get("etag", "")[:255],
        "last_modified": response.headers.get("last-modified", "")[:64],
        "fetched_at": timezone.now(),
        "revalidate_after": _freshness(response),
    }
    with transaction.atomic():
        # Locked, so two requests replacing the same copy agree on which old version to delete.
        row, created = ProxiedFile.objects.select_for_update().get_or_create(
            project=project, url_hash=digest, defaults=fields
        )
        old_key = None if created else row.storage_key
        if not created:
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
    if old_key and old_key != key:
        cache.copy_version_delete(old_key)
    cache.cache_evict(project.pk)  # a new copy may take the project past its cache budget
    return row
