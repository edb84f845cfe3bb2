"""Headers, CSP, production cookie and HSTS settings, and 429 + Retry-After on every limited door.

`manage.py check --deploy` with production settings is tested in tests/test_config.py
(test_production_settings_pass_the_deploy_check); login/signup/password-reset limits are in
tests/accounts/test_rate_limits.py, extended here with the password reset and the Retry-After header.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import UserFactory, make_key
from tests.helpers import ACCEPT, one_window
from tests.security.urlmap import dashboard_pages

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


# Pages: strict CSP, no inline scripts or styles, security headers.


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


def test_dashboard_pages_have_a_strict_csp_and_no_inline_code(login, team):
    client = login(team.owner)
    pages = [*dashboard_pages(team), "/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]
    assert len(pages) > 20
    problems = []
    for url in pages:
        response = client.get(url)
        assert (url, response.status_code) == (url, 200)  # a page that stops being one fails, not skips
        assert response["Content-Type"].startswith("text/html"), url
        csp = _csp(response)
        html = response.content.decode()
        for directive in ("script-src", "style-src"):
            sources = csp.get(directive) or csp.get("default-src")
            if "'unsafe-inline'" in sources or "'unsafe-eval'" in sources:
                problems.append(f"{url}: {directive} {sources}")
        if csp.get("frame-ancestors") != ["'none'"] or csp.get("object-src") != ["'none'"]:
            problems.append(f"{url}: frame-ancestors/object-src {csp}")
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("style=", INLINE_STYLE_ATTR),
            ("on…= handler", INLINE_HANDLER),
        ):
            if pattern.search(html):
                problems.append(f"{url}: {name}: {pattern.search(html).group(0)!r}")
    assert not problems, problems


def test_signed_out_pages_have_a_strict_csp_and_no_inline_code(client, db):
    for url in ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE_ATTR.search(html), url


@pytest.mark.parametrize(
    ("url", "status"), [("/accounts/login/", 200), ("/healthz", 200), ("/upload/info/", 403), ("/api/project/", 406)]
)
def test_security_headers(client, db, url, status):
    response = client.get(url)
    assert response.status_code == status  # errors too carry the headers
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def _production(code: str) -> dict:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FILEDOCK_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "p" * 50 + "-a-long-varied-test-secret-0123456789",
        "DJANGO_ALLOWED_HOSTS": "files.example.com",
        "FILEDOCK_FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=",
    }
    script = f"import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({code}))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_secure_cookies_hsts_and_headers():
    values = _production(
        '{"session": s.SESSION_COOKIE_SECURE, "csrf": s.CSRF_COOKIE_SECURE, "hsts": s.SECURE_HSTS_SECONDS,'
        ' "subdomains": s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "ssl": s.SECURE_SSL_REDIRECT, "debug": s.DEBUG,'
        ' "nosniff": s.SECURE_CONTENT_TYPE_NOSNIFF, "referrer": s.SECURE_REFERRER_POLICY,'
        ' "frame": s.X_FRAME_OPTIONS, "httponly": s.SESSION_COOKIE_HTTPONLY,'
        ' "upload_rate": s.FILEDOCK_RATE_UPLOAD, "upload_ip_rate": s.FILEDOCK_RATE_UPLOAD_IP}'
    )
    assert values["session"] is True and values["csrf"] is True and values["httponly"] is True
    assert values["hsts"] >= 31536000 and values["subdomains"] is True and values["ssl"] is True
    assert values["debug"] is False and values["nosniff"] is True
    assert values["referrer"] == "same-origin" and values["frame"] == "DENY"
    assert (values["upload_rate"], values["upload_ip_rate"]) == ("1200/min", "600/min")


def test_production_sends_hsts_over_https(settings, client, db):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


# Rate limits: 429 with Retry-After.


def test_password_reset_is_limited(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "2/m/ip"}
    user = UserFactory()
    responses = [client.post(reverse("account_reset_password"), {"email": user.email}) for _ in range(3)]
    assert [r.status_code for r in responses] == [302, 302, 429]
    assert responses[2]["Retry-After"] == "60"


def test_login_is_limited_per_address(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    user = UserFactory()
    responses = [client.post(reverse("account_login"), {"login": user.email, "password": "wrong"}) for _ in range(3)]
    assert responses[2].status_code == 429 and responses[2]["Retry-After"] == "60"
    assert "Too many requests" in responses[2].content.decode()


@pytest.fixture
def project(team):
    return team.project


def _info(client, project, file_id, **extra):
    return client.get("/upload/info/", {"pub_key": project.public_key, "file_id": file_id, **extra})


def test_upload_api_is_limited_per_public_key_with_retry_after(client, project, settings):
    from files.services import file_upload

    settings.FILEDOCK_RATE_UPLOAD = "3/min"

    one_window()
    file = file_upload(project=project, content=ContentFile(b"x", name="a.txt"), filename="a.txt", store=True)
    assert [_info(client, project, str(file.uuid)).status_code for _ in range(3)] == [200, 200, 200]
    response = _info(client, project, str(file.uuid))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.content.decode().startswith("Request was throttled.")
    assert response["Access-Control-Allow-Origin"] == "*"
    upload = client.post(
        "/upload/base/", {"UPLOADCARE_PUB_KEY": project.public_key, "file": ContentFile(b"y", name="b.txt")}
    )
    assert upload.status_code == 429 and project.files.count() == 1
    # Another project's key is counted on its own.
    other = project.memberships.model.objects.exclude(project=project).first().project
    assert client.get("/upload/info/", {"pub_key": other.public_key, "file_id": str(file.uuid)}).status_code == 404


def test_upload_api_limit_with_jsonerrors_keeps_the_error_shape(client, project, settings):
    settings.FILEDOCK_RATE_UPLOAD = "1/min"
    one_window()
    _info(client, project, "nope")
    response = _info(client, project, "nope", jsonerrors="1")
    assert response.status_code == 200 and int(response["Retry-After"]) >= 1
    assert response.json()["error"]["status_code"] == 429
    assert response.json()["error"]["error_code"] == "RequestThrottledError"


def test_upload_api_is_limited_per_address(client, project, settings):
    settings.FILEDOCK_RATE_UPLOAD_IP = "2/min"
    one_window()
    statuses = [
        client.post("/upload/group/", {"pub_key": project.public_key, "files[0]": "x"}).status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
    # From another address the same key still works.
    assert (
        client.post(
            "/upload/group/", {"pub_key": project.public_key, "files[0]": "x"}, REMOTE_ADDR="127.0.0.2"
        ).status_code
        == 400
    )


def test_upload_sources_are_limited_like_the_rest_of_the_upload_api(client, project, settings):
    settings.FILEDOCK_RATE_UPLOAD = "1/min"
    one_window()
    assert client.get("/upload/sources/", {"pub_key": project.public_key}).status_code == 200
    response = client.get("/upload/sources/", {"pub_key": project.public_key})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_cors_preflight_is_not_counted(client, project, settings):
    settings.FILEDOCK_RATE_UPLOAD_IP = "1/min"
    assert [client.options("/upload/base/").status_code for _ in range(3)] == [204, 204, 204]


def test_rest_api_throttle_answers_429_with_retry_after(client, team, settings):

    settings.FILEDOCK_API_RATE = "2/min"

    one_window()
    _key, secret = make_key(team.project, label="t")
    auth = {"HTTP_AUTHORIZATION": f"Uploadcare.Simple {team.project.public_key}:{secret}", "HTTP_ACCEPT": ACCEPT}
    statuses = [client.get("/api/project/", **auth) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 1 <= int(statuses[2]["Retry-After"]) <= 60
    assert "throttled" in statuses[2].json()["detail"]
