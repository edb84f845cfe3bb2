"""Hypothesis against CDN operation URLs `/cdn/{uuid}/-/{op}/{args}/...`: the real operations mixed with
junk (unknown names, negative, huge and malformed sizes, unicode, path traversal, long chains), on a
small PNG, a file that is not an image and an unknown UUID. Never a 5xx: a bad operation is a
text/plain 400, a file without a picture a 404, and the process's peak memory stays bounded."""

import resource
import uuid
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from files.cdn.operations import FILTERS, PARSERS
from files.services import file_upload
from tests.helpers import png_bytes

EXAMPLES = 50
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
# The largest side an operation may ask for is 5000 px (FILEDOCK_CDN_MAX_DIMENSION): one RGBA image of
# that size is 100 MB. Two or three alive at once during a step is expected; more would mean no bound.
PEAK_GROWTH_LIMIT_MB = 600

NAMES = st.sampled_from(
    [
        "preview",
        "resize",
        "scale_crop",
        "crop",
        "format",
        "quality",
        "progressive",
        "grayscale",
        "strip_meta",
        "blur",
        "rotate",
        *sorted(PARSERS),  # every operation of the URL API, with junk parameters too
        "",
        "-",
        "..",
        ".",
        "RESIZE",
        "resize ",
        "%2e%2e",
        "\u00e9",
        "preview\x00",
    ]
)
SIDE = st.one_of(st.integers(min_value=0, max_value=64), st.integers(min_value=-5, max_value=10**7)).map(str)
SIZES = st.one_of(
    st.builds(lambda w, h: f"{w}x{h}", SIDE, SIDE),
    st.builds(lambda w: f"{w}x", SIDE),
    st.builds(lambda h: f"x{h}", SIDE),
    st.sampled_from(
        ["x", "5000x5000", "5000x", "x5000", "1x1", "0x0", "-1x-1", "99999x1", "1e3x1", "\u0663x1", "10X10"],
    ),
)
WORDS = st.sampled_from(
    [
        "center",
        "0,0",
        "1,1",
        "99999,99999",
        "-1,0",
        "1,",
        ",",
        "auto",
        "jpeg",
        "png",
        "webp",
        "preserve",
        "gif",
        "yes",
        "no",
        "best",
        "lightest",
        "smart",
        "..",
        ".",
        "%00",
        "%2F",
        "..%2F..%2Fetc%2Fpasswd",
        "",
        "image.png",
        "\u202e",
        "\U0001f600",
        "a" * 300,
    ]
)
JUNK = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="/"), max_size=12)
PARAMS = st.lists(st.one_of(SIZES, WORDS, JUNK), max_size=3)
# Real operations with sides a picture may have (the cap included), so renderings happen too.
SIDE_OK = st.one_of(st.integers(min_value=1, max_value=64), st.sampled_from([1, 4999, 5000])).map(str)
BOTH = st.builds(lambda w, h: f"{w}x{h}", SIDE_OK, SIDE_OK)
ONE_OR_BOTH = st.one_of(BOTH, SIDE_OK.map(lambda w: f"{w}x"), SIDE_OK.map(lambda h: f"x{h}"))
REAL = st.one_of(
    st.builds(lambda size: ("preview", size), st.one_of(st.just([]), ONE_OR_BOTH.map(lambda s: [s]))),
    st.builds(lambda size: ("resize", [size]), ONE_OR_BOTH),
    st.builds(lambda size, align: ("scale_crop", [size, *align]), BOTH, st.sampled_from([[], ["center"]])),
    st.builds(lambda size, at: ("crop", [size, at]), BOTH, st.sampled_from(["center", "0,0", "10,5", "99999,99999"])),
    st.builds(lambda kind: ("format", [kind]), st.sampled_from(["jpeg", "png", "webp", "auto", "preserve"])),
    st.builds(lambda level: ("quality", [level]), st.sampled_from(["lightest", "normal", "best", "smart_retina"])),
    st.builds(lambda flag: ("progressive", [flag]), st.sampled_from(["yes", "no"])),
    st.just(("grayscale", [])),
    st.builds(lambda angle: ("rotate", [angle]), st.sampled_from(["90", "180", "270", "-90"])),
    st.sampled_from([("flip", []), ("mirror", []), ("invert", []), ("enhance", []), ("sharp", ["20"])]),
    st.builds(lambda v: ("brightness", [v]), st.integers(min_value=-100, max_value=100).map(str)),
    st.builds(lambda name: ("filter", [name]), st.sampled_from(sorted(FILTERS))),
    st.builds(lambda s: ("blur", [s]), st.sampled_from(["0", "10", "5000"])),
    st.builds(lambda r: ("border_radius", [r]), st.sampled_from(["0", "10", "50p", "1,2,3,4"])),
    st.builds(lambda at: ("overlay", ["self", "50px50p", at, "50p"]), st.sampled_from(["center", "100p,100p"])),
    st.builds(lambda text: ("text", ["80px20p", "center", quote(text, safe="")]), JUNK),
    st.builds(lambda c: ("rect", [c, "10x10", "center"]), st.sampled_from(["000", "ff000080", "abcdef"])),
    st.sampled_from([("setfill", ["00ff00"]), ("stretch", ["fill"]), ("zoom_objects", ["50"])]),
)
CHAINS = st.lists(st.one_of(REAL, REAL, REAL, st.tuples(NAMES, PARAMS)), min_size=1, max_size=8)


