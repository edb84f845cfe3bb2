"""P8: pyuploadcare iterating every file of a project through the REST API, against bare SQL.

    .venv/bin/python bench/rest_iterate.py [--files 100000] [--repeat 1]

One scratch PostgreSQL database and a gunicorn server (2 workers) on the production settings; the
project gets --files rows generated in SQL (one in fifty removed, so the list has 98 % of them).
It times `client.list_files()` of pyuploadcare 6 (the official client, unmodified, signed
requests, 100 files a page as it asks by default) to the last file, the same walk with
`request_limit=1000`, and a plain client following `next` with http.client and json.loads (the
server's share without the client's models). The baseline is bare SQL over psycopg from this
process reading the same rows (every column, oldest first) in one query, and in keyset pages of 100.
The floors are pyuploadcare walking the very same pages saved as files: served by nginx (what the
client alone costs, with a server that answers at once), and answered by a bare Django view on
the same gunicorn command (bench/minimal_rest_app.py: what an HTTP request through Django costs
before any work of Filedock's). The ceiling is that view doing, before it answers, the round trips
the REST API's guarantees need (the signed key checked (its row kept under a Redis token), the page's rows read, the
rate window and the call count in Redis): no Django server keeping them can walk faster.

Targets: pyuploadcare's walk <= 5x the bare SQL read (issue #7), <= 2x the nginx floor (issue #22).

The plain client's walk runs twice more, on a server with FILEDOCK_API_LOG=0 and on one with it on
(each REST request buffers a log line in Redis); then the lines are drained into the table, timed.

On a busy machine the wall-clock figures stretch with every wait for a core (a page takes about ten
round trips between processes); the CPU seconds of gunicorn's workers and of this process during
the walks are printed too, and move far less.
"""

import argparse
import contextlib
import http.client
import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from file_rows import site
from nginx_server import Nginx

from bench.harness import Server, best_of, cpu_seconds, header, row, workdir

ALL_SQL = """SELECT * FROM files_file WHERE project_id = %(project)s AND datetime_removed IS NULL
ORDER BY datetime_uploaded, uuid"""
PAGE_SQL = """SELECT uuid AS pk, datetime_uploaded AS at, * FROM files_file
WHERE project_id = %(project)s AND datetime_removed IS NULL
AND (datetime_uploaded, uuid) > (%(at)s, %(pk)s) ORDER BY datetime_uploaded, uuid LIMIT 100"""


def bare_pages(conn, project: str) -> int:
    rows, at, pk = 0, datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0)
    while page := conn.execute(PAGE_SQL, {"project": project, "at": at, "pk": pk}).fetchall():
        rows += len(page)
        pk, at = page[-1][0], page[-1][1]
    return rows


def plain_walk(url: str, public_key: str, secret_key: str, pages: list | None = None) -> int:
    """Follows `next` with the standard library's HTTP client and json.loads (Uploadcare.Simple auth);
    appends each page's parsed body to `pages` when given."""
    headers = {
        "Accept": "application/vnd.uploadcare-v0.7+json",
        "Authorization": f"Uploadcare.Simple {public_key}:{secret_key}",
    }
    rows = 0
    while url:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = connection.getresponse()
        page = json.loads(response.read())
        connection.close()
        assert response.status == 200, page
        rows += len(page["results"])
        url = page["next"]
        if pages is not None:
            pages.append(page)
    return rows


# The client's floor: the same pages as files, answered by nginx with no application behind it.
STATIC_PAGES = """
    server {{
        listen 127.0.0.1:{port};
        location = /api/files/ {{
            root {pages};
            default_type application/vnd.uploadcare-v0.7+json;
            try_files /p$arg_page.json =404;  # the first request has no page: p.json
        }}
    }}
"""


def write_pages(directory: Path, pages: list[dict], base: str) -> None:
    """`pages` as p.json, p1.json, ..., each `next` pointing at the following one under `base`."""
    for number, page in enumerate(pages):
        following = f"{base}/api/files/?page={number + 1}" if page["next"] else None
        (directory / f"p{number or ''}.json").write_text(json.dumps({**page, "next": following, "previous": None}))


