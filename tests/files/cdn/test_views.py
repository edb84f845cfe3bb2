import io
import urllib.request
from datetime import timedelta
from urllib.parse import quote, urlparse

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.auth import SESSION_KEY
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.http import http_date
from PIL import Image
from storages.backends.s3 import S3File

from billing.metering import usage_flush
from billing.models import UsageDay
from files.cdn import images
from files.cdn import views as cdn
from files.info import cdn_url, rest_file_info
from files.models import File
from files.services import file_delete, file_upload
from projects.services import project_delete
from tests.factories import make_file
from tests.helpers import body, image_bytes

DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"
IMMUTABLE = "public, max-age=31536000, immutable"


def url(file: File, suffix: str = "") -> str:
    return f"/cdn/{file.uuid}/{suffix}"


def test_stored_file_is_served_with_its_headers(client, team):
    file = make_file(team.project, data=DATA)
    expected = {
        "Content-Type": file.mime_type,
        "Content-Length": str(len(DATA)),
        "Content-Disposition": 'attachment; filename="a.txt"',
        "ETag": f'"{file.uuid.hex}"',
        "Last-Modified": http_date(file.datetime_uploaded.timestamp()),
        "Cache-Control": IMMUTABLE,
        "Accept-Ranges": "bytes",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    get, head = client.get(url(file)), client.head(url(file))
    assert (get.status_code, body(get), {name: get[name] for name in expected}) == (200, DATA, expected)
    assert (head.status_code, head.content, {name: head[name] for name in expected}) == (200, b"", expected)


def test_full_local_file_is_handed_over_as_a_real_file_for_sendfile(rf, team):
    # Called directly: the test client rewraps streaming content and hides file_to_stream.
    file = make_file(team.project, data=DATA)
    response = cdn.file_view(rf.get(url(file)), file_id=str(file.uuid))
    assert response.file_to_stream.fileno() > 0  # what gunicorn's sendfile() needs
    assert body(response) == DATA
    response.close()


def test_url_filename_only_names_the_download_and_non_ascii_gets_rfc5987(client, team):
    response = client.get(
        f"/cdn/{str(make_file(team.project, data=DATA).uuid).upper()}/report%20final.txt"
    )  # either case
    assert (body(response), response["Content-Disposition"]) == (DATA, 'attachment; filename="report final.txt"')
    file = make_file(team.project, name="résumé café.txt", data=DATA)
    assert client.get(url(file))["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ caf_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20caf%C3%A9.txt"
    )
    response = client.get(url(file, quote("отчёт.txt")))
    assert "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt" in response["Content-Disposition"]


def test_cdn_urls_from_file_info_resolve_to_the_cdn(client, team):
    file = make_file(team.project, name="My photo.txt", data=DATA)
    assert resolve(urlparse(cdn_url(file)).path).func is cdn.file_view
    assert body(client.get(urlparse(rest_file_info(file)["original_file_url"]).path)) == DATA
    assert reverse("cdn:file", args=[file.uuid]) == url(file)
    assert reverse("cdn:preview", kwargs={"file_id": file.uuid, "size": "10x10"}) == url(file, "-/preview/10x10/")


def test_cdn_needs_no_login_and_no_csrf(team):
    file = make_file(team.project, data=DATA)
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(url(file)).status_code == 200
    assert strict.post(url(file)).status_code == 405  # not a CSRF 403, not a login redirect
    strict.force_login(team.outsider)
    assert body(strict.get(url(file))) == DATA
    preflight = strict.options(url(file))
    assert preflight.status_code == 204 and "Range" in preflight["Access-Control-Allow-Headers"]


def test_html_upload_is_sandboxed(client, team):
    response = client.get(url(make_file(team.project, data=b"<html><script>alert(1)</script></html>", name="x.html")))
    assert response["Content-Type"] == "text/html"
    assert response["Content-Security-Policy"].startswith("sandbox;")


def test_conditional_requests_give_304(client, team):
    file = make_file(team.project, data=DATA)
    etag, uploaded = f'"{file.uuid.hex}"', file.datetime_uploaded.timestamp()
    response = client.get(url(file), headers={"If-None-Match": etag})
    assert (response.status_code, response.content) == (304, b"")
    assert (response["ETag"], response["Cache-Control"]) == (etag, IMMUTABLE)
    assert client.get(url(file), headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url(file), headers={"If-Modified-Since": http_date(uploaded)}).status_code == 304
    assert client.get(url(file), headers={"If-Modified-Since": http_date(uploaded - 3600)}).status_code == 200


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-3", 0, 3),
        ("bytes=-10", len(DATA) - 10, len(DATA) - 1),
        ("bytes=30-", 30, len(DATA) - 1),
        ("bytes=30-1000", 30, len(DATA) - 1),
        ("BYTES=-1000", 0, len(DATA) - 1),
    ],
)
def test_range_gives_206_with_the_slice(client, team, header, first, last):
    file = make_file(team.project, data=DATA)
    response = client.get(url(file), headers={"Range": header})
    assert response.status_code == 206
    assert body(response) == DATA[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["ETag"] == f'"{file.uuid.hex}"'


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=1000-2000", "bytes=-0"])
def test_unsatisfiable_range_gives_416(client, team, header):
    response = client.get(url(make_file(team.project, data=DATA)), headers={"Range": header})
    assert (response.status_code, response["Content-Range"]) == (416, f"bytes */{len(DATA)}")


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-1,4-5"},
        {"Range": "bytes=5-2"},
        {"Range": "items=0-3"},
        {"Range": "bytes=-"},
        {"Range": "bytes=0-3", "If-Range": '"stale"'},
    ],
)
def test_several_malformed_or_stale_ranges_give_the_whole_file(client, team, headers):
    file = make_file(team.project, data=DATA)
    response = client.get(url(file), headers=headers)
    assert (response.status_code, body(response)) == (200, DATA)
    fresh = client.get(url(file), headers={"Range": "bytes=0-3", "If-Range": f'"{file.uuid.hex}"'})
    assert (fresh.status_code, body(fresh)) == (206, DATA[:4])


