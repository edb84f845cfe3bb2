"""Hypothesis against every request header and field that is read as a number: Range on the CDN
and the proxy, the Upload API's `expire` and multipart `size`, the REST API's `limit`, `offset`
and `from`. Numbers of thousands of digits (past int()'s 4,300), signs, exponents, other scripts'
digits and junk: never a 5xx."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from files.services import file_upload
from tests.helpers import ACCEPT

FUZZ = settings(
    max_examples=40, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=4000, max_value=6000).map(lambda n: "9" * n),
    st.builds(
        lambda n, d: d * n, st.integers(min_value=1, max_value=5000), st.sampled_from(["1", "\u0663", "²", "０"])
    ),
    st.sampled_from(["", " ", "-0", "1e309", "NaN", "inf", "0x10", "1.5", "+5", "\x00", "1 2", "9" * 4301]),
    st.text(max_size=20),
)


@pytest.fixture
def stored(team):
    return file_upload(
        project=team.project, content=ContentFile(b"0123456789", name="a.txt"), filename="a.txt", store=True
    )


@FUZZ
@given(first=NUMBER, last=NUMBER)
def test_range_headers(client, stored, first, last):
    for header in (f"bytes={first}-{last}", f"bytes=-{last}", f"bytes={first}-", f"bytes={first}"):
        response = client.get(f"/cdn/{stored.uuid}/", HTTP_RANGE=header)
        assert response.status_code in (200, 206, 416), (header[:80], response.status_code)


@FUZZ
@given(expire=NUMBER, size=NUMBER)
def test_upload_api_numbers(client, team, expire, size):
    project = team.project
    if not project.require_signed_uploads:
        project.require_signed_uploads = True
        project.save()
    base = client.post(
        "/upload/base/",
        {
            "UPLOADCARE_PUB_KEY": project.public_key,
            "f": SimpleUploadedFile("f.txt", b"x"),
            "expire": expire,
            "signature": "ab",
        },
    )
    assert base.status_code in (400, 403), base.status_code
    start = client.post(
        "/upload/multipart/start/",
        {
            "UPLOADCARE_PUB_KEY": project.public_key,
            "filename": "a.bin",
            "size": size,
            "expire": expire,
            "signature": "ab",
        },
    )
    assert start.status_code in (400, 403), start.status_code


@FUZZ
@given(limit=NUMBER, offset=NUMBER, start=NUMBER)
def test_rest_paging_numbers(client, team, limit, offset, start):
    secret = team.project.secret_keys.get().secret
    auth = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {team.project.public_key}:{secret}", "HTTP_ACCEPT": ACCEPT}
    response = client.get("/api/files/", {"limit": limit, "offset": offset, "from": start}, **auth)
    assert response.status_code in (200, 400), (response.status_code, response.content[:200])
