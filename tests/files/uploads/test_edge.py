"""Multipart parts whose bodies the edge wrote to a file (files/uploads/edge.py), with the headers
deploy/'s nginx sends. The real nginx in front is in tests/production/test_edge_parts.py."""

import os
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from files.models import File
from tests.helpers import PART, one_window

SECRET = "edge-secret-" + "x" * 32


@pytest.fixture
def project(team):
    return team.project


@pytest.fixture
def body_dir(settings, tmp_path):
    """The edge configured: its secret, and a folder for its body files (nginx makes it)."""
    folder = tmp_path / "edge-bodies"
    folder.mkdir()
    settings.FILEDOCK_EDGE_SECRET = SECRET
    settings.FILEDOCK_EDGE_BODY_DIR = folder
    return folder


def body_file(folder: Path, data: bytes, name: str = "0000000001") -> Path:
    """A body as nginx leaves it: a file named by a counter, directly in the folder."""
    path = folder / name
    path.write_bytes(data)
    return path


def start(client, project, size: int) -> dict:
    fields = {"UPLOADCARE_PUB_KEY": project.public_key, "filename": "big.bin", "size": str(size)}
    return client.post("/upload/multipart/start/", fields).json()


def complete(client, project, uuid: str):
    return client.post("/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": uuid})


def edge_put(client, url: str, path: Path | None, length: int | str, secret: str = SECRET, **extra):
    """A part PUT as nginx passes it on: no body, the file's path, the declared length, the secret."""
    headers = {"HTTP_X_FILEDOCK_EDGE_SECRET": secret, "HTTP_X_FILEDOCK_BODY_LENGTH": str(length), **extra}
    if path is not None:
        headers["HTTP_X_FILEDOCK_BODY_FILE"] = str(path)
    return client.generic("PUT", url.replace("http://testserver", ""), b"", **headers)


def stored_bytes(uuid: str) -> bytes:
    with default_storage.open(File.objects.get(uuid=uuid).storage_key) as stored:
        return stored.read()


def test_parts_from_edge_body_files_make_the_file_and_leave_no_body_file(client, project, body_dir):
    size = PART * 2 + 7
    data = os.urandom(size)
    started = start(client, project, size)
    for n, i in enumerate((2, 0, 1, 0)):  # out of order, part 1 sent twice
        path = body_file(body_dir, data[i * PART : (i + 1) * PART], name=f"{n:010}")
        response = edge_put(client, started["parts"][i], path, min(PART, size - i * PART))
        assert (response.status_code, response.content) == (200, b"")
        assert not path.exists()
    assert complete(client, project, started["uuid"]).json()["size"] == size
    assert stored_bytes(started["uuid"]) == data
    assert not default_storage.exists(f"parts/{started['uuid']}")
    assert list(body_dir.iterdir()) == []


def test_edge_and_request_bodies_mix_in_one_upload(client, project, body_dir):
    size = PART + 10
    data = os.urandom(size)
    started = start(client, project, size)
    assert edge_put(client, started["parts"][0], body_file(body_dir, data[:PART]), PART).status_code == 200
    direct = client.generic("PUT", started["parts"][1].replace("http://testserver", ""), data[PART:])
    assert direct.status_code == 200
    complete(client, project, started["uuid"])
    assert stored_bytes(started["uuid"]) == data


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="edge-not-configured"),
        pytest.param("wrong-" + "x" * 38, id="wrong-secret"),
        pytest.param("", id="no-secret"),
    ],
)
def test_body_file_headers_without_the_edge_secret_are_refused_and_the_file_left_alone(
    client, project, body_dir, settings, secret
):
    if secret is None:
        settings.FILEDOCK_EDGE_SECRET = ""
        secret = SECRET  # what a client that learnt an old secret would send
    started = start(client, project, 100)
    victim = body_file(body_dir, b"v" * 100)  # another client's body, waiting for its own request
    response = edge_put(client, started["parts"][0], victim, 100, secret=secret)
    assert (response.status_code, response.content) == (403, b"Upload failed.")
    assert victim.read_bytes() == b"v" * 100
    assert not default_storage.exists(f"parts/{started['uuid']}/0")


def test_a_body_file_outside_the_edge_folder_is_never_read_or_removed(client, project, body_dir, tmp_path):
    started = start(client, project, 100)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"s" * 100)
    for path in (outside, body_dir / ".." / "secret.bin", body_dir):
        response = edge_put(client, started["parts"][0], path, 100)
        assert (response.status_code, response.content) == (403, b"Upload failed.")
    assert outside.read_bytes() == b"s" * 100
    assert not default_storage.exists(f"parts/{started['uuid']}/0")


