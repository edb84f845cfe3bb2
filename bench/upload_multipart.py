"""P3: a multipart upload through Filedock against `cp` of the same file, and the server's memory.

    .venv/bin/python bench/upload_multipart.py [--size-mib 256]   # --size-mib 1024 for the issue's figure

Production settings (PostgreSQL, Redis, local disk storage) on gunicorn in a temporary folder. One
file of random bytes is uploaded with a plain HTTP client that sends each 5 MiB part with
sendfile() (what the server sustains, the client costing next to nothing), then with pyuploadcare
(what an official client sees), then over tus with tuspy in chunks of the same size. Prints MiB/s
for each and for `cp` of the same file on the same disk, and the largest RSS growth of any server
process during the uploads.

Then the same uploads behind the edge of deploy/ (its template rendered by deploy/render.py, as
bench/cdn_serve.py runs it), on a second gunicorn of the same settings plus FILEDOCK_EDGE_SECRET:
nginx reads each part's body into a file and Django copies it into place (files/uploads/edge.py).
Its RSS growth is measured on its own gunicorn's workers, and nginx's beside it.

`cp` reads and writes the page cache, so it measures memory bandwidth, not the disk: a ratio
against it is a hard bar for anything that crosses a socket.

Memory is made even first (`pretouch`). In a virtual machine a page the guest has never touched
costs a fault in the hypervisor when first written: here that writes about 400 MiB/s, against
about 5 GiB/s into pages freed before. `cp` deletes its copy between runs and so always writes
into freed pages, while every upload is kept and would take new ones. So a ballast of several
uploads' size is written and deleted before anything is timed, and every contender writes into
memory the guest has touched. Its speed is printed: it is what the first run would see.
"""

import argparse
import filecmp
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdn_serve import Edge
from harness import (
    PeakSampler,
    Server,
    bootstrap,
    header,
    production_env,
    redis_server,
    row,
    scratch_database,
    tree_pids,
    workdir,
)
from upload_ceilings import nginx_app_sink, nginx_sink, raw_sink, wsgi_sink

# One client address sends every request: the Upload API's rate limits would measure themselves.
PART = 5 * 1024 * 1024
EDGE_SECRET = "bench-" + "e" * 32


BALLAST = 6  # uploads' worth of memory touched before timing: the kept uploads and what the ceilings write


def pretouch(work: Path, size: int) -> float:
    """Writes, then deletes, BALLAST × `size` bytes; returns the seconds the writing took."""
    ballast = work / "ballast.bin"
    block = os.urandom(1024 * 1024)
    started = time.perf_counter()
    with open(ballast, "wb") as f:
        for _ in range(BALLAST * size // len(block)):
            f.write(block)
    took = time.perf_counter() - started
    ballast.unlink()
    return took


def post_form(base: str, path: str, fields: dict) -> dict:
    body = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(f"{base}{path}", body, timeout=600) as response:
        return json.loads(response.read())


def put_parts(port: int, paths: list[str], source: Path, part: int = PART) -> None:
    """PUTs the file's parts to `paths` in order, each with sendfile() on one keep-alive connection."""
    size = source.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    with open(source, "rb") as f:
        for index, url_path in enumerate(paths):
            offset = index * part
            length = min(part, size - offset)
            connection.putrequest("PUT", url_path, skip_accept_encoding=True)
            connection.putheader("Content-Type", "application/octet-stream")
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            connection.sock.sendfile(f, offset, length)
            response = connection.getresponse()
            response.read()
            assert 200 <= response.status < 300, response.status
    connection.close()


def raw_upload(server, public_key: str, source: Path, split: dict | None = None) -> str:
    """start, every part PUT with sendfile() on one keep-alive connection, complete; returns the UUID.

    `server` is anything with `base` and `port` (gunicorn, or nginx in front of it).
    `split`, when given, receives the seconds spent sending parts and completing."""
    size = source.stat().st_size
    begun = time.perf_counter()
    started = post_form(
        server.base,
        "/upload/multipart/start/",
        {
            "UPLOADCARE_PUB_KEY": public_key,
            "filename": source.name,
            "size": size,
            "content_type": "application/octet-stream",
            "UPLOADCARE_STORE": "1",
        },
    )
    put_parts(server.port, [url.split(str(server.port), 1)[1] for url in started["parts"]], source)
    parts_done = time.perf_counter()
    done = post_form(
        server.base, "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": public_key, "uuid": started["uuid"]}
    )
    if split is not None:
        split["parts"] = split.get("parts", 0) + parts_done - begun
        split["complete"] = split.get("complete", 0) + time.perf_counter() - parts_done
    return done["uuid"]


