"""Resumable uploads over tus 1.0 with tuspy and tus-js-client, unmodified, against a live server:
whole uploads, a transfer cut halfway and resumed from a new client process, checksums,
termination, and the project's limits and signatures. Bytes are compared through the CDN."""

import base64
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from tusclient import client as tus_client

from files.models import File, MultipartUpload

MIB = 1024 * 1024


def endpoint(live_server) -> str:
    return f"{live_server.url}/upload/tus/"


def cdn_bytes(live_server, file_uuid) -> bytes:
    with urllib.request.urlopen(f"{live_server.url}/cdn/{file_uuid}/") as answer:
        return answer.read()


def uuid_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_tuspy_uploads_a_file_in_chunks(live_server, live_project, tmp_path):
    project, _ = live_project
    data = os.urandom(3 * MIB + 123)
    uploader = tus_client.TusClient(endpoint(live_server)).uploader(
        file_stream=_stream(tmp_path, data),
        chunk_size=MIB,
        metadata={"pub_key": project.public_key, "filename": "big.bin", "store": "1", "kind": "test"},
    )
    uploader.upload()
    file = File.objects.get(pk=uuid_of(uploader.url))
    assert (file.original_filename, file.size, file.is_stored, file.source) == ("big.bin", len(data), True, "multipart")
    assert file.metadata == {"kind": "test"}
    assert cdn_bytes(live_server, file.uuid) == data
    assert not MultipartUpload.objects.filter(pk=file.uuid, completed_at__isnull=True).exists()


