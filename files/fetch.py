"""Outbound HTTP that refuses private, loopback and other non-public addresses.

The address is checked when it is resolved and the connection goes to that very address
(the Host header and TLS server name keep the original host), so a DNS answer that changes
between check and connect (rebinding) cannot redirect the request inside the network.
"""

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings

MAX_REDIRECTS = 5


class FetchRefused(Exception):
    """The URL may not be fetched; `code` is the Upload API's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _allowed_networks():
    return [ipaddress.ip_network(net, strict=False) for net in settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS]


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _allowed_networks()):
        return True
    return ip.is_global and not ip.is_multicast


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


@contextmanager
def guarded_stream(url: str, timeout: float) -> Iterator[httpx.Response]:
    """GETs `url` following up to five redirects, each hop checked; yields the streaming response."""
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "Filedock/1.0"}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host, address, port = check_url(url)
            parts = urlsplit(url)
            literal = f"[{address}]" if ":" in address else address
            pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
            host_header = parts.netloc.rsplit("@", 1)[-1]
            request = client.build_request("GET", pinned, headers={"Host": host_header},
                                           extensions={"sni_hostname": host})
            response = client.send(request, stream=True)
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                response.close()
                continue
            try:
                yield response
            finally:
                response.close()
            return
    raise FetchRefused("URLRedirectsLimitExceededError", "Too many redirects.")
