"""The proxy endpoint and its services, with pytest-httpserver as the origin (tests allow loopback)."""

import io
import threading
from datetime import timedelta

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Sum
from django.utils import timezone
from PIL import Image
from werkzeug import Response

from billing.metering import usage_flush
from billing.models import UsageDay
from files.cdn import proxy
from files.cdn.proxy_views import split_path
from files.models import ProxiedFile
from tests.helpers import png_bytes, wait_until

DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def project(team, httpserver):
    proxy.proxy_domain_add(project=team.project, pattern=httpserver.host)  # "localhost"
    return team.project


def endpoint(project, remote: str, ops: str = "") -> str:
    return f"/proxy/{project.public_key}/{ops}{remote}"


def traffic(project) -> int:
    usage_flush()
    return UsageDay.objects.filter(project=project).aggregate(n=Sum("traffic_bytes"))["n"] or 0


# Domains


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Images.Example.COM", "images.example.com"),
        ("*.example.com", "*.example.com"),
        ("  cdn.example.com.  ", "cdn.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_domain_patterns_are_normalised(value, expected):
    assert proxy.normalize_pattern(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://example.com",
        "example.com/path",
        "example.com:8080",
        "*",
        "*.",
        "a.*.example.com",
        "example*.com",
        "-bad.example.com",
        "exa mple.com",
        "user@example.com",
        "a" * 64 + ".com",
    ],
)
def test_bad_domain_patterns_are_refused(value):
    with pytest.raises(ValidationError):
        proxy.normalize_pattern(value)


def test_a_domain_is_added_once_per_project(team):
    proxy.proxy_domain_add(project=team.project, pattern="Example.com")
    with pytest.raises(ValidationError) as exc:
        proxy.proxy_domain_add(project=team.project, pattern="example.com")
    assert "already allowed" in str(exc.value)
    assert list(team.project.proxy_domains.values_list("pattern", flat=True)) == ["example.com"]


def test_wildcard_matches_subdomains_at_any_depth_but_not_the_domain_itself():
    patterns = ["*.example.com", "exact.org"]
    assert proxy.host_allowed("a.example.com", patterns)
    assert proxy.host_allowed("a.b.EXAMPLE.com", patterns)
    assert proxy.host_allowed("exact.org", patterns)
    assert not proxy.host_allowed("example.com", patterns)
    assert not proxy.host_allowed("badexample.com", patterns)
    assert not proxy.host_allowed("sub.exact.org", patterns)
    assert proxy.host_allowed("bücher.example", ["bücher.example".encode("idna").decode()])


@pytest.mark.parametrize(
    ("rest", "query", "expected"),
    [
        ("https://example.com/a.png", "", ("", "https://example.com/a.png")),
        ("https:/example.com/a.png", "", ("", "https://example.com/a.png")),
        ("http://example.com/dir/a b.png", "w=1&h=2", ("", "http://example.com/dir/a%20b.png?w=1&h=2")),
        ("-/preview/200x200/https://example.com/a.png", "", ("-/preview/200x200/", "https://example.com/a.png")),
        (
            "-/resize/100x/-/format/webp/https:/example.com/",
            "",
            ("-/resize/100x/-/format/webp/", "https://example.com/"),
        ),
    ],
)
def test_the_path_splits_into_operations_and_remote_url(rest, query, expected):
    assert split_path(rest, query) == expected


@pytest.mark.parametrize("rest", ["example.com/a.png", "resize/https://example.com/a.png", "https:///a.png"])
def test_a_path_without_a_usable_remote_url_is_refused(rest):
    with pytest.raises(ValueError):
        split_path(rest, "")


# The endpoint


def test_allowed_file_is_fetched_once_then_served_from_the_cache(client, project, httpserver):
    httpserver.expect_request("/docs/a.txt").respond_with_data(
        DATA, content_type="text/plain", headers={"ETag": '"v1"', "Cache-Control": "max-age=600"}
    )
    url = endpoint(project, httpserver.url_for("/docs/a.txt"))
    first, second = client.get(url), client.get(url)
    assert (first.status_code, body(first)) == (200, DATA)
    assert (second.status_code, body(second)) == (200, DATA)
    assert len(httpserver.log) == 1  # the second request never reached the origin
    row = ProxiedFile.objects.get(project=project)
    assert row.etag == '"v1"' and row.size == len(DATA) and row.mime_type == "text/plain"
    assert row.storage_key == f"proxy/{project.pk}/{row.url_hash}/{row.version}"
    assert first["ETag"] == f'"{row.version}"'
    assert first["Content-Disposition"] == 'inline; filename="a.txt"'
    assert first["Accept-Ranges"] == "bytes" and first["X-Content-Type-Options"] == "nosniff"
    assert first["Content-Security-Policy"].startswith("sandbox")
    assert first["Access-Control-Allow-Origin"] == "*"
    assert 590 <= int(first["Cache-Control"].split("max-age=")[1]) <= 600