def test_removed_file_is_404_and_temporary_file_is_served_briefly_until_it_expires(client, team, settings):
    removed = file_delete(file=make_file(team.project, data=DATA))
    assert client.get(url(removed)).status_code == 404
    assert client.get(url(removed, "a.txt")).status_code == 404
    expired = make_file(team.project, store=False, data=DATA)
    response = client.get(url(expired))
    assert (body(response), response["Cache-Control"]) == (DATA, "public, max-age=300")
    File.objects.filter(pk=expired.pk).update(
        datetime_uploaded=timezone.now() - timedelta(seconds=settings.FILEDOCK_TEMPORARY_FILE_LIFETIME + 1)
    )
    assert client.get(url(expired)).status_code == 404
    assert default_storage.exists(expired.storage_key)  # the expiry job has not run, still not served


@pytest.mark.parametrize(
    "path",
    [
        "/cdn/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/",
        "/cdn/not-a-uuid/",
        "/cdn/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0ff/",
        "/cdn/0f1e2d3c4b5a69788796a5b4c3d2e1f0/",
        "/cdn/%00/",
        "/cdn/zf1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/-/preview/",
    ],
)
def test_unknown_or_malformed_uuid_is_404(client, db, path):
    assert client.get(path).status_code == 404


def test_traversal_looking_filename_is_only_a_name(client, team):
    file = make_file(team.project, data=DATA)
    response = client.get(url(file, "..%5C..%5Cetc%5Cpasswd"))
    assert (body(response), response["Content-Disposition"]) == (DATA, 'attachment; filename="passwd"')
    response = client.get(url(file, ".."))
    assert (body(response), response["Content-Disposition"]) == (DATA, 'attachment; filename="a.txt"')
    assert client.get(url(file, "..%2F..%2Fconfig%2Fsettings%2Fbase.py")).status_code == 404
    injected = client.get(url(file, "x%0d%0aSet-Cookie:%20a=b"))
    assert "\n" not in injected["Content-Disposition"] and "a" not in injected.cookies


@override_settings(FILEDOCK_CDN_X_ACCEL_PREFIX="/protected/")
def test_x_accel_mode_hands_the_bytes_to_nginx(client, team):
    file = make_file(team.project, data=DATA)
    response = client.get(url(file))
    assert (response.status_code, response.content) == (200, b"")
    assert response["X-Accel-Redirect"] == f"/protected/{file.storage_key}"
    assert response["Content-Type"] == file.mime_type
    assert (response["ETag"], response["Cache-Control"]) == (f'"{file.uuid.hex}"', IMMUTABLE)
    assert response["Content-Disposition"] == 'attachment; filename="a.txt"'
    assert client.get(url(file), headers={"If-None-Match": f'"{file.uuid.hex}"'}).status_code == 304


