"""The audit log: security-relevant changes recorded with who, when, from where and what.

Services call `audit_record` at the end of each change, so the dashboard, admin, API and commands are
all covered. The request (actor, IP, user agent) reaches it through `request_context`, which
`accounts.middleware.AuditContextMiddleware` sets; outside a request (tasks, commands) it is empty.
Details never hold secrets: labels, last four characters, field names, roles, hosts.
"""

import hashlib
import ipaddress
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEvent, KnownDevice, User
from core.pagination import InvalidCursor, Keyset, cursor_decode, cursor_encode, take
from projects.models import Membership, Project, Role

request_context: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)

USER_AGENT_MAX = AuditEvent._meta.get_field("user_agent").max_length
PAGE_SIZE = 50
NEWEST_FIRST = Keyset("created_at", descending=True)


# Each request's client IP, worked out once: an Upload API request asks twice (its rate limit and
# its log line), and allauth's settings and two address parses cost 40 µs each time.
_client_ips: WeakKeyDictionary[HttpRequest, str | None] = WeakKeyDictionary()


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP as allauth sees it (honours ALLAUTH_TRUSTED_PROXY_COUNT / _CLIENT_IP_HEADER)."""
    request = getattr(request, "_request", request)  # a REST view's DRF Request: the one HttpRequest
    ip = _client_ips.get(request, "")
    if ip != "":
        return ip
    try:
        ip = get_adapter(request).get_client_ip(request)
        ipaddress.ip_address(ip)
    except (PermissionDenied, ValueError):
        ip = None
    _client_ips[request] = ip
    return ip


def client_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def audit_record(
    *, action: str, actor=None, project=None, ip: str | None = None, user_agent: str = "", details: dict | None = None
) -> AuditEvent:
    """Writes one AuditEvent (in the caller's transaction). Actor, IP and user agent not given come from
    the current request, if any."""
    request = request_context.get()
    if request is not None:
        if actor is None:
            user = getattr(request, "user", None)
            actor = user if user is not None and user.is_authenticated else None
        ip = ip or client_ip(request)
        user_agent = user_agent or client_user_agent(request)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_email=actor.email if actor else "",
        project=project,
        project_name=project.name if project else "",
        ip=ip,
        user_agent=user_agent[:USER_AGENT_MAX],
        details=details or {},
    )


def audit_url(url: str) -> str:
    """A URL without credentials or query string: those may carry tokens."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


# New-device sign-ins

_BROWSERS = [
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11"),
]


@dataclass(frozen=True)
class Device:
    browser: str
    os: str
    network: str

    @property
    def label(self) -> str:
        return f"{self.browser} on {self.os}"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.browser}|{self.os}|{self.network}".encode()).hexdigest()


def _first_match(pairs, text: str) -> str:
    return next((name for name, pattern in pairs if re.search(pattern, text)), "Other")


def device_from(user_agent: str, ip: str | None) -> Device:
    """Browser family + OS from the user agent, and the IP's /24 (IPv4) or /64 (IPv6) network."""
    network = ""
    if ip:
        address = ipaddress.ip_address(ip)
        network = str(ipaddress.ip_network(f"{ip}/{24 if address.version == 4 else 64}", strict=False))
    return Device(browser=_first_match(_BROWSERS, user_agent), os=_first_match(_SYSTEMS, user_agent), network=network)


def login_device_check(*, user, request: HttpRequest) -> AuditEvent | None:
    """Remembers the device of a sign-in; an unknown one is audited as login.new_device and the account is
    emailed (except for its very first device, the sign-in right after signing up)."""
    ip, user_agent = client_ip(request), client_user_agent(request)
    device = device_from(user_agent, ip)
    now = timezone.now()
    with transaction.atomic():
        had_devices = KnownDevice.objects.filter(user=user).exists()
        # get_or_create survives two simultaneous sign-ins: the unique constraint makes one of them a "get".
        known, created = KnownDevice.objects.get_or_create(
            user=user, fingerprint=device.fingerprint, defaults={"label": device.label}
        )
        if not created:
            KnownDevice.objects.filter(pk=known.pk).update(last_seen=now)
            return None
        event = audit_record(
            action=AuditEvent.Action.LOGIN_NEW_DEVICE,
            actor=user,
            ip=ip,
            user_agent=user_agent,
            details={"browser": device.browser, "os": device.os, "network": device.network},
        )
    if had_devices:
        transaction.on_commit(lambda: _send_new_device_email(user, device, ip, now))
    return event


def _send_new_device_email(user, device: Device, ip: str | None, when: datetime) -> None:
    message = (
        f"Your Filedock account {user.email} was just signed in to from a new device:\n\n"
        f"  {device.label}\n  IP address: {ip or 'unknown'}\n  Time: {when:%Y-%m-%d %H:%M} UTC\n\n"
        "If this was you, there is nothing to do. If not, change your password and end your other sessions:\n"
        f"{settings.SITE_URL}/accounts/password/change/\n"
    )
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}New sign-in to your account",
        message=message,
        from_email=None,
        recipient_list=[user.email],
    )


# Reading the log


def audit_events_for_account(*, user: User) -> QuerySet[AuditEvent]:
    """What the account did, and anything done to the projects it owns."""
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values("project_id")
    return AuditEvent.objects.filter(Q(actor=user) | Q(project_id__in=owned))


def audit_events_for_project(*, project: Project) -> QuerySet[AuditEvent]:
    """Everything done to the project."""
    return AuditEvent.objects.filter(project=project)


def audit_page(
    events: QuerySet[AuditEvent],
    *,
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    before: str = "",
    size: int = PAGE_SIZE,
) -> tuple[list[AuditEvent], str | None]:
    """One page, newest first, after the cursor `before` (an invalid one is ignored); returns the events and
    the next page's cursor."""
    events = audit_filter(events, action=action, date_from=date_from, date_to=date_to)
    try:
        position = cursor_decode(before, parse_pk=int) if before else None
    except InvalidCursor:
        position = None  # an edited or outdated link shows the newest events
    page = take(NEWEST_FIRST.seek(events.select_related("actor"), position), size)
    return page.rows, cursor_encode(NEWEST_FIRST.position_of(page.rows[-1])) if page.more else None


def audit_filter(
    events: QuerySet[AuditEvent], *, action: str = "", date_from: date | None = None, date_to: date | None = None
) -> QuerySet[AuditEvent]:
    """The events of one action, from `date_from` to `date_to` (whole days), unordered."""
    if action:
        events = events.filter(action=action)
    zone = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.combine(date_from, time.min, zone))
    if date_to and date_to < date.max:  # the last representable day has no "next day" to stop before
        events = events.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, zone))
    return events


AUDIT_EXPORT_FIELDS = ["created_at", "action", "actor_email", "ip", "user_agent", "details"]


def audit_export_record(event: AuditEvent) -> dict:
    """An event as an export's record (no secrets: the log never holds any)."""
    return {
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "actor_email": event.actor_email,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "details": event.details,
    }
