"""What the file-list benchmarks (P1 files page, P2 name search, P8 REST iteration) share: a
production server over a scratch database whose project grows to N files generated in SQL, signed-in
sessions, and timed HTTP requests.
"""

import contextlib
import http.client
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bootstrap, manage, production_env, redis_server, scratch_database, workdir

WORDS = ["holiday", "invoice", "report", "scan", "photo", "draft", "contract", "avatar"]
IMAGE_INFO = (
    '{"format": "JPEG", "width": 640, "height": 480, "color_mode": "RGB", "orientation": null, '
    '"dpi": null, "geo_location": null, "datetime_original": null, "sequence": false}'
)
# Row i: a name "<word>-<12 hex>.<ext>", a third of them JPEG images, half stored, one in fifty removed,
# uploaded i/4 s before a fixed moment (so growing the project adds older files).
GROW_SQL = f"""
INSERT INTO files_file (uuid, project_id, original_filename, size, mime_type, image_info, metadata, appdata,
                        infected, source, storage_key, datetime_uploaded, datetime_stored, datetime_removed)
SELECT gen_random_uuid(), %(project)s,
       (ARRAY{WORDS!r})[1 + i %% 8] || '-' || substr(md5(i::text), 1, 12)
           || (ARRAY['.jpg', '.pdf', '.txt'])[1 + i %% 3],
       1000 + i %% 100000,
       (ARRAY['image/jpeg', 'application/pdf', 'text/plain'])[1 + i %% 3],
       CASE WHEN i %% 3 = 0 THEN '{IMAGE_INFO}'::jsonb END,
       CASE WHEN i %% 10 = 0 THEN '{{"kind": "bench"}}'::jsonb ELSE '{{}}'::jsonb END,
       '{{}}'::jsonb, false, 'upload', 'bench/' || i,
       t, CASE WHEN i %% 2 = 0 AND i %% 50 <> 0 THEN t END, CASE WHEN i %% 50 = 0 THEN t END
FROM generate_series(%(start)s::int, %(stop)s::int) AS i,
     LATERAL (SELECT timestamptz '2026-06-01 00:00:00+00' - i * interval '250 milliseconds' AS t) AS at
"""


@dataclass
class Site:
    env: dict
    keys: dict
    database_url: str
    project_id: str
    rows: int = 0

    def grow(self, total: int) -> float:
        """Adds generated files until the project has `total`; returns the seconds it took."""
        import psycopg

        started = time.perf_counter()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            if total > self.rows:
                # GIN indexes (the name trigrams) build far faster in one go than row by row: drop and
                # recreate them, same definition, around the insert.
                gin = conn.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'files_file' "
                    "AND indexdef LIKE '%% USING gin %%'"
                ).fetchall()
                for name, _ in gin:
                    conn.execute(f'DROP INDEX "{name}"')
                conn.execute(GROW_SQL, {"project": self.project_id, "start": self.rows + 1, "stop": total})
                for _, definition in gin:
                    conn.execute(definition)
                conn.execute("VACUUM ANALYZE files_file")
        self.rows = max(self.rows, total)
        return time.perf_counter() - started

    def session_cookie(self, email: str, superuser: bool = False) -> str:
        """A signed-in session for the user with this email (made a superuser if asked), as a Cookie header."""
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

        users = get_user_model().objects
        user = users.filter(email=email).first()
        if user is None:
            user = users.create_superuser(email=email, password="bench-pass-1") if superuser else None
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


@contextlib.contextmanager
def site(label: str):
    """A migrated scratch database with the bootstrap owner's project, its settings loaded in this process."""
    with scratch_database(label) as database_url, redis_server() as redis_url:
        env = production_env(database_url, redis_url, workdir(label))
        keys = bootstrap(env)
        manage(env, "collectstatic", "--noinput", "-v", "0")  # the pages' manifest static files
        os.environ.update(env)
        import django

        django.setup()
        yield Site(env, keys, database_url, keys["project_id"])


def get(port: int, path: str, headers: dict | None = None) -> bytes:
    """One GET on a new connection (gunicorn's sync workers close it after each response)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return body
    finally:
        connection.close()


def page_sql(path: str, cookie: str, repeat: int = 10) -> tuple[int, float, float]:
    """The page's SQL, run in this process: how many queries, their total milliseconds, and the
    milliseconds of its query for the rows shown (LIMIT 51 on files_file: what the bare query does),
    the fastest of `repeat` requests."""
    from django.db import connection
    from django.test import Client

    timings = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((sql, time.perf_counter() - started))

    name, _, value = cookie.partition("=")
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[name] = value
    best = None
    for _ in range(repeat):
        timings.clear()
        with connection.execute_wrapper(timed):
            assert client.get(path).status_code == 200
        keyset = min(t for sql, t in timings if 'FROM "files_file"' in sql and "LIMIT 51" in sql)
        best = min(best or keyset, keyset)
    return len(timings), sum(t for _, t in timings) * 1000, best * 1000


def parse_sizes(value: str) -> list[int]:
    return [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
