"""The whole production stack driven from outside, through nginx: the official clients, the CDN
behind the edge cache of deploy/, purges when files go, signed URLs, and a webhook the worker
delivers (the stack is in conftest.py)."""

import io
import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import httpx
import pytest
from pytest_httpserver import HTTPServer
from pyuploadcare import Uploadcare
from pyuploadcare.secure_url import AkamaiSecureUrlBuilderWithAclToken

from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, png_bytes, wait_until

JS_DIR = Path(__file__).resolve().parent.parent / "conformance" / "js"
MULTIPART_SIZE = 11 * 1024 * 1024  # pyuploadcare goes multipart from 10 MiB


def client(stack, public_key: str | None = None, secret_key: str | None = None) -> Uploadcare:
    """pyuploadcare, unmodified, pointed at nginx."""
    return Uploadcare(
        public_key=public_key or stack.keys["public_key"],
        secret_key=secret_key or stack.keys["secret_key"],
        upload_base=f"{stack.dashboard}/upload/",
        api_base=f"{stack.dashboard}/api/",
        cdn_base=stack.cdn,
    )


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30, trust_env=False)


def cache_status(response: httpx.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def cached(url: str) -> tuple[httpx.Response, httpx.Response]:
    """(the first answer, a MISS; the edge's answer once it holds `url`). nginx moves a response
    into its cache just after sending the last byte, so the very next request may still miss."""
    first = get(url)
    assert (first.status_code, cache_status(first)) == (200, "MISS"), (url, first.headers)
    for _ in range(20):
        answer = get(url)
        if cache_status(answer) == "HIT":
            return first, answer
        time.sleep(0.05)
    raise AssertionError(f"the edge never kept {url}: {answer.headers}")


def upload(uploadcare: Uploadcare, data: bytes, name: str, store: bool = True):
    handle = io.BytesIO(data)
    handle.name = name  # pyuploadcare names the upload after its file
    return uploadcare.upload(handle, store=store, size=len(data))


def test_pyuploadcare_uploads_lists_and_reads_info_through_nginx(stack):
    uploadcare = client(stack)
    small = upload(uploadcare, b"small file\n", "small.txt")
    big_data = os.urandom(MULTIPART_SIZE)
    big = upload(uploadcare, big_data, "big.bin", store=False)  # multipart: parts via nginx
    big.store()

    listed = {str(file.uuid) for file in uploadcare.list_files(stored=True)}
    assert {str(small.uuid), str(big.uuid)} <= listed
    info = uploadcare.file(str(big.uuid)).info
    assert (info["size"], info["original_filename"], bool(info["datetime_stored"])) == (MULTIPART_SIZE, "big.bin", True)
    assert get(big.cdn_url).content == big_data
    assert get(small.cdn_url).content == b"small file\n"
    bucket = boto3.client(
        "s3",
        endpoint_url=stack.env["FILEDOCK_S3_ENDPOINT_URL"],
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=stack.env["FILEDOCK_S3_BUCKET"])["Contents"]]
    assert {str(small.uuid), str(big.uuid)} <= {key.rsplit("/", 1)[-1] for key in keys}  # the bytes are in S3