def pyuploadcare_upload(server: Server, keys: dict, source: Path) -> str:
    from pyuploadcare import Uploadcare

    client = Uploadcare(
        public_key=keys["public_key"],
        secret_key=keys["secret_key"],
        upload_base=f"{server.base}/upload/",
        api_base=f"{server.base}/api/",
    )
    with open(source, "rb") as f:
        return str(client.upload(f, store=True).uuid)


def tuspy_upload(server: Server, keys: dict, source: Path, chunk_size: int = PART) -> str:
    """The same file over tus (files/uploads/tus.py) with tuspy, in chunks of the multipart part size."""
    from tusclient import client as tus_client

    uploader = tus_client.TusClient(f"{server.base}/upload/tus/").uploader(
        file_path=str(source), chunk_size=chunk_size, metadata={"pub_key": keys["public_key"], "store": "1"}
    )
    uploader.upload()
    return uploader.url.rstrip("/").rsplit("/", 1)[-1]


class EdgeFront:
    """The dashboard server of the edge, as raw_upload and pyuploadcare_upload address a server."""

    def __init__(self, edge: Edge):
        self.port = edge.ports["dashboard"]
        self.base = f"http://127.0.0.1:{self.port}"


def behind_edge(env: dict, work: Path, keys: dict, source: Path) -> dict:
    """The plain client's upload (best of two, with its split) and pyuploadcare's through deploy/'s
    nginx in front of a gunicorn of its own; the RSS growth of its processes and of nginx's."""
    edge = Edge(work / "edge", work / "media", edge_secret=EDGE_SECRET)
    edge_env = {**env, "FILEDOCK_EDGE_SECRET": EDGE_SECRET, "FILEDOCK_EDGE_BODY_DIR": str(work / "edge-bodies")}
    with Server(edge_env, workers=2, threads=1) as server:
        edge.start(server.port)
        try:
            front = EdgeFront(edge)
            warm = work / "warm.bin"
            raw_upload(front, keys["public_key"], warm)  # warm-up: imports, connections
            sampler, nginx_sampler = PeakSampler(server.pids()), PeakSampler(tree_pids(edge.proc.pid))
            sampler.start()
            nginx_sampler.start()
            splits = [{}, {}]
            raw = [
                (*timed(lambda: raw_upload(front, keys["public_key"], source, split)), i)
                for i, split in enumerate(splits)
            ]
            client_seconds, client_uuid = timed(lambda: pyuploadcare_upload(front, keys, source))
            growth_kib, nginx_kib = sampler.stop(), nginx_sampler.stop()
            leftovers = list((work / "edge-bodies").iterdir())
        finally:
            edge.stop()
    seconds, uuid, best = min(raw)
    for kept in (uuid, client_uuid):
        stored = next((work / "media" / "files").glob(f"*/{kept}"))
        assert filecmp.cmp(stored, source, shallow=False), kept
        stored.unlink()
    assert not leftovers, f"body files left behind: {leftovers}"
    return {
        "seconds": seconds,
        "split": splits[best],
        "client_seconds": client_seconds,
        "growth_kib": growth_kib,
        "nginx_kib": nginx_kib,
    }


