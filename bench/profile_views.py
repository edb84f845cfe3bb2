"""P1/P4/P5/P8 in process: where Filedock's views spend a request, in ms per request.

    .venv/bin/python bench/profile_views.py [--requests 2000] [--views upload,cdn,part,rest,files]

Production settings (PostgreSQL, Redis, local disk, FILEDOCK_CDN_X_ACCEL_PREFIX set) on a scratch
database; each request is one call of config.wsgi's application with a WSGI environ, no server, no
socket. For each view: ms per request unprofiled, SQL statements and Redis commands per request
with their time, then cProfile's largest costs (cumulative and own time, ms per request).
Also the cost of one committed INSERT with synchronous_commit on and off on the same server.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, bootstrap, header, manage, production_env, redis_server, row, scratch_database, workdir
from small_uploads import multipart_body

VIEWS = ("upload", "cdn", "part", "rest", "files")
OWN = ("/files/", "/billing/", "/projects/", "/accounts/", "/config/")


class Counter:
    """Counts and times SQL statements and Redis commands while installed."""

    def __init__(self):
        self.sql = self.sql_s = self.redis = self.redis_s = 0

    def sql_wrapper(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += 1
            self.sql_s += time.perf_counter() - started

    def patch_redis(self):
        import redis.client

        for cls, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
            original = getattr(cls, name)

            def timed(*args, _original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.redis += 1
                    self.redis_s += time.perf_counter() - started

            setattr(cls, name, timed)


def call(
    application, method: str, path: str, body: bytes = b"", content_type: str = "", headers: dict | None = None
) -> tuple[int, dict]:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        **(headers or {}),
    }
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    result = application(environ, start_response)
    for _ in result:
        pass
    if hasattr(result, "close"):
        result.close()
    return seen["status"], seen["headers"]


def profile(label: str, fn, requests: int, counter: Counter, connection, warm: int = 50) -> None:
    for _ in range(warm):
        fn()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        fn()
    plain_ms = (time.perf_counter() - started) * 1000 / requests
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    counter.__init__()
    with connection.execute_wrapper(counter.sql_wrapper):
        for _ in range(requests):
            fn()
    # Redis commands are counted for as long as the patch is in, so read them before profiling.
    redis_count, redis_s = counter.redis, counter.redis_s
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        fn()
    profiler.disable()
    header("profile", f"{label}: {requests} requests in process")
    row("wall time per request, unprofiled", plain_ms, "ms")
    row("CPU time per request (this process), unprofiled", cpu_ms, "ms", plain_ms)
    row("SQL statements per request", counter.sql / requests, "")
    row("  their time per request", counter.sql_s * 1000 / requests, "ms", plain_ms)
    row("Redis commands per request", redis_count / requests, "")
    row("  their time per request", redis_s * 1000 / requests, "ms", plain_ms)
    print_costs(pstats.Stats(profiler), requests)


def print_costs(stats: pstats.Stats, requests: int, top: int = 40) -> None:
    """The largest cumulative costs in the project and Django's middleware, then the largest own times."""
    total = max(entry[3] for entry in stats.stats.values())
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        rows.append((cumulative, own, calls, f"{_short(filename)}:{line}({name})"))
    print(f"  cumulative (profiled total {total * 1000 / requests:.2f} ms/request), project code and middleware:")
    shown = 0
    for cumulative, _own, calls, where in sorted(rows, reverse=True):
        if (
            any(part in where for part in OWN)
            or "middleware" in where
            or "/db/models/sql/compiler" in where
            or "psycopg/cursor" in where
            or "/files/uploadedfile" in where
            or "/http/multipartparser" in where
            or ("kombu" in where and "publish" in where)
            or "/core/files/storage" in where
            or "django/template/lo" in where
            or "templatetags" in where
            or "/forms/" in where
            or "shortcuts" in where
        ):
            print(f"    {cumulative * 1000 / requests:8.3f} ms  {calls / requests:6.1f}×  {where}")
            shown += 1
            if shown == top:
                break
    print("  own time, anywhere:")
    for _cumulative, own, calls, where in sorted(rows, key=lambda r: r[1], reverse=True)[:12]:
        print(f"    {own * 1000 / requests:8.3f} ms  {calls / requests:6.1f}×  {where}")


def _short(filename: str) -> str:
    filename = filename.replace(str(ROOT), "")
    return re.sub(r".*/site-packages/", "", filename)