def ops_path(chain: list[tuple[str, list[str]]], filename: str) -> str:
    segments = []
    for name, params in chain:
        segments += ["-", name, *params]
    return quote("/".join(segments) + "/" + filename, safe="/,")


def body_of(response) -> bytes:
    # The test client closes a streamed response once it is read, without closing the test's connection.
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def files(team):
    project = team.project
    image = file_upload(
        project=project, content=ContentFile(png_bytes(40, 30), name="a.png"), filename="a.png", store=True
    )
    text = file_upload(
        project=project, content=ContentFile(b"not an image", name="a.txt"), filename="a.txt", store=True
    )
    return {"image": image.uuid, "text": text.uuid, "unknown": uuid.uuid4()}


@pytest.fixture
def peak_memory():
    """Asserts, after the test, how much the process's peak resident memory grew during it."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mb < PEAK_GROWTH_LIMIT_MB, f"peak RSS grew by {growth_mb:.0f} MB"


@FUZZ
@given(
    chain=CHAINS,
    filename=st.one_of(st.just(""), st.sampled_from(["a.png", "..", "%2e%2e"]), JUNK),
    target=st.sampled_from(["image", "image", "image", "text", "unknown"]),
    webp=st.booleans(),
)
def test_operation_strings(client, files, peak_memory, chain, filename, target, webp):
    url = f"/cdn/{files[target]}/{ops_path(chain, filename)}"
    response = client.get(url, HTTP_ACCEPT="image/webp,*/*" if webp else "*/*")
    body = body_of(response)
    assert response.status_code < 500, (url, body[:300])
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    if response.status_code == 200:
        assert target == "image" and response["Content-Type"].startswith(("image/", "application/json")) and body, url
    elif response.status_code == 400:
        assert response["Content-Type"] == "text/plain; charset=utf-8" and body.strip(), url


def test_the_largest_chain_allowed_stays_within_the_memory_bound(client, files, peak_memory):
    """Every step at the 5000 px cap, one after another: each intermediate image is bounded by the cap."""
    chain = "-/resize/5000x5000/-/scale_crop/5000x4999/center/-/crop/5000x5000/center/-/grayscale/-/format/png/"
    response = client.get(f"/cdn/{files['image']}/{chain}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert body_of(response).startswith(b"\x89PNG")
    assert client.get(f"/cdn/{files['image']}/-/resize/5001x/").status_code == 400
