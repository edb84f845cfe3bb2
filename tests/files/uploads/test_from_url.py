"""Upload from URL: a real local HTTP server as the source, a real Celery worker fetching."""

import pytest
from pytest_httpserver import HTTPServer

from files.models import File, FromUrlTask
from files.uploads.from_url import from_url_fetch
from tests.helpers import png_bytes, wait_until


def post(client, project, url, **fields):
    return client.post("/from_url/", {"pub_key": project.public_key, "source_url": url, "store": "1", **fields})


def status(client, token):
    return client.get("/from_url/status/", {"token": token}).json()


@pytest.mark.celery_worker
def test_worker_fetches_and_status_reports_success(client, team, httpserver, celery_worker):
    httpserver.expect_request("/pics/cat.png").respond_with_data(png_bytes(), content_type="image/png")
    response = post(client, team.project, httpserver.url_for("/pics/cat.png"))
    assert response.json()["type"] == "token"
    token = response.json()["token"]
    assert wait_until(lambda: status(client, token)["status"] == "success")
    info = status(client, token)
    assert info["original_filename"] == "cat.png" and info["is_image"] and info["is_stored"]
    file = File.objects.get(uuid=info["uuid"])
    assert file.size == len(png_bytes()) and file.source == "from_url"


def test_duplicate_url_answers_with_the_known_file(client, team, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data("hello")
    token = post(client, team.project, httpserver.url_for("/a.txt")).json()["token"]
    from_url_fetch(token=token)
    again = post(client, team.project, httpserver.url_for("/a.txt"), check_URL_duplicates="1").json()
    assert again["type"] == "file_info" and again["file_id"] == status(client, token)["uuid"]
    assert post(client, team.project, httpserver.url_for("/a.txt")).json()["type"] == "token"


def test_progress_fields_are_always_present(client, team, httpserver):
    token = post(client, team.project, httpserver.url_for("/slow")).json()["token"]
    assert status(client, token) == {"status": "waiting", "done": 0, "total": 0}


def test_source_errors_are_reported(client, team, httpserver):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    token = post(client, team.project, httpserver.url_for("/missing")).json()["token"]
    from_url_fetch(token=token)
    result = status(client, token)
    assert result["status"] == "error" and result["error_code"] == "DownloadFileNotFoundError"
    assert not File.objects.exists()


def test_too_big_download_is_refused_and_leaves_nothing(client, team, httpserver):
    team.project.max_file_size = 100
    team.project.save()
    httpserver.expect_request("/big").respond_with_data("x" * 1000)
    token = post(client, team.project, httpserver.url_for("/big")).json()["token"]
    from_url_fetch(token=token)
    assert status(client, token)["error_code"] == "DownloadFileSizeLimitExceededError"
    assert not File.objects.exists()


def test_running_the_fetch_twice_makes_one_file(client, team, httpserver):
    httpserver.expect_request("/once.txt").respond_with_data("x")
    token = post(client, team.project, httpserver.url_for("/once.txt")).json()["token"]
    from_url_fetch(token=token)
    from_url_fetch(token=token)
    assert File.objects.count() == 1


def test_private_addresses_are_refused_unless_allowed(client, team, httpserver, settings):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    response = post(client, team.project, httpserver.url_for("/a.txt"))
    assert response.status_code == 400 and response.content == b"Only public IPs are allowed."
    assert not FromUrlTask.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", b"source_url is required."),
        ("ftp://example.com/a", b"Invalid URL scheme."),
        ("example.com/a", b"Scheme is required."),
        ("http://no-such-host.invalid/a", b"Host does not exist."),
    ],
)
def test_bad_source_urls(client, team, url, message):
    response = post(client, team.project, url)
    assert response.status_code == 400 and response.content == message


def test_redirect_into_a_private_address_is_refused(client, team, settings):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    inner = HTTPServer(host="127.0.0.2", port=0)
    inner.start()
    outer = HTTPServer(host="127.0.0.1", port=0)
    outer.start()
    try:
        inner.expect_request("/secret").respond_with_data("internal")
        outer.expect_request("/go").respond_with_data("", status=302, headers={"Location": inner.url_for("/secret")})
        token = post(client, team.project, outer.url_for("/go")).json()["token"]
        from_url_fetch(token=token)
        assert status(client, token)["error_code"] == "URLHostPrivateIPForbiddenError"
        assert not inner.log
    finally:
        inner.stop()
        outer.stop()


def test_unknown_token(client, db):
    assert status(client, "0b8f4a0e-1111-4222-8333-444455556666") == {"status": "unknown"}
    assert client.get("/from_url/status/").status_code == 400


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("source_url", {"source_url": "http://127.0.0.1:1/a\x00b"}),
        ("filename", {"filename": "a\x00.png"}),
    ],
)
def test_a_nul_in_the_url_or_filename_is_invalid(client, team, field, fields):
    response = post(client, team.project, "http://127.0.0.1:1/a.png", **fields)
    assert (response.status_code, response.content.decode()) == (400, f"{field} is invalid.")
    assert not FromUrlTask.objects.exists()