def profile_part_put(application, keys: dict, parts: int, counter: Counter, connection) -> None:
    """P3's part PUT (5 MiB bodies from memory: no socket, so what Django and Filedock add to a part)."""
    import json
    from urllib.parse import urlencode

    part = 5 * 1024 * 1024
    body = os.urandom(part)
    fields = urlencode(
        {
            "UPLOADCARE_PUB_KEY": keys["public_key"],
            "filename": "big.bin",
            "size": part * (3 * parts + 20),
            "content_type": "application/octet-stream",
        }
    ).encode()
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/upload/multipart/start/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(fields),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(fields)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }
    started = json.loads(b"".join(application(environ, start_response)))
    urls = iter(url.split("127.0.0.1", 1)[1] for url in started["parts"])

    def put() -> None:
        status, _ = call(application, "PUT", next(urls), body, "application/octet-stream")
        assert status == 200, status

    profile("Filedock PUT of a 5 MiB multipart part, body from memory", put, parts, counter, connection, warm=10)


def profile_files_page(application, middle, requests: int, counter: Counter, connection) -> None:
    """P1's page: the owner's files page, 50 rows after a row from the middle (as "Next" reaches it)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from files.dashboard.forms import CursorField
    from projects.models import Project

    owner = User.objects.get(email="bench@example.com")
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(owner.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: owner.get_session_auth_hash(),
        }
    )
    session.create()
    project = Project.objects.get(pk=middle.project_id)
    path = f"/projects/{project.pk}/files/?after={CursorField.encode(middle)}"
    headers = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}

    def page() -> None:
        status, _ = call(application, "GET", path, headers=headers)
        assert status == 200, status

    profile("Filedock GET /projects/<id>/files/ (50 rows after the middle)", page, requests, counter, connection)


def commit_cost(connection, repeat: int = 300) -> dict:
    """ms per committed single-row INSERT, synchronous_commit on and off."""
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, uuid uuid NOT NULL)")
    costs = {}
    for mode in ("on", "off"):
        started = time.perf_counter()
        for _ in range(repeat):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL synchronous_commit TO {mode.upper()}")
                cursor.execute("INSERT INTO bench_commit (uuid) VALUES (%s)", [uuid.uuid4()])
        costs[mode] = (time.perf_counter() - started) * 1000 / repeat
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--views", default=",".join(VIEWS), help=f"which to profile, of {','.join(VIEWS)}")
    args = parser.parse_args()
    work = workdir("profile")
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> None:
    with scratch_database("profile") as database_url, redis_server() as redis_url:
        env = production_env(database_url, redis_url, work, FILEDOCK_CDN_X_ACCEL_PREFIX="/_protected/")
        keys = bootstrap(env)
        manage(env, "collectstatic", "--noinput", "-v", "0")  # the files page's manifest static files
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        from django.db import connection

        from config.wsgi import application

        counter = Counter()
        counter.patch_redis()
        boundary = uuid.uuid4().hex
        body = multipart_body(keys["public_key"], boundary, os.urandom(10 * 1000))
        content_type = f"multipart/form-data; boundary={boundary}"

        def upload() -> None:
            status, _ = call(application, "POST", "/upload/base/", body, content_type)
            assert status == 200, status

        views = args.views.split(",")
        upload()
        file_id = next((work / "media" / "files").glob("*/*")).name
        if "upload" in views:
            profile("Filedock POST /upload/base/ (10 KB)", upload, args.requests, counter, connection)
        else:  # the other views read the files these uploads make
            for _ in range(args.requests):
                upload()

        def cdn() -> None:
            status, headers = call(application, "GET", f"/cdn/{file_id}/")
            assert status == 200 and "X-Accel-Redirect" in headers, (status, headers)

        if "cdn" in views:
            profile("Filedock GET /cdn/<uuid>/ (X-Accel-Redirect)", cdn, args.requests * 2, counter, connection)
        if "part" in views:
            profile_part_put(application, keys, args.requests // 20, counter, connection)

        # P8's page: 100 files from the middle of the project, as pyuploadcare's walk asks for them
        # (plain-secret auth here; the signed scheme costs one HMAC more).
        from files.models import File

        middle = File.objects.order_by("datetime_uploaded", "uuid")[args.requests // 2]
        query = f"from={middle.datetime_uploaded.isoformat()}&from_id={middle.uuid}&limit=100".replace("+", "%2B")
        rest_headers = {
            "HTTP_ACCEPT": "application/vnd.uploadcare-v0.7+json",
            "HTTP_AUTHORIZATION": f"Uploadcare.Simple {keys['public_key']}:{keys['secret_key']}",
        }

        def rest_page() -> None:
            status, _ = call(application, "GET", f"/api/files/?{query}", headers=rest_headers)
            assert status == 200, status

        if "rest" in views:
            label = "Filedock GET /api/files/ (a page of 100 from the middle)"
            profile(label, rest_page, args.requests, counter, connection)
        if "files" in views:
            profile_files_page(application, middle, args.requests, counter, connection)

        costs = commit_cost(connection)
        header("profile", "one committed single-row INSERT on the same PostgreSQL, in process")
        row("synchronous_commit on", costs["on"], "ms")
        row("synchronous_commit off", costs["off"], "ms", costs["on"])
        connection.close()


if __name__ == "__main__":
    main()