def test_x_accel_mode_is_off_by_default(client, team):
    response = client.get(url(make_file(team.project, data=DATA)))
    assert "X-Accel-Redirect" not in response and body(response) == DATA


@override_settings(FILEDOCK_CDN_X_ACCEL_PREFIX="/protected/")
def test_x_accel_mode_keeps_the_sandbox_and_counts_the_files_bytes(client, team):
    file = make_file(team.project, data=b"<html></html>", name="x.html")
    response = client.get(url(file, "renamed.html"))
    assert response["X-Accel-Redirect"] == f"/protected/{file.storage_key}"
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert response["Content-Disposition"] == 'attachment; filename="renamed.html"'
    usage_flush()  # traffic waits in Redis until the worker writes it
    assert UsageDay.objects.get(project=team.project).traffic_bytes == len(b"<html></html>")


def preview_image(response) -> Image.Image:
    return Image.open(io.BytesIO(body(response)))


@pytest.mark.parametrize(
    ("source", "orientation", "op", "size"),
    [
        ((400, 200), None, "-/preview/100x100/", (100, 50)),
        ((3000, 1000), None, "-/preview/", (2048, 683)),  # the default cap
        ((3000, 1000), None, "-/preview/x100/", (300, 100)),
        ((40, 30), None, "-/preview/500x500/", (40, 30)),  # never enlarged
        ((80, 40), 6, "-/preview/20x20/", (10, 20)),  # EXIF "rotate 90": upright it is 40x80
    ],
)
def test_preview_fits_the_box_keeps_the_aspect_and_stands_upright(client, team, source, orientation, op, size):
    file = make_file(team.project, data=image_bytes(*source, orientation=orientation), name="photo.jpg")
    response = client.get(url(file, op))
    assert (response["Content-Type"], response["Cache-Control"]) == ("image/jpeg", IMMUTABLE)
    assert response["Content-Disposition"] == 'inline; filename="photo.jpg"'
    image = preview_image(response)
    assert (image.format, image.size) == ("JPEG", size)


def test_preview_keeps_transparency_as_png(client, team):
    file = make_file(team.project, data=image_bytes(64, 32, fmt="PNG", mode="RGBA"), name="logo.png")
    response = client.get(url(file, "-/preview/32x32/thumb.png"))
    assert (response["Content-Type"], response["Content-Disposition"]) == ("image/png", 'inline; filename="thumb.png"')
    image = preview_image(response)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (32, 16))


def test_preview_is_cached_and_reused(client, team, monkeypatch):
    file = make_file(team.project, data=image_bytes(400, 200), name="photo.jpg")
    first = body(client.get(url(file, "-/preview/100x100/")))
    with default_storage.open(f"previews/{file.uuid}/100x50.jpg") as cached:
        assert cached.read() == first

    monkeypatch.setattr(images, "render", lambda *args: pytest.fail("rendered again"))
    for size in ("100x100", "100x50", "100x"):  # boxes that give the same picture share it
        assert body(client.get(url(file, f"-/preview/{size}/"))) == first


def test_preview_has_its_own_etag_ranges_and_head(client, team):
    file = make_file(team.project, data=image_bytes(400, 200), name="photo.jpg")
    response = client.get(url(file, "-/preview/100x100/"))
    full, etag = body(response), response["ETag"]
    assert etag != f'"{file.uuid.hex}"' and etag != client.get(url(file, "-/preview/50x50/"))["ETag"]
    assert client.get(url(file, "-/preview/100x100/"), headers={"If-None-Match": etag}).status_code == 304
    assert client.head(url(file, "-/preview/100x100/"))["Content-Length"] == str(len(full))
    ranged = client.get(url(file, "-/preview/100x100/"), headers={"Range": "bytes=0-9"})
    assert (ranged.status_code, body(ranged)) == (206, full[:10])


def test_preview_of_a_non_image_or_a_removed_image_is_404_and_an_unknown_operation_400(client, team):
    assert client.get(url(make_file(team.project, data=DATA), "-/preview/")).status_code == 404
    image = make_file(team.project, data=image_bytes(40, 30), name="small.jpg")
    assert client.get(url(image, "-/spin/90/")).status_code == 400
    file_delete(file=image)
    assert client.get(url(image, "-/preview/")).status_code == 404


