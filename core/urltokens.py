"""Signed delivery URLs: Akamai-style tokens, as Uploadcare's secure delivery and pyuploadcare's
`AkamaiSecureUrlBuilderWithAclToken` / `…WithUrlToken` make them.

A URL carries `?token=exp={unix time}~acl={path pattern}~hmac={hex}` (or without `acl`, signing the
URL itself: `exp=…~hmac=…`). The HMAC-SHA256 is keyed with the secret's bytes (the secret is hex)
and covers the token's fields before `hmac`, joined by `~`; a token without `acl` covers
`url={the URL}` in its place (`url_forms`). An ACL names one path (`/{uuid}/`) or a prefix ending in `*`
(`/{uuid}/*`, `/*`).
"""

import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Iterable
from urllib.parse import quote_plus, unquote

FIELD_SEPARATOR = "~"
MAX_TOKEN = 2048


def sign(secret_hex: str, *, acl: str, expires: int) -> str:
    """A token for every path `acl` matches, valid until the Unix time `expires`."""
    fields = [f"exp={expires}", f"acl={acl}"]
    return FIELD_SEPARATOR.join([*fields, f"hmac={_mac(secret_hex, FIELD_SEPARATOR.join(fields))}"])


def expiry(lifetime: int, *, now: float | None = None) -> int:
    """An expiry at least `lifetime` seconds away, rounded up to a multiple of it: URLs signed
    within one period are identical, so browsers can cache what they load."""
    now = time.time() if now is None else now
    return (math.floor(now / lifetime) + 2) * lifetime


def check(token: str, *, path: str, urls: Iterable[str], secrets: Iterable[str], now: float | None = None) -> str:
    """Why `token` does not grant `path` (one of `urls` when it signs a URL), or "" when it does.

    `secrets` are the hex secrets any of which may have signed it.
    """
    if not token:
        return "This file needs a signed URL: add ?token=exp=…~acl=…~hmac=…."
    if len(token) > MAX_TOKEN:
        return "The token is too long."
    fields = split(token)
    names = [field.partition("=")[0] for field in fields]
    if names[-1:] != ["hmac"] or "exp" not in names or len(set(names)) != len(names):
        return "The token is malformed: it has exp=…, an optional acl=…, and ends with hmac=…."
    values = dict(field.partition("=")[::2] for field in fields)
    if not values["exp"].isascii() or not values["exp"].isdigit() or len(values["exp"]) > 12:
        return "The token's exp is not a Unix time."
    now = time.time() if now is None else now
    if int(values["exp"]) <= now:
        return "The token has expired."
    if "st" in values and not (values["st"].isascii() and values["st"].isdigit() and int(values["st"]) <= now):
        return "The token is not valid yet."
    signed = FIELD_SEPARATOR.join(fields[:-1])
    if "acl" in values:
        # pyuploadcare escapes "~" (the field separator) in an ACL as %7e: a group id has one.
        if not any(_allows(unquote(pattern), path) for pattern in values["acl"].split("!")):
            return "The token does not cover this URL."
        candidates = [signed]
    else:
        candidates = [f"{signed}{FIELD_SEPARATOR}url={url}" for url in urls]
    given = values["hmac"].lower()
    for secret in secrets:
        for message in candidates:
            if hmac.compare_digest(_mac(secret, message), given):
                return ""
    return "The token's signature does not match."


NAMES = {"exp", "st", "acl", "url", "id", "data", "ip", "hmac"}


def split(token: str) -> list[str]:
    """The token's `name=value` fields. A `~` inside a value (a group's id in an ACL, written
    as is) is kept in it: a piece that does not start a known field belongs to the one before."""
    fields: list[str] = []
    for piece in token.split(FIELD_SEPARATOR):
        name, sign, _ = piece.partition("=")
        if fields and not (sign and name in NAMES):
            fields[-1] += FIELD_SEPARATOR + piece
        else:
            fields.append(piece)
    return fields


def seconds_left(token: str, *, now: float | None = None) -> int:
    """How long a token (already checked) lasts from now; 0 when it names no expiry."""
    for field in split(token):
        name, _, value = field.partition("=")
        if name == "exp" and value.isascii() and value.isdigit() and len(value) <= 12:
            return max(0, int(value) - int(time.time() if now is None else now))
    return 0


def url_forms(path: str, absolute: Iterable[str] = ()) -> list[str]:
    """What a token without an ACL may have signed for `path`: pyuploadcare 6 signs the path
    escaped as by `quote_plus` (lowercase escapes, "~" too), earlier versions the whole URL,
    Akamai's own tools the bare path."""
    escaped = re.sub(r"%..", lambda match: match.group(0).lower(), quote_plus(path, safe=",")).replace("~", "%7e")
    return [escaped, path, *absolute]


def _allows(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def _mac(secret_hex: str, message: str) -> str:
    try:
        key = binascii.a2b_hex(secret_hex)
    except (binascii.Error, ValueError):
        key = secret_hex.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