def test_a_transfer_cut_halfway_resumes_from_a_new_tuspy_process(live_server, live_project, tmp_path):
    project, _ = live_project
    data = os.urandom(4 * MIB)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    metadata = {"pub_key": project.public_key, "filename": "resumed.bin", "store": "1"}
    first = tus_client.TusClient(endpoint(live_server)).uploader(file_path=str(path), chunk_size=MIB, metadata=metadata)
    first.upload(stop_at=2 * MIB)  # two chunks acknowledged
    # The third chunk's connection is cut after half its body.
    _cut_patch(first.url, offset=2 * MIB, body=data[2 * MIB : 3 * MIB], send=MIB // 2)
    head = _head(first.url)
    assert head["Upload-Offset"] == str(2 * MIB)  # what was cut is not counted

    # A new process, knowing only the URL, asks where the upload stands and finishes it.
    code = (
        "import sys; from tusclient import client; "
        "u = client.TusClient(sys.argv[1]).uploader(file_path=sys.argv[2], chunk_size=1048576, url=sys.argv[3]); "
        "u.upload(); print(u.url)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, endpoint(live_server), str(path), first.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == first.url
    assert cdn_bytes(live_server, uuid_of(first.url)) == data


def test_tus_js_client_uploads_and_resumes_in_a_new_process(live_server, live_project, node, tmp_path):
    project, _ = live_project
    data = os.urandom(3 * MIB + 7)
    (tmp_path / "js.bin").write_bytes(data)
    job = {
        "endpoint": endpoint(live_server),
        "path": str(tmp_path / "js.bin"),
        "metadata": {"pub_key": project.public_key, "filename": "js.bin", "store": "1"},
        "chunkSize": MIB,
    }
    started = node("tus_client.mjs", {**job, "abortAfter": MIB})
    assert started.get("aborted"), started
    assert _head(started["url"])["Upload-Offset"] == str(MIB)
    finished = node("tus_client.mjs", {**job, "uploadUrl": started["url"]})
    assert finished == {"url": started["url"], "offset": len(data)}, finished
    assert cdn_bytes(live_server, uuid_of(started["url"])) == data


def test_a_body_that_fails_its_checksum_is_not_counted(live_server, live_project):
    project, _ = live_project
    url = _create(live_server, project.public_key, length=10)
    good = base64.b64encode(hashlib.sha1(b"hello").digest()).decode()
    wrong = _patch(url, 0, b"HELLO", checksum=f"sha1 {good}")
    assert wrong.status == 460
    assert _head(url)["Upload-Offset"] == "0"
    right = _patch(url, 0, b"hello", checksum=f"sha1 {good}")
    assert (right.status, right.headers["Upload-Offset"]) == (204, "5")
    stale = _patch(url, 0, b"again")
    assert stale.status == 409  # the offset has moved on


def test_termination_deletes_an_unfinished_upload(live_server, live_project):
    project, _ = live_project
    url = _create(live_server, project.public_key, length=10)
    assert _patch(url, 0, b"12345").status == 204
    assert _request("DELETE", url).status == 204
    assert _request("HEAD", url).status == 404
    assert not MultipartUpload.objects.filter(pk=uuid_of(url)).exists()


def test_options_name_the_extensions_and_limits(live_server):
    answer = _request("OPTIONS", endpoint(live_server), tus=False)
    assert answer.status == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    }


def test_creation_with_upload_and_the_projects_rules(live_server, live_project, settings):
    project, secret = live_project
    url = _create(live_server, project.public_key, length=5, body=b"abcde")
    assert File.objects.get(pk=uuid_of(url)).size == 5  # the first body completed it

    assert _create_answer(live_server, {"pub_key": "nope"}, 5).status == 403
    assert _create_answer(live_server, {"filename": "x"}, 5).status == 403  # no public key
    assert (
        _create_answer(live_server, {"pub_key": project.public_key}, settings.FILEDOCK_MAX_FILE_SIZE + 1).status == 400
    )

    project.require_signed_uploads = True
    project.save(update_fields=["require_signed_uploads"])
    assert _create_answer(live_server, {"pub_key": project.public_key}, 5).status == 400  # SignatureRequired
    expire = str(int(time.time()) + 600)
    signature = hmac.new(secret.encode(), expire.encode(), hashlib.sha256).hexdigest()
    signed = {"pub_key": project.public_key, "signature": signature, "expire": expire}
    assert _create_answer(live_server, signed, 5).status == 201


def test_an_upload_without_the_protocol_header_is_refused(live_server, live_project):
    answer = _request("POST", endpoint(live_server), tus=False, headers={"Upload-Length": "5"})
    assert answer.status == 412 and answer.headers["Tus-Version"] == "1.0.0"


def test_unknown_and_foreign_uploads_are_404(live_server, live_project):
    project, _ = live_project
    assert _request("HEAD", f"{endpoint(live_server)}00000000-0000-0000-0000-000000000000/").status == 404
    # A finished Uploadcare multipart upload is not a tus upload.
    from files.uploads.multipart import multipart_start

    upload = multipart_start(project=project, filename="a", size=5, content_type="", store="1", metadata={})
    assert _request("HEAD", f"{endpoint(live_server)}{upload.uuid}/").status == 404


# Raw HTTP, for what the clients never send.


class _Answer:
    def __init__(self, status: int, headers: dict):
        self.status, self.headers = status, headers


def _request(method: str, url: str, *, body: bytes = b"", headers: dict | None = None, tus: bool = True) -> _Answer:
    request = urllib.request.Request(url, data=body or None, method=method)
    for name, value in {**({"Tus-Resumable": "1.0.0"} if tus else {}), **(headers or {})}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as answer:
            return _Answer(answer.status, dict(answer.headers))
    except urllib.error.HTTPError as error:
        return _Answer(error.code, dict(error.headers))


def _head(url: str) -> dict:
    answer = _request("HEAD", url)
    assert answer.status == 200, answer.status
    return answer.headers


def _metadata(values: dict) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def _create_answer(live_server, metadata: dict, length: int, body: bytes = b"") -> _Answer:
    headers = {"Upload-Length": str(length), "Upload-Metadata": _metadata(metadata)}
    if body:
        headers["Content-Type"] = "application/offset+octet-stream"
    return _request("POST", endpoint(live_server), body=body, headers=headers)


def _create(live_server, public_key: str, length: int, body: bytes = b"") -> str:
    answer = _create_answer(live_server, {"pub_key": public_key, "filename": "raw.bin"}, length, body)
    assert answer.status == 201, answer.status
    return answer.headers["Location"]


def _patch(url: str, offset: int, body: bytes, checksum: str = "") -> _Answer:
    headers = {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    if checksum:
        headers["Upload-Checksum"] = checksum
    return _request("PATCH", url, body=body, headers=headers)


def _cut_patch(url: str, *, offset: int, body: bytes, send: int) -> None:
    """A PATCH announcing `body` whose connection closes after `send` bytes of it."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        head = (
            f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        conn.sendall(head.encode() + body[:send])
    # Closed here: the server reads to the end of what came and counts none of it (a PATCH
    # resumed meanwhile is safe too: an offset moves once, by a conditional UPDATE).


def _stream(tmp_path, data: bytes):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return path.open("rb")
