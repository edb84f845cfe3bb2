"""core.urltokens against tokens made as Akamai and pyuploadcare make them (fields joined by "~",
HMAC-SHA256 keyed with the hex secret's bytes), and each refusal's exact reason."""

import hashlib
import hmac

import pytest
from pyuploadcare.secure_url import AkamaiSecureUrlBuilderWithAclToken, AkamaiSecureUrlBuilderWithUrlToken

from core import urltokens

SECRET = "7c5e4ae1b1c6a5fc0e5a3c7b9d2f1e08"
NOW = 1_700_000_000
GROUP_PATH = "/0d8c1a3e-5b7f-4a51-9a5e-2f6f7e1c9b10~2/nth/1/-/crop/1:1/50p,50p/"


def akamai(*fields: str, secret: str = SECRET) -> str:
    signed = "~".join(fields)
    return f"{signed}~hmac={hmac.new(bytes.fromhex(secret), signed.encode(), hashlib.sha256).hexdigest()}"


def check(token, path="/f/", urls=(), secrets=(SECRET,), now=NOW):
    return urltokens.check(token, path=path, urls=urls, secrets=secrets, now=now)


def test_a_pyuploadcare_url_token_for_a_path_with_escapes_is_accepted():
    """pyuploadcare 6 signs url={path} escaped by quote_plus (safe ","), escapes lowered, "~" as %7e."""
    builder = AkamaiSecureUrlBuilderWithUrlToken("cdn.example.com", SECRET, window=300)
    token = builder.get_token(GROUP_PATH)
    assert urltokens.url_forms(GROUP_PATH)[0] == (
        "%2f0d8c1a3e-5b7f-4a51-9a5e-2f6f7e1c9b10%7e2%2fnth%2f1%2f-%2fcrop%2f1%3a1%2f50p,50p%2f"
    )
    assert urltokens.check(token, path=GROUP_PATH, urls=urltokens.url_forms(GROUP_PATH), secrets=[SECRET]) == ""
    other = "/0d8c1a3e-5b7f-4a51-9a5e-2f6f7e1c9b10~2/nth/1/-/crop/1:1/50p,51p/"
    assert urltokens.check(token, path=other, urls=urltokens.url_forms(other), secrets=[SECRET]) == (
        "The token's signature does not match."
    )


def test_a_pyuploadcare_acl_token_for_a_group_is_accepted():
    token = AkamaiSecureUrlBuilderWithAclToken("cdn.example.com", SECRET).get_token(GROUP_PATH, wildcard=True)
    assert urltokens.check(token, path=GROUP_PATH, urls=[], secrets=["00" * 16, SECRET]) == ""


def test_url_forms_keep_the_bare_path_and_absolute_urls():
    assert urltokens.url_forms("/a~b,c/", ["https://cdn.example.com/a~b,c/"]) == [
        "%2fa%7eb,c%2f",
        "/a~b,c/",
        "https://cdn.example.com/a~b,c/",
    ]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "This file needs a signed URL: add ?token=exp=…~acl=…~hmac=…."),
        ("x" * 2049, "The token is too long."),
        ("acl=/*~hmac=00", "The token is malformed: it has exp=…, an optional acl=…, and ends with hmac=…."),
        ("exp=1~exp=2~hmac=00", "The token is malformed: it has exp=…, an optional acl=…, and ends with hmac=…."),
        ("exp=soon~acl=/*~hmac=00", "The token's exp is not a Unix time."),
        (f"exp={NOW}~acl=/*~hmac=00", "The token has expired."),
        (akamai(f"exp={NOW + 60}", "acl=/other/*"), "The token does not cover this URL."),
        (akamai(f"exp={NOW + 60}", "acl=/*", secret="ab" * 16), "The token's signature does not match."),
    ],
)
def test_each_refusal_names_its_reason(token, reason):
    assert check(token) == reason


@pytest.mark.parametrize(
    ("start", "reason"),
    [(NOW - 1, ""), (NOW, ""), (NOW + 1, "The token is not valid yet."), ("later", "The token is not valid yet.")],
)
def test_a_start_time_is_honoured(start, reason):
    assert check(akamai(f"st={start}", f"exp={NOW + 60}", "acl=/*")) == reason


def test_an_acl_may_list_several_patterns():
    token = akamai(f"exp={NOW + 60}", "acl=/a/!/b/*")
    assert check(token, path="/a/") == "" and check(token, path="/b/x/") == ""
    assert check(token, path="/a/x/") == "The token does not cover this URL."


@pytest.mark.parametrize(
    ("token", "left"),
    [
        ("exp=100~acl=/*~hmac=00", 60),
        ("exp=10~acl=/*~hmac=00", 0),
        ("acl=/*~hmac=00", 0),
        ("exp=soon~hmac=00", 0),
        ("exp=1234567890123~hmac=00", 0),  # 13 digits is no Unix time
        ("exp=123456789012~hmac=00", 123456789012 - 40),
    ],
)
def test_seconds_left(token, left):
    assert urltokens.seconds_left(token, now=40) == left


def test_the_limits_are_inclusive():
    """A 2,048-character token and a 12-digit exp are still read; one more is refused."""
    shortest = len(akamai(f"exp={NOW + 60}", "acl=/*"))
    longest = akamai(f"exp={NOW + 60}", "acl=/*" + "x" * (2048 - shortest))
    assert len(longest) == 2048 and check(longest) == "The token does not cover this URL."
    assert check(longest + "0") == "The token is too long."
    assert check(akamai("exp=999999999999", "acl=/*")) == ""
    assert check(akamai("exp=1000000000000", "acl=/*")) == "The token's exp is not a Unix time."


def test_a_prefix_acl_covers_only_what_is_under_it():
    token = akamai(f"exp={NOW + 60}", "acl=/a/*")
    assert check(token, path="/a/") == "" and check(token, path="/a/b/c") == ""
    assert check(token, path="/ab/") == "The token does not cover this URL."