@contextlib.contextmanager
def static_pages(pages: list[dict]):
    """nginx serving `pages` in order at /api/files/?page=N, each `next` pointing at the following one."""
    work = workdir("p8-pages")
    try:
        nginx = Nginx(work / "nginx", STATIC_PAGES, pages=work)
        write_pages(work, pages, nginx.base)
        with nginx:
            yield nginx
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def django_pages(env: dict, pages: list[dict], **extra: str):
    """The same pages answered by bench/minimal_rest_app.py on the gunicorn command Filedock runs on
    (with `extra` in its environment: BENCH_REST_GUARDED and the project it needs)."""
    work = workdir("p8-django-pages")
    try:
        server = Server(
            {**env, "DJANGO_SETTINGS_MODULE": "bench.minimal_rest_app", "BENCH_PAGES_DIR": str(work), **extra}
        )
        write_pages(work, pages, server.base)
        with server:
            yield server
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed_walk(base: str, keys: dict) -> tuple[float, float, int]:
    """pyuploadcare's list_files() against `base`: wall seconds, this process's CPU seconds, files."""
    from pyuploadcare import Uploadcare

    client = Uploadcare(
        public_key=keys["public_key"],
        secret_key=keys["secret_key"],
        api_base=f"{base}/api/",
        upload_base=f"{base}/upload/",
    )
    started, cpu = time.perf_counter(), time.process_time()
    files = sum(1 for _ in client.list_files())
    return time.perf_counter() - started, time.process_time() - cpu, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import psycopg
    from pyuploadcare import Uploadcare

    with site("p8") as s:
        took = s.grow(args.files)
        header("P8", f"pyuploadcare list_files() over {args.files:,} files vs bare SQL, best of {args.repeat}")
        print(f"  ({args.files:,} files generated in {took:.1f} s)", flush=True)
        with Server(s.env) as server, psycopg.connect(s.database_url, autocommit=True) as conn:
            client = Uploadcare(
                public_key=s.keys["public_key"],
                secret_key=s.keys["secret_key"],
                api_base=f"{server.base}/api/",
                upload_base=f"{server.base}/upload/",
                cdn_base=f"{server.base}/cdn/",
            )
            expected = len(conn.execute(ALL_SQL, {"project": s.project_id}).fetchall())
            counts = {}

            def walk(request_limit=None):
                counts[request_limit] = sum(1 for _ in client.list_files(request_limit=request_limit))

            bare = best_of(lambda: conn.execute(ALL_SQL, {"project": s.project_id}).fetchall(), 3)
            assert bare_pages(conn, s.project_id) == expected
            paged = best_of(lambda: bare_pages(conn, s.project_id), 3)
            pids = server.pids()
            started, server_cpu = time.perf_counter(), cpu_seconds(pids)
            pages = []
            plain_rows = plain_walk(f"{server.base}/api/files/", s.keys["public_key"], s.keys["secret_key"], pages)
            plain, plain_server_cpu = time.perf_counter() - started, cpu_seconds(pids) - server_cpu
            started, server_cpu, client_cpu = time.perf_counter(), cpu_seconds(pids), time.process_time()
            walk()
            default = time.perf_counter() - started
            default_server_cpu, default_client_cpu = cpu_seconds(pids) - server_cpu, time.process_time() - client_cpu
            if args.repeat > 1:
                default = min(default, best_of(walk, args.repeat - 1))
            assert counts[None] == expected == plain_rows, (counts, expected, plain_rows)
            big = best_of(lambda: walk(1000), args.repeat)
            assert counts[1000] == expected, counts
        logged = {}
        for api_log in ("0", "1"):
            with Server({**s.env, "FILEDOCK_API_LOG": api_log}) as server:
                pids = server.pids()
                warm = f"{server.base}/api/files/?limit=1&from=2999-01-01T00:00:00"  # one empty page
                assert plain_walk(warm, s.keys["public_key"], s.keys["secret_key"]) == 0
                started, server_cpu = time.perf_counter(), cpu_seconds(pids)
                assert plain_walk(f"{server.base}/api/files/", s.keys["public_key"], s.keys["secret_key"]) == expected
                logged[api_log] = (time.perf_counter() - started, cpu_seconds(pids) - server_cpu)
        from projects.apilogs import api_log_drain  # Django is set up by site()

        started = time.perf_counter()
        drained = api_log_drain()
        drain = time.perf_counter() - started
        with static_pages(pages) as nginx:
            floor, floor_cpu, files = timed_walk(nginx.base, s.keys)
            assert files == expected
        with django_pages(s.env, pages) as bare_django:
            django_floor, _, files = timed_walk(bare_django.base, s.keys)
            assert files == expected
        guarded_env = {
            "BENCH_REST_GUARDED": "1",
            "BENCH_PROJECT_ID": str(s.project_id),
            "BENCH_PUBLIC_KEY": s.keys["public_key"],
            "BENCH_SECRET_KEY": s.keys["secret_key"],
        }
        with django_pages(s.env, pages, **guarded_env) as guarded:
            guarded_floor, _, files = timed_walk(guarded.base, s.keys)
            assert files == expected
        row(f"bare SQL, {expected:,} rows in one query", bare, "s")
        row("bare SQL, keyset pages of 100", paged, "s", bare)
        row("plain HTTP client following next (100 a page)", plain, "s", bare)
        row("pyuploadcare list_files() (100 a page)", default, "s", bare, "<= 5")
        row("pyuploadcare list_files(request_limit=1000)", big, "s", bare)
        row("floor: pyuploadcare over the same pages from nginx files", floor, "s", bare, "<= 5")
        row("  Filedock's walk over that floor", default / floor, "x", None, "<= 2")
        row("floor: the same pages from a bare Django view on gunicorn", django_floor, "s", bare)
        row("  Filedock's walk over that floor", default / django_floor, "x")
        per_page = (default - django_floor) * 1000 / len(pages)
        row("Filedock's own time per page of 100, over that floor", per_page, "ms")
        row("ceiling: that view + key check, rows, rate, count", guarded_floor, "s", bare)
        row("  that ceiling over the nginx floor", guarded_floor / floor, "x", None, "<= 2")
        row("  Filedock's walk over that ceiling", default / guarded_floor, "x")
        print(f"  {'files per second, pyuploadcare default':<52} {expected / default:12.0f}", flush=True)
        row("plain client's walk, FILEDOCK_API_LOG=0", logged["0"][0], "s", bare)
        row("plain client's walk, API log on", logged["1"][0], "s", bare)
        row("CPU of gunicorn's workers, walk with API log off", logged["0"][1], "s")
        row("CPU of gunicorn's workers, walk with API log on", logged["1"][1], "s", logged["0"][1])
        row(f"drain of {drained:,} buffered log lines (every request of the run)", drain, "s")
        row("CPU of gunicorn's workers, plain client's walk", plain_server_cpu, "s")
        row("CPU of gunicorn's workers, pyuploadcare's walk", default_server_cpu, "s")
        row("CPU of pyuploadcare (this process), its walk", default_client_cpu, "s")
        row("CPU of pyuploadcare (this process), the floor's walk", floor_cpu, "s")


if __name__ == "__main__":
    main()