def test_js_upload_client_uploads_through_nginx(stack, tmp_path):
    if not (JS_DIR / "node_modules" / "@uploadcare").is_dir():  # `make test` installs them first
        subprocess.run(["npm", "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], check=True, timeout=300)
    (tmp_path / "photo.png").write_bytes(png_bytes())
    job = {
        "uploadBase": f"{stack.dashboard}/upload/",
        "cdnBase": stack.cdn,
        "publicKey": stack.keys["public_key"],
        "settings": {},
        "calls": [
            {
                "id": "upload",
                "call": "upload",
                "args": {"path": str(tmp_path / "photo.png"), "fileName": "photo.png", "contentType": "image/png"},
            }
        ],
    }
    done = subprocess.run(
        ["node", str(JS_DIR / "upload_client.mjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=JS_DIR,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)["upload"]
    assert outcome["ok"], outcome["error"]
    assert outcome["result"]["cdnUrl"] == f"{stack.cdn}{outcome['result']['uuid']}/"
    assert get(outcome["result"]["cdnUrl"]).content == png_bytes()


def test_cdn_original_is_kept_by_the_edge_after_the_first_request(stack):
    file = upload(client(stack), b"edge bytes\n", "edge.txt")
    cold, hot = cached(file.cdn_url)
    assert (hot.status_code, hot.content) == (200, b"edge bytes\n")
    assert hot.headers["Cache-Control"].startswith("public")
    for name in (
        "Content-Type",
        "Content-Disposition",
        "ETag",
        "Content-Security-Policy",
        "Access-Control-Allow-Origin",
    ):
        assert hot.headers.get(name) == cold.headers.get(name), name
    ranged = httpx.get(file.cdn_url, headers={"Range": "bytes=0-3"}, trust_env=False)
    assert (ranged.status_code, ranged.content, cache_status(ranged)) == (206, b"edge", "HIT")
    head = httpx.head(file.cdn_url, trust_env=False)
    assert (head.status_code, head.headers["Content-Length"], cache_status(head)) == (200, "11", "HIT")


def test_operation_url_is_rendered_once_then_served_by_the_edge(stack):
    file = upload(client(stack), png_bytes(), "photo.png")
    url = f"{stack.cdn}{file.uuid}/-/resize/20x/-/format/png/"
    cold, hot = cached(url)
    assert (cold.headers["Content-Type"], hot.content) == ("image/png", cold.content)


def test_deleting_a_file_purges_every_url_the_edge_holds(stack):
    uploadcare = client(stack)
    file = upload(uploadcare, png_bytes(), "gone.png")
    urls = [file.cdn_url, f"{stack.cdn}{file.uuid}/-/resize/20x/-/format/png/", f"{stack.cdn}{file.uuid}/gone.png"]
    for url in urls:
        cached(url)

    uploadcare.file(str(file.uuid)).delete()

    for url in urls:  # at once: the purge is part of the DELETE
        assert get(url).status_code == 404, url


def test_purge_endpoint_drops_exactly_the_key_the_edge_cached(stack):
    """The key nginx computes for GET /purge{key} is the edge's $uri$is_args$args."""
    file = upload(client(stack), png_bytes(), "keys.png")
    path = f"{file.uuid}/-/resize/20x/-/format/png/"
    for url in (stack.cdn + path, stack.cdn + path + "?x=1"):
        cached(url)

    assert httpx.get(f"{stack.purge}/{path}?x=1", trust_env=False).status_code == 200
    assert httpx.get(f"{stack.purge}/{path}?x=1", trust_env=False).status_code == 404  # nothing left
    assert cache_status(get(stack.cdn + path)) == "HIT"  # another key, untouched
    assert cache_status(get(stack.cdn + path + "?x=1")) == "MISS"


def test_edge_keeps_no_error_answer(stack):
    missing = f"{stack.cdn}00000000-0000-4000-8000-000000000000/"
    assert [(r.status_code, cache_status(r)) for r in (get(missing), get(missing))] == [(404, "MISS")] * 2


def test_dashboard_is_proxied_not_cached(stack):
    response = get(f"{stack.dashboard}/accounts/login/")
    assert response.status_code == 200
    assert "X-Cache-Status" not in response.headers


DELIVERY_PROJECT = """
from accounts.services import account_bootstrap
from projects.services import delivery_secret_create, secret_key_create
project = account_bootstrap(email="{email}", password="delivery-pass-1", project_name="Delivery")
_, delivery_secret = delivery_secret_create(project=project)
_, secret = secret_key_create(project=project, label="stack")
print("KEYS", project.public_key, secret, delivery_secret)
"""
SIGN_URLS = """
from projects.models import Project
from projects.services import project_configure_delivery
project = Project.objects.get(public_key="{public_key}")
project_configure_delivery(
    project=project,
    signed_delivery=True,
    auto_format=project.auto_format,
    default_quality=project.default_quality,
    download_non_images=project.download_non_images,
)
"""


def delivery_project(stack, email: str) -> tuple[Uploadcare, AkamaiSecureUrlBuilderWithAclToken]:
    """A new project with a delivery secret: (pyuploadcare for it, a URL builder with its secret)."""
    printed = stack.shell(DELIVERY_PROJECT.format(email=email))
    public_key, secret, delivery_secret = printed[printed.index("KEYS ") :].split()[1:4]
    return client(stack, public_key, secret), AkamaiSecureUrlBuilderWithAclToken(stack.cdn, delivery_secret)


def sign_urls(stack, uploadcare: Uploadcare) -> None:
    """Turns signed URLs on for the client's project, as the dashboard's delivery settings do."""
    stack.shell(SIGN_URLS.format(public_key=uploadcare.public_key))


@pytest.fixture(scope="module")
def signed(stack):
    """A project that requires signed URLs: (pyuploadcare client, the URL builder)."""
    uploadcare, builder = delivery_project(stack, "signed@example.com")
    sign_urls(stack, uploadcare)
    return uploadcare, builder


def test_signed_url_is_needed_and_never_kept_by_the_edge(stack, signed):
    uploadcare, builder = signed
    file = upload(uploadcare, png_bytes(), "secret.png")
    assert [get(file.cdn_url).status_code for _ in range(2)] == [403, 403]

    signed_url = f"{file.cdn_url}?token={builder.get_token(str(file.uuid))}"
    answers = [get(signed_url) for _ in range(2)]
    assert [(r.status_code, r.content) for r in answers] == [(200, png_bytes())] * 2
    assert [cache_status(r) for r in answers] == ["", ""]  # around the cache
    assert answers[0].headers["Cache-Control"].startswith("private")
    # The request's own headers reach Django: a player can seek, a browser revalidate.
    ranged = httpx.get(signed_url, headers={"Range": "bytes=0-7"}, trust_env=False)
    assert (ranged.status_code, ranged.content) == (206, png_bytes()[:8])
    etag = answers[0].headers["ETag"]
    assert httpx.get(signed_url, headers={"If-None-Match": etag}, trust_env=False).status_code == 304


def test_signed_operation_url_is_rendered_and_not_kept(stack, signed):
    uploadcare, builder = signed
    file = upload(uploadcare, png_bytes(), "secret-op.png")
    path = f"{file.uuid}/-/resize/20x/-/format/png/"
    assert get(stack.cdn + path).status_code == 403
    signed_url = f"{stack.cdn}{path}?token={builder.get_token(str(file.uuid), wildcard=True)}"
    answers = [get(signed_url) for _ in range(2)]
    assert [(r.status_code, cache_status(r)) for r in answers] == [(200, "")] * 2
    assert answers[0].headers["Content-Type"] == "image/png"


def test_turning_signed_urls_on_purges_what_the_edge_held_unsigned(stack):
    uploadcare, builder = delivery_project(stack, "turned@example.com")
    file = upload(uploadcare, png_bytes(), "was-public.png")
    urls = [file.cdn_url, f"{stack.cdn}{file.uuid}/-/resize/20x/-/format/png/"]
    for url in urls:
        cached(url)

    sign_urls(stack, uploadcare)

    assert [get(url).status_code for url in urls] == [403, 403]  # at once: purged on commit
    token = builder.get_token(str(file.uuid), wildcard=True)
    assert [get(f"{url}?token={token}").status_code for url in urls] == [200, 200]


def test_worker_delivers_the_webhook_to_a_local_receiver(stack):
    receiver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    receiver.expect_request("/hook", method="POST").respond_with_data("ok")
    receiver.start()
    try:
        uploadcare = client(stack)
        hook = uploadcare.create_webhook(receiver.url_for("/hook"), event="file.uploaded")
        file = upload(uploadcare, b"hook me\n", "hook.txt")

        def delivered() -> bool:
            return any(str(file.uuid) in request.get_data(as_text=True) for request, _ in receiver.log)

        assert wait_until(delivered, timeout=30), stack.logs()
        uploadcare.delete_webhook(hook.id)
    finally:
        receiver.clear()
        receiver.stop()


NEW_PROJECT = """
import json
from accounts.models import User
from projects.services import project_create_with_secret
project, secret = project_create_with_secret(owner=User.objects.get(email="operator@example.com"), name="Kept")
print(json.dumps({"public_key": project.public_key, "secret_key": secret}))
"""


def test_a_key_revoked_and_a_project_deleted_in_another_process_fail_at_once_in_every_worker(stack):
    """Both gunicorn workers keep the project's rows (core.kept) after a few calls; a revoke and a
    deletion made by another process (the shell) reach them through Redis before the next call."""
    from pyuploadcare.exceptions import AuthenticationError

    keys = json.loads(stack.shell(NEW_PROJECT).strip().splitlines()[-1])
    uploadcare = client(stack, keys["public_key"], keys["secret_key"])
    for _ in range(12):  # spread over both workers and their threads, twice over: rows kept
        assert upload(uploadcare, b"kept\n", "kept.txt").uuid
        assert uploadcare.list_files().count() >= 1
    stack.shell(
        "from projects.models import SecretKey; from projects.services import secret_key_revoke; "
        f"[secret_key_revoke(key=key) for key in SecretKey.objects.filter(project__public_key='{keys['public_key']}')]"
    )
    for _ in range(6):
        with pytest.raises(AuthenticationError):
            uploadcare.list_files().count()
    stack.shell(
        "from projects.models import Project; from projects.services import project_delete; "
        f"project_delete(project=Project.objects.get(public_key='{keys['public_key']}'))"
    )
    for _ in range(6):
        refused = httpx.post(
            f"{stack.dashboard}/upload/base/",
            data={"UPLOADCARE_PUB_KEY": keys["public_key"]},
            files={"file": ("late.txt", b"late\n")},
            timeout=30,
            trust_env=False,
        )
        assert refused.status_code == 403 and "marked as removed" in refused.text
