"""P4: 10 KB uploads per second through the Upload API (POST /upload/base/), 8 concurrent clients.

    .venv/bin/python bench/small_uploads.py [--seconds 10] [--workers 4]

Production settings (PostgreSQL, Redis, local disk) on gunicorn; wrk (its own process) posts the
same multipart/form-data body over 8 connections. The baseline is a minimal Django view that
writes the same file to disk (bench/minimal_upload_app.py), served by the same gunicorn command.
Two floors from the same module: that view plus one INSERT of a row for the file in a committed
transaction on the same PostgreSQL, with synchronous_commit on (as production) and off: what
recording a file durably before answering costs, whatever else the design does. And a ceiling:
the same module's guarded view, making the round trips Filedock's upload makes for its guarantees
(rate limit, project lookup, durable file and events, relay wake-up, metering, API log line) with
nothing else around them: Filedock's share of it is what its own code costs.

Filedock is measured twice: with API logs on (the default: a line per request RPUSHed to Redis,
no worker draining it during the run) and with FILEDOCK_API_LOG=0.

Targets: >= 0.7x the minimal view (issue #7); >= 0.6x the durable-INSERT floor (issue #22).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import uuid
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # bench.minimal_settings, as gunicorn finds it
import minimal_upload_app
import psycopg
import redis
from harness import Server, bootstrap, header, measured, production_env, redis_server, row, scratch_database, workdir

# One client address sends every request: the Upload API's rate limits would measure themselves.
CONNECTIONS = 8
FILE_SIZE = 10 * 1000
WRK_SCRIPT = """
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("BENCH_BOUNDARY")
"""


def multipart_body(public_key: str, boundary: str, data: bytes) -> bytes:
    fields = [("UPLOADCARE_PUB_KEY", public_key), ("UPLOADCARE_STORE", "1")]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="small.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def wrk(url: str, work: Path, body: bytes, boundary: str, seconds: int) -> float:
    """Requests per second over `seconds`; raises if any answer was not a 2xx."""
    (work / "body.bin").write_bytes(body)
    (work / "post.lua").write_text(WRK_SCRIPT)
    output = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "-s", str(work / "post.lua"), url],
        env={**os.environ, "BENCH_BODY": str(work / "body.bin"), "BENCH_BOUNDARY": boundary},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    work = workdir("small-uploads")
    boundary = uuid.uuid4().hex
    data = os.urandom(FILE_SIZE)
    try:
        with scratch_database("small") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work)
            keys = bootstrap(env)
            body = multipart_body(keys["public_key"], boundary, data)
            runs = {}
            for api_log in ("1", "0"):
                with Server({**env, "FILEDOCK_API_LOG": api_log}, workers=args.workers) as server:
                    post = partial(wrk, f"{server.base}/upload/base/", work, body, boundary)
                    runs[api_log] = measured(server.pids(), post, args.seconds)
            (filedock, filedock_cpu), (unlogged, unlogged_cpu) = runs["1"], runs["0"]
            stored = list((work / "media" / "files").glob("*/*"))
            assert stored and all(path.stat().st_size == FILE_SIZE for path in stored[:50]), "stored files differ"

            minimal_dir = work / "minimal"
            minimal_dir.mkdir()
            minimal_env = {
                **env,
                "DJANGO_SETTINGS_MODULE": "bench.minimal_upload_app",
                "BENCH_UPLOAD_DIR": str(minimal_dir),
            }
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(minimal_upload_app.TABLE_SQL)
                conn.execute(minimal_upload_app.GUARDED_SQL)
            floors = {}
            with Server(minimal_env, workers=args.workers) as server:
                for name in ("base", "durable", "async-commit", "guarded"):
                    post = partial(wrk, f"{server.base}/upload/{name}/", work, body, boundary)
                    floors[name] = measured(server.pids(), post, args.seconds)
            assert next(minimal_dir.iterdir()).stat().st_size == FILE_SIZE
            with psycopg.connect(database_url) as conn:
                assert conn.execute("SELECT count(*) FROM bench_minimal_upload").fetchone()[0] > 0
                events = conn.execute("SELECT count(*) FROM bench_minimal_event").fetchone()[0]
            counts = redis.Redis.from_url(redis_url)
            usage = sum(int(n) for key in counts.keys("bench-usage:*") for n in counts.hvals(key))
            assert events > 0 and events == 2 * usage, (events, usage)  # two events and one count per file
            (minimal, minimal_cpu), (durable, durable_cpu), (async_commit, async_cpu), (guarded, guarded_cpu) = (
                floors.values()
            )

        header("P4", f"10 KB uploads, {CONNECTIONS} connections (wrk), gunicorn {args.workers} sync workers")
        row("minimal Django view writing the file", minimal, "req/s")
        row("Filedock POST /upload/base/", filedock, "req/s", minimal, "≥ 0.7×")
        row("Filedock POST /upload/base/, FILEDOCK_API_LOG=0", unlogged, "req/s", minimal)
        row("floor: minimal view + INSERT, synchronous_commit on", durable, "req/s", minimal)
        row("floor: minimal view + INSERT, synchronous_commit off", async_commit, "req/s", minimal)
        row("Filedock / floor with durable INSERT", filedock / durable, "×", None, "≥ 0.6×")
        row("ceiling: the guarantees' round trips alone (guarded view)", guarded, "req/s", minimal)
        row("  ceiling / floor with durable INSERT", guarded / durable, "×")
        row("Filedock / ceiling", filedock / guarded, "×")
        # gunicorn's CPU per request: steadier than req/s when other work shares the 2 cores.
        row("server CPU per request, minimal view", minimal_cpu, "ms")
        row("server CPU per request, Filedock", filedock_cpu, "ms", minimal_cpu)
        row("server CPU per request, Filedock, API log off", unlogged_cpu, "ms", minimal_cpu)
        row("  API log's share of Filedock's CPU per request", filedock_cpu - unlogged_cpu, "ms")
        row("server CPU per request, minimal + durable INSERT", durable_cpu, "ms", minimal_cpu)
        row("server CPU per request, minimal + async-commit INSERT", async_cpu, "ms", minimal_cpu)
        row("server CPU per request, ceiling (guarded view)", guarded_cpu, "ms", minimal_cpu)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