def test_collapsed_double_slash_and_query_string_reach_the_origin(client, project, httpserver):
    httpserver.expect_request("/img", query_string="w=1&x=a%20b").respond_with_data(DATA)
    remote = httpserver.url_for("/img").replace("http://", "http:/")
    response = client.get(endpoint(project, remote) + "?w=1&x=a%20b")
    assert (response.status_code, body(response)) == (200, DATA)


def test_unknown_public_key_is_404(client, project, httpserver):
    response = client.get(f"/proxy/nosuchkey/{httpserver.url_for('/a.txt')}")
    assert response.status_code == 404 and len(httpserver.log) == 0


def test_host_not_allowed_is_403_naming_the_host_and_the_settings(client, team, httpserver):
    proxy.proxy_domain_add(project=team.project, pattern="*.localhost")  # subdomains only
    response = client.get(endpoint(team.project, httpserver.url_for("/a.txt")))
    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "localhost is not an allowed domain" in response.content.decode()
    assert "Proxy settings" in response.content.decode()
    assert len(httpserver.log) == 0


def test_redirect_to_a_host_not_allowed_is_refused(client, project, httpserver):
    elsewhere = httpserver.url_for("/a.txt").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/jump").respond_with_data("", status=302, headers={"Location": elsewhere})
    response = client.get(endpoint(project, httpserver.url_for("/jump")))
    assert response.status_code == 403 and "127.0.0.1 is not an allowed domain" in response.content.decode()


def test_redirect_within_allowed_hosts_is_followed(client, project, httpserver):
    httpserver.expect_request("/jump").respond_with_data("", status=302, headers={"Location": "/a.txt"})
    httpserver.expect_request("/a.txt").respond_with_data(DATA)
    response = client.get(endpoint(project, httpserver.url_for("/jump")))
    assert (response.status_code, body(response)) == (200, DATA)


def test_private_address_is_refused_when_loopback_is_not_allowed(client, project, httpserver, settings):
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []
    httpserver.expect_request("/a.txt").respond_with_data(DATA)
    response = client.get(endpoint(project, httpserver.url_for("/a.txt")))
    assert response.status_code == 403 and "Only public IPs are allowed" in response.content.decode()
    assert len(httpserver.log) == 0 and not ProxiedFile.objects.exists()


def test_origin_error_is_502_and_nothing_is_cached(client, project, httpserver):
    httpserver.expect_request("/missing.png").respond_with_data("nope", status=404)
    response = client.get(endpoint(project, httpserver.url_for("/missing.png")))
    assert response.status_code == 502 and "HTTP 404" in response.content.decode()
    assert not ProxiedFile.objects.exists()


def test_file_over_the_size_limit_is_413(client, project, httpserver, settings):
    settings.FILEDOCK_PROXY_MAX_SIZE = 10
    httpserver.expect_request("/big").respond_with_data(DATA)  # Content-Length says it at once
    httpserver.expect_request("/chunked").respond_with_response(Response(iter([DATA[:8], DATA[8:]])))
    for path in ("/big", "/chunked"):
        response = client.get(endpoint(project, httpserver.url_for(path)))
        assert response.status_code == 413, path
    assert not ProxiedFile.objects.exists()
    assert not default_storage.exists(f"proxy/{project.pk}")


def test_slow_origin_hits_the_time_limit(client, project, httpserver, settings):
    settings.FILEDOCK_PROXY_TIMEOUT = 1

    release = threading.Event()

    def slow(request):
        release.wait(10)  # answers only once the test has seen the time limit hit
        return Response(DATA)

    httpserver.expect_request("/slow").respond_with_handler(slow)
    response = client.get(endpoint(project, httpserver.url_for("/slow")))
    assert response.status_code == 502 and "within 1 s" in response.content.decode()
    release.set()
    assert wait_until(lambda: httpserver.log)  # the handler finishes inside this test


def _expire(project):
    ProxiedFile.objects.filter(project=project).update(revalidate_after=timezone.now() - timedelta(seconds=1))


def test_stale_copy_is_revalidated_and_a_304_keeps_it(client, project, httpserver):
    last_modified = "Wed, 01 Jan 2025 00:00:00 GMT"
    httpserver.expect_request("/a.txt").respond_with_data(
        DATA, headers={"ETag": '"v1"', "Last-Modified": last_modified}
    )
    url = endpoint(project, httpserver.url_for("/a.txt"))
    client.get(url)
    before = ProxiedFile.objects.get()
    _expire(project)
    httpserver.clear_all_handlers()
    httpserver.expect_request(
        "/a.txt", headers={"If-None-Match": '"v1"', "If-Modified-Since": last_modified}
    ).respond_with_data("", status=304, headers={"Cache-Control": "max-age=120"})
    response = client.get(url)
    assert (response.status_code, body(response)) == (200, DATA)
    after = ProxiedFile.objects.get()
    assert after.storage_key == before.storage_key and after.fetched_at == before.fetched_at
    assert timedelta(seconds=100) < after.revalidate_after - timezone.now() <= timedelta(seconds=120)
    assert response["Last-Modified"] == last_modified
    assert [request.path for request, _ in httpserver.log] == ["/a.txt", "/a.txt"]