@pytest.mark.parametrize("size", ["abc", "0x0", "100x0", "x", "100x100x", "-5x5", "100*100", "999999x1"])
def test_bad_preview_size_is_400_in_plain_text(client, team, size):
    file = make_file(team.project, data=image_bytes(40, 30), name="small.jpg")
    response = client.get(url(file, f"-/preview/{size}/"))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain") and response.content.startswith(b"preview: ")


# S3: a real S3 API (moto_server, see conftest.py).


@pytest.mark.parametrize("store", [True, False])
def test_s3_redirect_mode_sends_a_presigned_url(client, team, s3_storage, settings, store):
    settings.FILEDOCK_CDN_S3_REDIRECT = True
    file = make_file(team.project, name="notes.txt", store=store, data=DATA)
    response = client.get(url(file))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3_storage['endpoint']}/{s3_storage['bucket']}/{file.storage_key}?")
    assert int(response["Cache-Control"].rsplit("=", 1)[1]) <= 150  # well inside the 300 s signature
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(response["Location"], timeout=10) as s3:
        assert (s3.status, s3.read()) == (200, DATA)
        assert s3.headers["Content-Disposition"] == 'attachment; filename="notes.txt"'
    # Ranges and HEAD are answered here, not redirected.
    ranged = client.get(url(file), headers={"Range": "bytes=-10"})
    assert (ranged.status_code, body(ranged)) == (206, DATA[-10:])
    assert client.head(url(file))["Content-Length"] == str(len(DATA))


def test_s3_proxy_mode_streams_the_bytes(client, team, s3_storage, settings, monkeypatch):
    settings.FILEDOCK_CDN_S3_REDIRECT = False
    big = bytes(range(256)) * 1024  # several chunks
    file = make_file(team.project, data=big, name="blob.bin")

    # S3File.file spools the entire object before the first read; the CDN must stream instead.
    monkeypatch.setattr(S3File, "file", property(lambda self: pytest.fail("S3File downloaded the whole object")))
    response = client.get(url(file))
    assert (response.status_code, response["Content-Length"], body(response)) == (200, str(len(big)), big)
    ranged = client.get(url(file), headers={"Range": "bytes=1000-70000"})
    assert (ranged.status_code, ranged["Content-Range"]) == (206, f"bytes 1000-70000/{len(big)}")
    assert body(ranged) == big[1000:70001]
    assert client.get(url(file), headers={"Range": f"bytes={len(big)}-"}).status_code == 416


def test_s3_previews_are_rendered_and_stored_in_the_bucket(client, team, s3_storage):
    file = make_file(team.project, data=image_bytes(400, 200), name="photo.jpg")
    assert preview_image(client.get(url(file, "-/preview/100x100/"))).size == (100, 50)
    assert default_storage.exists(f"previews/{file.uuid}/100x50.jpg")


def test_signed_in_visitors_get_cacheable_cdn_responses(client, team):
    file = file_upload(project=team.project, content=ContentFile(b"public", name="p.txt"), filename="p.txt", store=True)
    client.post("/accounts/login/", {"login": team.owner.email, "password": "correct-horse-battery"})
    assert SESSION_KEY in client.session
    seen = list(UserSession.objects.values_list("last_seen_at", flat=True))
    response = client.get(f"/cdn/{file.uuid}/")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert list(UserSession.objects.values_list("last_seen_at", flat=True)) == seen  # no write per file served
    client.get(reverse("projects:home"))
    assert list(UserSession.objects.values_list("last_seen_at", flat=True)) != seen  # dashboard pages are tracked


def test_cdn_bytes_count_toward_the_projects_traffic(client, team):
    file = file_upload(
        project=team.project, content=ContentFile(b"x" * 1000, name="t.bin"), filename="t.bin", store=True
    )
    client.get(f"/cdn/{file.uuid}/")
    client.get(f"/cdn/{file.uuid}/", HTTP_RANGE="bytes=0-99")
    client.head(f"/cdn/{file.uuid}/")
    client.get(f"/cdn/{file.uuid}/", HTTP_IF_NONE_MATCH=f'"{file.uuid.hex}"')
    assert not UsageDay.objects.filter(project=team.project, traffic_bytes__gt=0).exists()  # no write per send
    usage_flush()
    assert UsageDay.objects.get(project=team.project).traffic_bytes == 1100


def test_files_of_a_deleted_project_are_gone_from_the_cdn_at_once(client, team):
    file = file_upload(project=team.project, content=ContentFile(b"x", name="x.txt"), filename="x.txt", store=True)
    project_delete(project=team.project)
    assert client.get(f"/cdn/{file.uuid}/").status_code == 404
