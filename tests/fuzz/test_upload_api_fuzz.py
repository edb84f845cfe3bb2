"""Hypothesis against the Upload API's form and query parameters: valid values mixed with junk (unicode,
NUL bytes, huge and negative numbers, empty, missing and repeated fields). Never a 5xx; every refusal
is the Upload API's error answer (a text/plain message, or the JSON `error` object with `jsonerrors=1`).

From-URL sources point only at a local HTTP server, at loopback, or at URLs refused before any lookup;
no worker runs, so accepted fetches just stay queued."""

import time
import uuid

import pytest
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from files.services import file_upload
from files.uploads.groups import group_create
from files.uploads.multipart import multipart_start
from projects.services import project_configure_uploads, project_create
from tests.helpers import png_bytes, sign

EXAMPLES = 50
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
MISSING = object()
# Any character a form can carry (UTF-8 cannot encode lone surrogates).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
JUNK = st.one_of(
    TEXT,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "1",
            "-1",
            "auto",
            "true",
            "None",
            "null",
            "NaN",
            "1e309",
            "0x10",
            "\x00",
            "a\x00b",
            "²",
            "\u0663",
            "9" * 400,
            "x" * 5000,
            "../../etc/passwd",
            "%00",
            "<script>",
            "{}",
            "[]",
            "\u202e\ufeff",
        ]
    ),
)

# What a multipart header can carry as a field or file name: no CR, LF or double quote.
HEADER_SAFE = TEXT.filter(lambda s: not set(s) & set('\r\n"'))


def field(*valid) -> st.SearchStrategy:
    """A form field: missing, one of the valid values, junk, or sent more than once."""
    value = st.one_of(st.sampled_from(valid), JUNK) if valid else JUNK
    return st.one_of(st.just(MISSING), value, value, st.lists(value, min_size=2, max_size=3))


def mostly(*valid) -> st.SearchStrategy:
    """A field that is usually valid, so the checks behind it are reached too."""
    return st.one_of(*[st.sampled_from(valid)] * 3, field(*valid))


def form(**fields) -> st.SearchStrategy:
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})


def metadata_fields() -> st.SearchStrategy:
    keys = st.one_of(st.sampled_from(["k", "subsystem", "a" * 65, "", "k]", "[", "x.y:z-1"]), HEADER_SAFE)
    return st.dictionaries(keys.map(lambda key: f"metadata[{key}]"), st.one_of(st.just("v"), JUNK), max_size=3)