def test_stale_copy_is_replaced_when_the_origin_answers_200(client, project, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data(DATA, headers={"ETag": '"v1"'})
    url = endpoint(project, httpserver.url_for("/a.txt"))
    first = client.get(url)
    old = ProxiedFile.objects.get()
    _expire(project)
    httpserver.clear_all_handlers()
    httpserver.expect_request("/a.txt").respond_with_data(b"new bytes", headers={"ETag": '"v2"'})
    second = client.get(url)
    assert (second.status_code, body(second)) == (200, b"new bytes")
    new = ProxiedFile.objects.get()
    assert (new.etag, new.size) == ('"v2"', 9) and new.storage_key != old.storage_key
    assert second["ETag"] != first["ETag"]
    assert not default_storage.exists(old.storage_key) and default_storage.exists(new.storage_key)


@pytest.mark.parametrize(("cache_control", "seconds"), [("max-age=10", 60), ("public, max-age=600", 600), ("", 3600)])
def test_freshness_follows_the_origin_max_age_with_a_floor_and_a_default(project, httpserver, cache_control, seconds):
    headers = {"Cache-Control": cache_control} if cache_control else {}
    httpserver.expect_request("/a.txt").respond_with_data(DATA, headers=headers)
    row = proxy.proxy_fetch(project=project, url=httpserver.url_for("/a.txt"))
    assert abs((row.revalidate_after - timezone.now()).total_seconds() - seconds) < 5


def test_range_and_conditional_requests_are_answered_like_the_cdn(client, project, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data(DATA)
    url = endpoint(project, httpserver.url_for("/a.txt"))
    full = client.get(url)
    part = client.get(url, HTTP_RANGE="bytes=0-3")
    assert (part.status_code, body(part), part["Content-Range"]) == (206, DATA[:4], f"bytes 0-3/{len(DATA)}")
    assert client.get(url, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=full["Last-Modified"]).status_code == 304
    head = client.head(url)
    assert (head.status_code, head["Content-Length"], head.content) == (200, str(len(DATA)), b"")


def test_traffic_is_counted_for_delivered_bytes_only(client, project, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data(DATA)
    url = endpoint(project, httpserver.url_for("/a.txt"))
    etag = client.get(url)["ETag"]
    assert traffic(project) == len(DATA)
    client.get(url, HTTP_RANGE="bytes=0-3")
    assert traffic(project) == len(DATA) + 4
    client.get(url, HTTP_IF_NONE_MATCH=etag)
    client.head(url)
    assert traffic(project) == len(DATA) + 4  # a 304 and a HEAD send no body


def test_preview_through_the_proxy(client, project, httpserver):
    httpserver.expect_request("/photo.png").respond_with_data(png_bytes(400, 300), content_type="image/png")
    url = endpoint(project, httpserver.url_for("/photo.png"), ops="-/preview/100x100/")
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(body(response))).size == (100, 75)
    assert response["Content-Disposition"] == 'inline; filename="photo.png"'
    again = client.get(url)
    assert again.status_code == 200 and again["ETag"] == response["ETag"]
    assert len(httpserver.log) == 1
    assert traffic(project) == 2 * len(body(again))
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_image_operations_through_the_proxy(client, project, httpserver):
    httpserver.expect_request("/photo.png").respond_with_data(png_bytes(400, 300), content_type="image/png")
    response = client.get(endpoint(project, httpserver.url_for("/photo.png"), ops="-/resize/50x/-/format/webp/"))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    image = Image.open(io.BytesIO(body(response)))
    assert (image.format, image.size) == ("WEBP", (50, 38))
    row = ProxiedFile.objects.get()
    assert row.image_info["width"] == 400


def test_a_replaced_image_is_never_served_with_the_old_rendering(client, project, httpserver):
    httpserver.expect_request("/photo.png").respond_with_data(png_bytes(400, 300))
    url = endpoint(project, httpserver.url_for("/photo.png"), ops="-/resize/40x/")
    assert Image.open(io.BytesIO(body(client.get(url)))).size == (40, 30)
    _expire(project)
    httpserver.clear_all_handlers()
    httpserver.expect_request("/photo.png").respond_with_data(png_bytes(400, 400))
    assert Image.open(io.BytesIO(body(client.get(url)))).size == (40, 40)


def test_bad_operations_are_400_and_operations_on_a_non_image_415(client, project, httpserver):
    httpserver.expect_request("/a.txt").respond_with_data(DATA)
    remote = httpserver.url_for("/a.txt")
    assert client.get(endpoint(project, remote, ops="-/resize/abc/")).status_code == 400
    assert client.get(endpoint(project, remote, ops="-/preview/10x10/name/")).status_code == 400
    assert client.get(endpoint(project, remote, ops="-/resize/10x/")).status_code == 415


def test_the_endpoint_takes_no_writes_and_answers_preflight(client, project, httpserver):
    url = endpoint(project, httpserver.url_for("/a.txt"))
    assert client.post(url).status_code == 405
    preflight = client.options(url)
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


def test_an_absurd_max_age_from_the_origin_is_capped():
    response = httpx.Response(200, headers={"Cache-Control": "max-age=999999999999"})
    assert proxy._freshness(response) < timezone.now() + timedelta(days=366)