def timed(fn) -> tuple[float, str]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    work = workdir("multipart")
    try:
        with scratch_database("multipart") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work)
            keys = bootstrap(env)
            source = work / "source.bin"
            with open(source, "wb") as f:
                for _ in range(args.size_mib):
                    f.write(os.urandom(1024 * 1024))
            size = source.stat().st_size
            mib = size / 1024 / 1024

            def cp() -> None:
                subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True)
                (work / "copy.bin").unlink()

            def cp_sync() -> None:  # the copy on the disk itself, as a file that is kept must get there
                subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True)
                subprocess.run(["sync", str(work / "copy.bin")], check=True)
                (work / "copy.bin").unlink()

            ballast_seconds = pretouch(work, size)
            cp()  # the source is now in the page cache for every contender alike
            cp_seconds = min(timed(cp)[0] for _ in range(3))
            cp_sync_seconds = min(timed(cp_sync)[0] for _ in range(2))

            with Server(env, workers=2, threads=1) as server:
                sampler = PeakSampler(server.pids())
                sampler.start()
                warm = work / "warm.bin"
                warm.write_bytes(os.urandom(PART + 1))
                raw_upload(server, keys["public_key"], warm)  # warm-up: imports, connections
                splits = [{}, {}]
                raw = [
                    (*timed(lambda: raw_upload(server, keys["public_key"], source, split)), i)
                    for i, split in enumerate(splits)
                ]
                client_seconds, client_uuid = timed(lambda: pyuploadcare_upload(server, keys, source))
                tus_seconds, tus_uuid = timed(lambda: tuspy_upload(server, keys, source))
                growth_kib = sampler.stop()
            raw_seconds, raw_uuid, best = min(raw)
            for uuid in (raw_uuid, client_uuid, tus_uuid):
                stored = next((work / "media" / "files").glob(f"*/{uuid}"))
                assert stored.stat().st_size == size, f"{uuid}: stored size differs"
                stored.unlink()  # its pages freed for the next uploads, as the ballast's were (pretouch)

            edge = behind_edge(env, work, keys, source)

            # Ceilings and the nginx-writes-the-body prototype (bench/upload_ceilings.py), same run.
            sink_parts, sink_curl = nginx_sink(work, source, put_parts, PART)
            sink_app = nginx_app_sink(work, source, put_parts, PART)
            raw_1m = raw_sink(work, source, put_parts, PART, 1024 * 1024)
            raw_8k = raw_sink(work, source, put_parts, PART, 8 * 1024)
            bare_wsgi = wsgi_sink(work, source, put_parts, PART, "gunicorn")
            bare_granian = wsgi_sink(work, source, put_parts, PART, "granian")

            header("P3", f"multipart upload of {mib:.0f} MiB (5 MiB parts), gunicorn 2 sync workers, local disk")
            row(
                f"memory touched first: {BALLAST}× the file written, then deleted",
                BALLAST * mib / ballast_seconds,
                "MiB/s",
            )
            row("cp (same disk, page cache)", mib / cp_seconds, "MiB/s")
            row(
                "multipart upload, plain HTTP client (sendfile)",
                mib / raw_seconds,
                "MiB/s",
                mib / cp_seconds,
                "≥ 0.5× cp",
            )
            row("  of which parts PUT", splits[best]["parts"], "s")
            row("  of which complete", splits[best]["complete"], "s")
            row("multipart upload, pyuploadcare", mib / client_seconds, "MiB/s", mib / cp_seconds)
            row("tus upload, tuspy (5 MiB chunks), vs pyuploadcare", mib / tus_seconds, "MiB/s", mib / client_seconds)
            row("cp, then sync the copy to disk", mib / cp_sync_seconds, "MiB/s", mib / cp_seconds)
            row("  plain HTTP upload vs cp + sync", mib / raw_seconds, "MiB/s", mib / cp_sync_seconds)
            row("server RSS growth, largest process", growth_kib / 1024, "MiB", target="< 64 MiB")
            cp_rate = mib / cp_seconds
            row(
                "behind the edge (deploy/: nginx writes the body), plain",
                mib / edge["seconds"],
                "MiB/s",
                cp_rate,
                "≥ 0.5× cp",
            )
            row("  of which parts PUT", edge["split"]["parts"], "s")
            row("  of which complete", edge["split"]["complete"], "s")
            row("  vs the same client straight to gunicorn", mib / edge["seconds"], "MiB/s", mib / raw_seconds)
            row("  vs the nginx ceiling below (parts only)", mib / edge["split"]["parts"], "MiB/s", mib / sink_parts)
            row("behind the edge, pyuploadcare", mib / edge["client_seconds"], "MiB/s", cp_rate)
            row("  gunicorn RSS growth, largest process", edge["growth_kib"] / 1024, "MiB", target="< 64 MiB")
            row("  nginx RSS growth, largest process", edge["nginx_kib"] / 1024, "MiB")
            row("ceiling: nginx body to file, same client (5 MiB PUTs)", mib / sink_parts, "MiB/s", cp_rate)
            row("ceiling: nginx body to file, curl -T whole file", mib / sink_curl, "MiB/s", cp_rate)
            row("ceiling: nginx body to file, bare app copies it in place", mib / sink_app, "MiB/s", cp_rate)
            row("  behind the edge (parts only) vs this ceiling", mib / edge["split"]["parts"], "MiB/s", mib / sink_app)
            row("ceiling: Python raw socket, recv_into 1 MiB, pwrite", mib / raw_1m, "MiB/s", cp_rate)
            row("ceiling: Python raw socket, recv_into 8 KiB, pwrite", mib / raw_8k, "MiB/s", cp_rate)
            row("ceiling: gunicorn sync worker, bare WSGI app, pwrite", mib / bare_wsgi, "MiB/s", cp_rate)
            row("ceiling: granian (Rust reads the socket), bare WSGI app", mib / bare_granian, "MiB/s", cp_rate)
            row("  plain HTTP upload vs the gunicorn ceiling", mib / raw_seconds, "MiB/s", mib / bare_wsgi)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