def assert_upload_api_answer(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.strip()
    elif response.status_code == 200:
        body = response.json()
        if "error" in body:
            assert set(body["error"]) == {"content", "status_code", "error_code"}
            assert 400 <= body["error"]["status_code"] < 500
    else:
        assert response.status_code == 204  # OPTIONS only


@pytest.fixture
def seeds(team):
    """Two projects (one requires signed uploads), a file, a removed-free group and an open multipart upload."""
    project = team.project
    signed = project_create(owner=team.owner, name="Signed")
    project_configure_uploads(
        project=signed, autostore_enabled=False, require_signed_uploads=True, max_file_size=None, allowed_mime_types=""
    )
    file = file_upload(project=project, content=ContentFile(png_bytes(), name="a.png"), filename="a.png", store=True)
    group = group_create(project=project, refs=[str(file.uuid), f"{file.uuid}/-/resize/10x/"])
    upload = multipart_start(
        project=project, filename="big.bin", size=12 * 1024 * 1024, content_type="", store="auto", metadata={}
    )
    return {
        "keys": [project.public_key, signed.public_key],
        "secret": signed.secret_keys.get().secret,
        "file": str(file.uuid),
        "group": group.id,
        "multipart": str(upload.uuid),
    }


def signed_fields(data, seeds) -> dict:
    """`expire` and `signature`: missing, junk, or a valid pair for the signed project."""
    expire = data.draw(field(str(int(time.time()) + 3600), str(int(time.time()) - 10), "99999999999999999999"))
    signatures = ["0" * 64]
    if isinstance(expire, str):
        signatures.append(sign(seeds["secret"], expire))
    fields = {"expire": expire, "signature": data.draw(field(*signatures))}
    return {k: v for k, v in fields.items() if v is not MISSING}


JSONERRORS = st.sampled_from([{}, {}, {"jsonerrors": "1"}])


@FUZZ
@given(data=st.data())
def test_base_upload(client, seeds, data):
    fields = data.draw(form(UPLOADCARE_PUB_KEY=mostly(*seeds["keys"]), UPLOADCARE_STORE=field("0", "1", "auto")))
    fields |= signed_fields(data, seeds) | data.draw(metadata_fields()) | data.draw(JSONERRORS)
    names = st.one_of(
        st.sampled_from(["file", "a.png", "files[0]", "..", ".", "", "../../a.png", "a/b\\c.png"]), HEADER_SAFE
    )
    bodies = st.sampled_from([b"", b"hello", png_bytes(4, 4), b"\x89PNG\r\n\x1a\n broken"])
    uploads = data.draw(st.lists(st.tuples(names, names, bodies), max_size=3))
    body = multipart_body(fields, uploads)
    response = client.generic("POST", "/upload/base/", body, content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert_upload_api_answer(response)


BOUNDARY = "fuzzBoUnDaRy7f3a"


def multipart_body(fields: dict, uploads: list[tuple[str, str, bytes]]) -> bytes:
    """The form as a browser would send it, with the file names exactly as drawn (Django's test client
    refuses some, such as "..")."""
    parts = []
    for name, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode())
    for field_name, filename, content in uploads:
        head = f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        parts.append((head + "Content-Type: application/octet-stream\r\n\r\n").encode() + content)
    delimiter = f"--{BOUNDARY}\r\n".encode()
    return b"".join(delimiter + part + b"\r\n" for part in parts) + f"--{BOUNDARY}--\r\n".encode()


@FUZZ
@given(data=st.data())
def test_from_url(client, seeds, httpserver, data):
    httpserver.expect_request("/a.png").respond_with_data(png_bytes(), content_type="image/png")
    local = httpserver.url_for("/")
    sources = st.one_of(
        st.sampled_from(
            [
                local + "a.png",
                local + "missing",
                local + "..%2f..%2fetc/passwd",
                "http://127.0.0.1:99999/",
                "http://[::1]:1/",
                "http://localhost:1/x",
                "ftp://127.0.0.1/a",
                "file:///etc/passwd",
                "javascript:alert(1)",
                "http://",
                "http:///nohost",
                "http://[::1",
                "//127.0.0.1/a",
                "http://user:pw@127.0.0.1:1/",
            ]
        ),
        TEXT.map(lambda path: local + path),
        TEXT.filter(lambda s: "//" not in s),  # never a host name that would need a DNS lookup
    )
    fields = data.draw(
        form(
            pub_key=mostly(*seeds["keys"]),
            source_url=field().flatmap(lambda _: sources) | st.just(MISSING),
            store=field("0", "1", "auto"),
            filename=field("a.png"),
            check_URL_duplicates=field("0", "1"),
            save_URL_duplicates=field("0", "1"),
        )
    )
    fields |= signed_fields(data, seeds) | data.draw(metadata_fields()) | data.draw(JSONERRORS)
    assert_upload_api_answer(client.post("/upload/from_url/", fields))


@FUZZ
@given(data=st.data())
def test_from_url_status(client, seeds, data):
    query = data.draw(form(token=field(str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000")))
    assert_upload_api_answer(client.get("/upload/from_url/status/", query | data.draw(JSONERRORS)))


@FUZZ
@given(data=st.data())
def test_info(client, seeds, data):
    query = data.draw(form(pub_key=mostly(*seeds["keys"]), file_id=mostly(seeds["file"], str(uuid.uuid4()))))
    assert_upload_api_answer(client.get("/upload/info/", query | data.draw(JSONERRORS)))


@FUZZ
@given(data=st.data())
def test_group(client, seeds, data):
    refs = [seeds["file"], f"{seeds['file']}/-/resize/10x/", f"{seeds['file']}/-/crop/1x1/", str(uuid.uuid4())]
    fields = data.draw(form(pub_key=mostly(*seeds["keys"])))
    items = data.draw(st.lists(mostly(*refs), max_size=4))
    style = data.draw(st.sampled_from(["indexed", "brackets", "gap"]))
    for index, item in enumerate(items):
        if item is not MISSING:
            name = "files[]" if style == "brackets" else f"files[{index * 2 if style == 'gap' else index}]"
            fields[name] = item
    fields |= signed_fields(data, seeds) | data.draw(JSONERRORS)
    assert_upload_api_answer(client.post("/upload/group/", fields))


@FUZZ
@given(data=st.data())
def test_group_info(client, seeds, data):
    bad_count = seeds["group"].split("~")[0] + "~99"
    query = data.draw(form(pub_key=mostly(*seeds["keys"]), group_id=mostly(seeds["group"], bad_count, "~", "x~1")))
    assert_upload_api_answer(client.get("/upload/group/info/", query | data.draw(JSONERRORS)))


@FUZZ
@given(data=st.data())
def test_multipart_start(client, seeds, data):
    fields = data.draw(
        form(
            UPLOADCARE_PUB_KEY=mostly(*seeds["keys"]),
            filename=mostly("big.bin", "a.png"),
            size=field("1", str(11 * 1024 * 1024), str(2**63), "0"),
            content_type=field("image/png", "application/x-junk"),
            part_size=field("5242880", "1", "0"),
            UPLOADCARE_STORE=field("0", "1", "auto"),
        )
    )
    fields |= signed_fields(data, seeds) | data.draw(metadata_fields()) | data.draw(JSONERRORS)
    assert_upload_api_answer(client.post("/upload/multipart/start/", fields))


@FUZZ
@given(data=st.data())
def test_multipart_complete(client, seeds, data):
    fields = data.draw(
        form(
            UPLOADCARE_PUB_KEY=mostly(*seeds["keys"]),
            uuid=mostly(seeds["multipart"], str(uuid.uuid4())),
        )
    )
    assert_upload_api_answer(client.post("/upload/multipart/complete/", fields | data.draw(JSONERRORS)))
