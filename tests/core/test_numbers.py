"""core.numbers.bounded_int, and the request and origin numbers that go through it: none of them
can make int() raise (over 4,300 digits) or work on thousands of digits."""

import pytest
from allauth.usersessions.models import UserSession
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.numbers import bounded_int
from files.cdn import proxy
from files.services import file_upload
from tests.factories import UserFactory
from tests.helpers import api_upload

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("00042", 42), ("", None), ("-1", None), ("1e3", None), ("²", None), ("１２", None), (" 1", None)],
)
def test_bounded_int_reads_plain_ascii_digits(text, expected):
    assert bounded_int(text) == expected


def test_bounded_int_caps_without_converting_the_digits():
    assert bounded_int(HUGE) == 2**63 - 1
    assert bounded_int(HUGE, cap=10) == 10 and bounded_int("11", cap=10) == 10 and bounded_int("9", cap=10) == 9


@pytest.fixture
def stored(team):
    return file_upload(
        project=team.project, content=ContentFile(b"0123456789", name="a.txt"), filename="a.txt", store=True
    )


@pytest.mark.parametrize(
    ("header", "status", "content"),
    [
        (f"bytes=0-{HUGE}", 206, b"0123456789"),
        (f"bytes={HUGE}-", 416, b""),
        (f"bytes=-{HUGE}", 206, b"0123456789"),
        ("bytes=-\u0663", 200, b"0123456789"),  # another script's digit is no range (it was a 500)
    ],
)
def test_a_range_of_thousands_of_digits_is_answered_not_a_server_error(client, stored, header, status, content):
    response = client.get(f"/cdn/{stored.uuid}/", HTTP_RANGE=header)
    body = b"".join(response.streaming_content) if response.streaming else b""
    assert response.status_code == status and body == content


def test_an_expire_of_thousands_of_digits_is_checked_like_any_other(client, team):
    team.project.require_signed_uploads = True
    team.project.save()
    response = api_upload(client, team.project, {"f": SimpleUploadedFile("f.txt", b"x")}, expire=HUGE, signature="ab")
    assert response.status_code == 403 and b"signature" in response.content.lower()


def test_an_origins_max_age_of_thousands_of_digits_is_a_years_freshness(client, team, httpserver):
    proxy.proxy_domain_add(project=team.project, pattern=httpserver.host)
    httpserver.expect_request("/a.txt").respond_with_data(b"remote", headers={"Cache-Control": f"max-age={HUGE}"})
    response = client.get(f"/proxy/{team.project.public_key}/{httpserver.url_for('/a.txt')}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"remote"


def test_the_admins_session_search_works_with_email_accounts(db):
    person = UserFactory(email="someone@example.com")
    UserSession.objects.create(user=person, ip="203.0.113.9", session_key="k" * 32, user_agent="UA")
    staff = Client()
    staff.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    response = staff.get("/admin/usersessions/usersession/", {"q": "someone@"})
    assert response.status_code == 200 and b"203.0.113.9" in response.content
