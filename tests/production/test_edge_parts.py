"""Multipart part bodies written by the edge (deploy/'s part location, files/uploads/edge.py) on
the production stack with files on local disk: nginx reads each body into FILEDOCK_EDGE_BODY_DIR,
Django copies it into place. The S3 stack's multipart uploads (test_stack.py) take the same path."""

import io
import os
import socket
from urllib.parse import urlsplit

import httpx

from tests.helpers import PART, wait_until
from tests.production.test_stack import client, get

SIZE = 2 * PART + 1234  # three parts, the last one short


def bodies(stack) -> list[str]:
    return sorted(os.listdir(stack.edge_bodies))


def start(stack, size: int) -> dict:
    fields = {"UPLOADCARE_PUB_KEY": stack.keys["public_key"], "filename": "parts.bin", "size": str(size)}
    return httpx.post(f"{stack.dashboard}/upload/multipart/start/", data=fields, trust_env=False).json()


def complete(stack, uuid: str) -> httpx.Response:
    fields = {"UPLOADCARE_PUB_KEY": stack.keys["public_key"], "uuid": uuid}
    return httpx.post(f"{stack.dashboard}/upload/multipart/complete/", data=fields, trust_env=False)


def put(url: str, body: bytes, **headers) -> httpx.Response:
    return httpx.put(url, content=body, headers=headers, timeout=30, trust_env=False)


def on(base: str, part_url: str) -> str:
    """The part URL (which names the dashboard) sent to another server of the stack."""
    parts = urlsplit(part_url)
    return f"{base.rstrip('/')}{parts.path}?{parts.query}"


def test_pyuploadcare_multipart_upload_through_the_edge_onto_local_disk(local_stack):
    data = os.urandom(SIZE)
    handle = io.BytesIO(data)
    handle.name = "big.bin"
    file = client(local_stack).upload(handle, store=True, size=SIZE)  # pyuploadcare, unmodified
    assert get(file.cdn_url).content == data
    assert bodies(local_stack) == []
    assert not (local_stack.tmp / "media" / "parts" / str(file.uuid)).exists()


def test_a_part_body_is_in_the_edge_folder_while_it_arrives_and_gone_after(local_stack):
    started = start(local_stack, PART)
    url = urlsplit(started["parts"][0])
    data = os.urandom(PART)
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {PART}\r\n\r\n"
        conn.sendall(head.encode() + data[: 3 * 1024 * 1024])
        assert wait_until(lambda: bodies(local_stack) != [], timeout=10)  # nginx's 1 MiB buffer went to the file
        conn.sendall(data[3 * 1024 * 1024 :])
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert bodies(local_stack) == []
    assert complete(local_stack, started["uuid"]).json()["size"] == PART


def test_a_body_file_named_by_a_client_is_refused_and_left_alone(local_stack):
    data = os.urandom(PART)
    started = start(local_stack, PART)
    victim = local_stack.edge_bodies / "0099999999"  # as if another client's body were arriving
    victim.write_bytes(data)
    try:
        forged = {
            "X-Filedock-Body-File": str(victim),
            "X-Filedock-Body-Length": str(PART),
            "X-Filedock-Edge-Secret": "guessed-" + "x" * 40,
        }
        # Around the part location, to gunicorn itself: with a guessed secret, and with none.
        for headers in (forged, {k: v for k, v in forged.items() if "Secret" not in k}):
            response = put(on(local_stack.app, started["parts"][0]), b"", **headers)
            assert (response.status_code, response.text) == (403, "Upload failed.")
        # The CDN host passes a client's headers on to gunicorn, but answers no Upload API there.
        assert put(on(local_stack.cdn, started["parts"][0]), b"", **forged).status_code == 403
        assert victim.read_bytes() == data
        assert complete(local_stack, started["uuid"]).status_code == 400  # the part was never taken

        # Through the part location nginx puts its own file in that header: the client's own bytes count.
        own = os.urandom(PART)
        assert put(started["parts"][0], own, **forged).status_code == 200
        done = complete(local_stack, started["uuid"]).json()
        assert get(f"{local_stack.cdn}{done['uuid']}/").content == own
        assert victim.read_bytes() == data
    finally:
        victim.unlink()


def test_refused_parts_leave_no_body_file(local_stack):
    started = start(local_stack, PART + 10)
    part = started["parts"][0]
    refusals = [
        (part.split("?")[0] + "?token=forged", b"x" * PART, 403, "Invalid token. Reason: bad or expired part URL."),
        (part, b"x" * (PART - 1), 400, f"Part 1 must be {PART} bytes."),
        (started["parts"][1], b"x" * PART, 400, "Part 2 must be 10 bytes."),
        # Over nginx's cap (the largest part): never read, and answered by Django as any wrong size.
        (part, b"x" * (PART + 1), 400, f"Part 1 must be {PART} bytes."),
    ]
    for url, body, status, message in refusals:
        response = put(url, body)
        assert (response.status_code, response.text) == (status, message)
        assert bodies(local_stack) == []
    assert complete(local_stack, started["uuid"]).status_code == 400


def test_a_body_cut_off_midway_leaves_no_file(local_stack):
    started = start(local_stack, PART)
    url = urlsplit(started["parts"][0])
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {PART}\r\n\r\n"
        conn.sendall(head.encode() + b"x" * (2 * 1024 * 1024))
        assert wait_until(lambda: bodies(local_stack) != [], timeout=10)
    # Django never hears of it; nginx removes its file when the request ends (`clean`).
    assert wait_until(lambda: bodies(local_stack) == [], timeout=10)