def test_a_symbolic_link_in_the_edge_folder_is_not_followed(client, project, body_dir, tmp_path):
    started = start(client, project, 100)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"s" * 100)
    (body_dir / "0000000009").symlink_to(outside)
    response = edge_put(client, started["parts"][0], body_dir / "0000000009", 100)
    assert response.status_code == 403
    assert outside.read_bytes() == b"s" * 100
    (body_dir / "0000000010").symlink_to(body_file(body_dir, b"i" * 100, name="0000000011"))
    assert edge_put(client, started["parts"][0], body_dir / "0000000010", 100).status_code == 403
    assert not default_storage.exists(f"parts/{started['uuid']}/0")


def test_refused_parts_leave_no_body_file(client, project, body_dir, settings):
    started = start(client, project, PART + 10)
    part = started["parts"][0]
    other = start(client, project, 100)
    refusals = [
        (part.split("?")[0] + "?token=forged", PART, 403),  # a forged part URL
        (part, PART - 1, 400),  # shorter than the part
        (part.replace(started["uuid"], other["uuid"]), PART, 403),  # another upload's token
        (started["parts"][1], PART, 400),  # the last part is 10 bytes
    ]
    for n, (url, length, status) in enumerate(refusals):
        path = body_file(body_dir, b"p" * length, name=f"{n:010}")
        assert edge_put(client, url, path, length).status_code == status, url
        assert not path.exists()
    assert not default_storage.exists(f"parts/{started['uuid']}/0")

    short = body_file(body_dir, b"p" * 10, name="0000000010")  # the file shorter than declared
    response = edge_put(client, part, short, PART)
    assert (response.status_code, response.content) == (400, b"The part's body was shorter than announced.")
    assert not short.exists()

    settings.FILEDOCK_RATE_UPLOAD_IP = "1/min"

    one_window()
    edge_put(client, started["parts"][1], body_file(body_dir, b"e" * 10, name="0000000011"), 10)
    throttled = body_file(body_dir, b"p" * PART, name="0000000012")
    assert edge_put(client, part, throttled, PART).status_code == 429
    assert not throttled.exists()
    assert list(body_dir.iterdir()) == []


def test_a_completed_upload_takes_no_more_parts_from_the_edge(client, project, body_dir):
    data = os.urandom(100)
    started = start(client, project, 100)
    assert edge_put(client, started["parts"][0], body_file(body_dir, data), 100).status_code == 200
    complete(client, project, started["uuid"])
    again = body_file(body_dir, b"x" * 100, name="0000000002")
    response = edge_put(client, started["parts"][0], again, 100)
    assert (response.status_code, response.content) == (400, b"File is already uploaded.")
    assert not again.exists() and stored_bytes(started["uuid"]) == data


def test_a_body_the_edge_refused_for_its_size_is_answered_as_without_the_edge(client, project, body_dir):
    started = start(client, project, PART + 10)
    url = started["parts"][0]
    direct = client.generic("PUT", url.replace("http://testserver", ""), b"x" * (PART + 1))
    from_edge = edge_put(client, url, None, PART + 1)  # nginx's 413, handed to Django without a file
    assert (from_edge.status_code, from_edge.content) == (direct.status_code, direct.content)
    assert direct.content == f"Part 1 must be {PART} bytes.".encode()


def test_a_body_file_on_another_filesystem_is_copied_by_reading_it(client, project, settings, tmp_path):
    shm = Path("/dev/shm")  # tmpfs: copy_file_range() refuses to copy from it into the storage's disk
    folder = Path(os.path.realpath(shm)) / f"filedock-edge-{os.getpid()}"
    folder.mkdir()
    try:
        settings.FILEDOCK_EDGE_SECRET = SECRET
        settings.FILEDOCK_EDGE_BODY_DIR = folder
        data = os.urandom(PART + 3)
        started = start(client, project, len(data))
        for i, url in enumerate(started["parts"]):
            path = body_file(folder, data[i * PART : (i + 1) * PART], name=f"{i:010}")
            assert edge_put(client, url, path, len(path.read_bytes())).status_code == 200
        complete(client, project, started["uuid"])
        assert stored_bytes(started["uuid"]) == data
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def test_a_part_from_the_edge_into_s3(client, project, body_dir, s3_storage):
    data = os.urandom(PART + 10)
    started = start(client, project, len(data))
    for i, url in enumerate(started["parts"]):
        path = body_file(body_dir, data[i * PART : (i + 1) * PART], name=f"{i:010}")
        assert edge_put(client, url, path, len(path.read_bytes())).status_code == 200
        assert not path.exists()
    complete(client, project, started["uuid"])
    assert stored_bytes(started["uuid"]) == data
