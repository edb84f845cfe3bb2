"""P3b: a tus upload against a multipart upload of the same file, in the same run.

    .venv/bin/python bench/tus.py [--size-mib 128] [--chunk-mib 8] [--rounds 2]

Production settings (PostgreSQL, Redis, local disk storage) on gunicorn in a temporary folder, as
bench/upload_multipart.py, whose clients and memory warm-up it reuses. One file of random bytes is
uploaded by each contender, the contenders taking turns for `--rounds` rounds; each one's best
round is kept:

- tuspy in `--chunk-mib` chunks (files/uploads/tus.py), against pyuploadcare's multipart upload
  (5 MiB parts): what an application sees with either official-style client;
- a plain HTTP client sending each tus PATCH with sendfile() on one keep-alive connection, against
  the same client's multipart upload (upload_multipart.raw_upload): what the server sustains on
  each path, the client costing next to nothing.

Each stored file's size is checked and the file then deleted, so every contender writes into
memory freed by the one before (see upload_multipart's note on `pretouch`).
"""

import argparse
import base64
import http.client
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Server, bootstrap, header, production_env, redis_server, row, scratch_database, workdir
from upload_multipart import PART, pretouch, pyuploadcare_upload, raw_upload, timed, tuspy_upload

MIB = 1024 * 1024


def raw_tus_upload(server: Server, public_key: str, source: Path, chunk: int) -> str:
    """POST, then every chunk PATCHed with sendfile() on one keep-alive connection; returns the UUID."""
    size = source.stat().st_size
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"pub_key": public_key, "filename": source.name, "store": "1"}.items()
    )
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    connection.request(
        "POST",
        "/upload/tus/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": metadata},
    )
    created = connection.getresponse()
    created.read()
    assert created.status == 201, created.status
    path = urlsplit(created.getheader("Location")).path
    offset = 0
    with open(source, "rb") as f:
        while offset < size:
            length = min(chunk, size - offset)
            connection.putrequest("PATCH", path, skip_accept_encoding=True)
            connection.putheader("Tus-Resumable", "1.0.0")
            connection.putheader("Content-Type", "application/offset+octet-stream")
            connection.putheader("Upload-Offset", str(offset))
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            connection.sock.sendfile(f, offset, length)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 204, answer.status
            offset = int(answer.getheader("Upload-Offset"))
    connection.close()
    return path.rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=128)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    chunk = args.chunk_mib * MIB
    work = workdir("tus")
    try:
        with scratch_database("tus") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work)
            keys = bootstrap(env)
            source = work / "source.bin"
            with open(source, "wb") as f:
                for _ in range(args.size_mib):
                    f.write(os.urandom(MIB))
            size = source.stat().st_size
            mib = size / MIB
            pretouch(work, size)

            def checked(uuid: str, expected: int = size) -> None:
                stored = next((work / "media" / "files").glob(f"*/{uuid}"))
                assert stored.stat().st_size == expected, f"{uuid}: stored size differs"
                stored.unlink()

            contenders = {
                "multipart, pyuploadcare": lambda server: pyuploadcare_upload(server, keys, source),
                "tus, tuspy": lambda server: tuspy_upload(server, keys, source, chunk),
                "multipart, plain HTTP (sendfile)": lambda server: raw_upload(server, keys["public_key"], source),
                "tus, plain HTTP (sendfile)": lambda server: raw_tus_upload(server, keys["public_key"], source, chunk),
            }
            best = dict.fromkeys(contenders, float("inf"))
            with Server(env, workers=2, threads=1) as server:
                warm = work / "warm.bin"
                warm.write_bytes(os.urandom(PART + 1))
                checked(raw_upload(server, keys["public_key"], warm), PART + 1)  # warm-up: imports, connections
                checked(raw_tus_upload(server, keys["public_key"], warm, chunk), PART + 1)
                for _ in range(args.rounds):
                    for name, upload in contenders.items():
                        seconds, uuid = timed(lambda upload=upload: upload(server))
                        checked(uuid)
                        best[name] = min(best[name], seconds)

            rate = {name: mib / seconds for name, seconds in best.items()}
            header(
                "P3b",
                f"tus ({args.chunk_mib} MiB chunks) vs multipart (5 MiB parts), {mib:.0f} MiB, "
                f"best of {args.rounds}, gunicorn 2 sync workers, local disk",
            )
            row("multipart upload, pyuploadcare", rate["multipart, pyuploadcare"], "MiB/s")
            row(
                f"tus upload, tuspy ({args.chunk_mib} MiB chunks), vs pyuploadcare",
                rate["tus, tuspy"],
                "MiB/s",
                rate["multipart, pyuploadcare"],
            )
            row("multipart upload, plain HTTP client (sendfile)", rate["multipart, plain HTTP (sendfile)"], "MiB/s")
            row(
                "tus upload, plain HTTP (sendfile), vs multipart",
                rate["tus, plain HTTP (sendfile)"],
                "MiB/s",
                rate["multipart, plain HTTP (sendfile)"],
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
