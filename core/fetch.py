"""Outbound HTTP that refuses private, loopback and other non-public addresses.

The address is checked when it is resolved and the connection goes to that very address
(the Host header and TLS server name keep the original host), so a DNS answer that changes
between check and connect (rebinding) cannot redirect the request inside the network.
"""

import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import httpcore
import httpx
from django.conf import settings

MAX_REDIRECTS = 5


class FetchRefused(Exception):
    """The URL may not be fetched; `code` is the Upload API's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@functools.lru_cache(maxsize=8)
def _parsed_networks(networks: tuple[str, ...]) -> list:
    # Keyed by the setting's value, so a changed setting (tests, a reload) is read afresh.
    return [ipaddress.ip_network(net, strict=False) for net in networks]


# Refused whatever `is_global` says (its answer has changed between Python releases): private,
# loopback, link-local, CGNAT, documentation, benchmarking, multicast, reserved and broadcast.
BLOCKED_NETWORKS = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
]
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip):
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), or None."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_allowed(address: str) -> bool:
    """Whether an outbound connection may go to `address`: public, or in an operator-allowed network."""
    return _address_allowed(address, tuple(settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS))


@functools.lru_cache(maxsize=1024)
def _address_allowed(address: str, networks: tuple[str, ...]) -> bool:
    # The answer depends on the address and the setting only, so it is kept for both: a webhook
    # worker checks the same few addresses on every send (about 25 us each, of a loopback POST's
    # 500). The name is still resolved on every send; only the verdict about an address is kept.
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    allowed = _parsed_networks(networks)
    embedded = _embedded_ipv4(ip)
    if any(ip in network for network in allowed if ip.version == network.version):
        return True
    if embedded is not None:  # the IPv6 prefix only carries the IPv4 address; that is where it goes
        ip = embedded
        if any(ip in network for network in allowed if network.version == 4):
            return True
    if any(ip in network for network in BLOCKED_NETWORKS if ip.version == network.version):
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def check_url(url: str) -> tuple[str, str, int]:
    """Validates scheme and host; returns (host, a permitted IP address, port)."""
    parts = urlsplit(url)
    if not parts.scheme:
        raise FetchRefused("URLSchemeRequiredError", "Scheme is required.")
    if parts.scheme not in ("http", "https"):
        raise FetchRefused("URLSchemeInvalidError", "Invalid URL scheme.")
    if not parts.hostname:
        raise FetchRefused("URLHostRequiredError", "No host specified.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("URLHostMalformedError", "Malformed host.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchRefused("HostnameNotFoundError", "Host does not exist.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(address_allowed(a) for a in addresses):
        raise FetchRefused("URLHostPrivateIPForbiddenError", "Only public IPs are allowed.")
    return parts.hostname, addresses[0], port


@functools.cache
def tls_context() -> ssl.SSLContext:
    # Loading the CA bundle is slow: one context, built once, serves every client (it is thread-safe).
    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class Pin:
    """A checked URL's request target: the address it resolved to, and what keeps the original
    host for the server (the Host header) and for TLS (the server name)."""

    scheme: str
    address: str
    port: int
    target: str  # path and query
    host_header: str
    server_name: str

    @property
    def url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.target}"


def _pin(url: str) -> Pin:
    """Resolves and checks `url` (check_url): where its request goes, and under which names."""
    host, address, port = check_url(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Pin(parts.scheme, address, port, target, parts.netloc.rsplit("@", 1)[-1], host)


def _pinned(url: str, headers: dict[str, str]) -> tuple[str, dict[str, str], dict]:
    """`url` pinned for httpx: the URL of its checked address, the headers with the original
    Host, and the extensions that keep the original TLS server name."""
    pin = _pin(url)
    return pin.url, {**headers, "Host": pin.host_header}, {"sni_hostname": pin.server_name}


def _pinned_request(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Request:
    """A request for `url` sent to the checked address, keeping the Host header and TLS server name."""
    pinned, headers, extensions = _pinned(url, kwargs.pop("headers", {}))
    return client.build_request(method, pinned, headers=headers, extensions=extensions, **kwargs)


@contextmanager
def guarded_stream(
    url: str, timeout: float, *, headers: dict[str, str] | None = None, check_hop=None
) -> Iterator[httpx.Response]:
    """GETs `url` following up to five redirects, each hop checked; yields the streaming response.

    `headers` go with every hop; `check_hop(url)` may refuse a redirect target by raising.
    """
    with httpx.Client(
        timeout=timeout, follow_redirects=False, headers={"User-Agent": "Filedock/1.0"}, verify=tls_context()
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = client.send(_pinned_request(client, "GET", url, headers=headers or {}), stream=True)
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                response.close()
                if check_hop is not None:
                    check_hop(url)
                continue
            try:
                yield response
            finally:
                response.close()
            return
    raise FetchRefused("URLRedirectsLimitExceededError", "Too many redirects.")


HTTPCORE_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)


@dataclass
class PostResult:
    status_code: int
    excerpt: bytes  # at most `excerpt_bytes` of the response body


def guarded_client(*, max_keepalive_connections: int = 20) -> httpcore.ConnectionPool:
    """A connection pool for `guarded_post` (HTTP/1.1, with the shared TLS context), keeping up to
    `max_keepalive_connections` idle connections for 5 s, as httpx's defaults. Close it when done."""
    return httpcore.ConnectionPool(
        ssl_context=tls_context(),
        max_connections=100,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=5.0,
    )


def guarded_post(
    client: httpcore.ConnectionPool,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    excerpt_bytes: int = 2048,
) -> PostResult:
    """POSTs once to the checked address of `url`; redirects are not followed (a 3xx is the answer).

    Raises FetchRefused before connecting to a refused address, httpx.HTTPError on network failure.
    The whole exchange, reading included, is bounded by `timeout`. A client kept for one host reuses
    its connections; each request is still resolved, checked and pinned.
    """
    deadline = time.monotonic() + timeout
    pin = _pin(url)
    headers = {**headers, "Host": pin.host_header, "Content-Length": str(len(content))}
    # Straight to httpcore's pool, which httpx's transport wraps: an httpx.Client would add what a
    # webhook must not have (a cookie jar carried from answer to request, redirects, default
    # headers), and httpx's request and URL objects, rebuilt into httpcore's, cost a tenth of a
    # loopback POST's CPU. The connection goes to the checked address; Host and the TLS server
    # name keep the original host.
    request = httpcore.Request(
        b"POST",
        httpcore.URL(scheme=pin.scheme, host=pin.address, port=pin.port, target=pin.target),
        headers=list(headers.items()),
        content=content,
        extensions={
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout),
            "sni_hostname": pin.server_name,
        },
    )
    try:
        response = client.handle_request(request)
        try:
            excerpt = b""
            for chunk in response.stream:
                excerpt += chunk
                if len(excerpt) >= excerpt_bytes:
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("The response took too long.")
            return PostResult(response.status, excerpt[:excerpt_bytes])
        finally:
            response.close()
    except (
        httpcore.TimeoutException,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
    ) as exc:
        # httpx has a class of the same name for each (ConnectTimeout, ReadError, ...).
        raise getattr(httpx, type(exc).__name__, httpx.TransportError)(str(exc)) from exc
