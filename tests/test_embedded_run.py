"""`make run`'s server: SQLite, local disk, file-based broker, one signal stops everything."""

import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.harness import free_port
from tests.helpers import ACCEPT, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _environment(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", FILEDOCK_VAR_DIR=str(var_dir))
    return env


@pytest.fixture(scope="module")
def embedded_template(tmp_path_factory) -> Path:
    """What `make run` prepares before serving, done once: a migrated SQLite database and the
    collected static files. Migrating and collecting touch different files, so they run at once."""
    template = tmp_path_factory.mktemp("embedded-template")
    steps = [
        subprocess.Popen(
            [sys.executable, "manage.py", command, "--noinput", "-v0"], cwd=ROOT, env=_environment(template)
        )
        for command in ("migrate", "collectstatic")
    ]
    assert [step.wait() for step in steps] == [0, 0]
    return template


@pytest.fixture
def embedded_env(tmp_path, embedded_template):
    """A var folder of the test's own, as `make run` leaves it before `serve`: a copy of the template's
    database (so no test sees another's rows) and its static files (hard links: nothing writes them)."""
    for database in embedded_template.glob("db.sqlite3*"):  # with its write-ahead log, if one was left
        shutil.copyfile(database, tmp_path / database.name)
    shutil.copytree(embedded_template / "staticfiles", tmp_path / "staticfiles", copy_function=os.link)
    return _environment(tmp_path)


def _manage(env, *args) -> str:
    return _finished(_manage_start(env, *args))


def _manage_start(env, *args) -> subprocess.Popen:
    """A management command started in the background (while the server comes up); `_finished` gives its output."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(command: subprocess.Popen) -> str:
    stdout, stderr = command.communicate(timeout=180)
    assert command.returncode == 0, stderr[-3000:]
    return stdout


def _kill(process: subprocess.Popen) -> None:
    """Ends a server whose way of stopping the test does not check (the Ctrl-C and SIGTERM tests do):
    SIGKILL to each of its children's process groups (gunicorn with its workers, Celery with its pool
    and beat; each in a session of its own), then to serve itself."""
    for child in _children(process.pid):
        try:
            os.killpg(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.kill()
    process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    children = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in listing.read_text().split()]
        except OSError:  # the thread or the process has just ended
            pass
    return children


def _serve(env: dict, log_path: Path, *args: str) -> tuple[subprocess.Popen, int, int, object]:
    """`manage.py serve` on a free port, in a session of its own, once /healthz answers:
    (the process, its port, its CDN's port, its log file)."""
    # The CDN's port is chosen too: serve's default, the port after the dashboard's, may be taken.
    port, cdn_port = free_port(), free_port()
    log = open(log_path, "w+")  # noqa: SIM115 (the process writes to it after this returns)
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--cdn-bind",
            f"127.0.0.1:{cdn_port}",
            "--web-workers",
            "1",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Migrating a new SQLite database and starting every process takes seconds on a quiet machine,
    # a minute or more on a loaded one.
    deadline = time.monotonic() + 180
    while True:
        try:
            _get(f"http://127.0.0.1:{port}/healthz")
            return process, port, cdn_port, log
        except OSError:
            assert time.monotonic() < deadline, "the embedded server did not come up"
            time.sleep(0.1)


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (a child forked by any of its threads is listed under that thread)."""
    return [d for child in _children(pid) for d in (child, *_descendants(child))]


def _pool_processes(pid: int) -> int:
    """How many of the embedded Celery worker's pool processes under `pid` have been set up: each
    takes its name, ForkPoolWorker-<n>, as Celery initialises it. (serve's worker logs at WARNING,
    so its "ready" line is never written.)"""
    names = []
    for descendant in _descendants(pid):
        try:
            names.append(Path(f"/proc/{descendant}/cmdline").read_bytes())
        except OSError:
            pass
    return sum(b"ForkPoolWorker-" in name for name in names)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _head(url: str) -> tuple[int, dict]:
    """The status and headers of a GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_serve_runs_web_and_worker_without_redis_and_stops_on_ctrl_c(embedded_env, tmp_path):
    database = tmp_path / "db.sqlite3"
    process, port, cdn_port, log = _serve(embedded_env, tmp_path / "serve.log")
    try:
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and b'"database": "ok"' in body
        assert _get(f"http://127.0.0.1:{port}/accounts/signup/")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/static/css/app.css")[0] == 200
        assert database.exists()

        # One command makes an account with a stored file, and a project that is deleted at once for
        # the worker to purge. (Not before serve is up: a purge sent before serve has made the broker's
        # folder is left to the sweep a minute later.)
        seeded = json.loads(_manage(embedded_env, "shell", "-c", SEED).strip().splitlines()[-1])
        # The CDN answers on its own origin, at the root; the dashboard's origin serves no file.
        file_id, public_key = seeded["file_id"], seeded["public_key"]
        cdn = f"http://127.0.0.1:{cdn_port}"
        assert _get(f"{cdn}/{file_id}/") == (200, b"embedded bytes")
        assert _get(f"http://localhost:{cdn_port}/{file_id}/") == (200, b"embedded bytes")  # any loopback name
        # Without Redis an API request's log line is written at once (with Redis, by the drain task):
        # it is in the database when the response arrives.
        assert _get(f"http://127.0.0.1:{port}/upload/info/?pub_key={public_key}&file_id={file_id}")[0] == 200
        assert _count(database, API_LOG_LINES) == 1
        assert _head(f"http://127.0.0.1:{port}/cdn/{file_id}/-/preview/")[1]["Location"] == (
            f"{cdn}/{file_id}/-/preview/"
        )
        assert _head(f"http://127.0.0.1:{port}/{file_id}/")[0] == 404
        # Errors as users of the product get them, not Django's debug pages listing the URLconf.
        unknown = urllib.request.Request(f"http://127.0.0.1:{port}/api/nonexistent/", headers=REST_ACCEPT)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(unknown, timeout=5)
        assert answer.value.code == 404 and json.loads(answer.value.read()) == {"detail": "Not found."}
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
        assert answer.value.code == 404 and b"URLconf" not in answer.value.read()
        assert _head(f"{cdn}/accounts/login/")[0] == 404
        login_page = _head(f"http://127.0.0.1:{port}/accounts/login/")[1]
        assert cdn in login_page["Content-Security-Policy"]  # the dashboard shows the CDN's thumbnails

        # Background work without Redis: deleting a project is finished by the worker.
        assert _count(database, "SELECT count(*) FROM projects_project WHERE name = 'Gone'") == 1
        assert wait_until(lambda: _count(database, UNPURGED) == 0, 30), "the worker did not purge it"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=40)
    log.seek(0)
    assert process.returncode == 0, log.read()[-3000:]
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/healthz")


REST_ACCEPT = {"Accept": ACCEPT}
SEED = """
import io, json
from django.core.files.base import ContentFile
from django.core.management import call_command
from files.services import file_upload
from projects.models import Project
from projects.services import project_delete

def bootstrap(email, *project):
    out = io.StringIO()
    call_command("bootstrap", "--email", email, "--password", "pw-12345678", *project, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())

keys = bootstrap("cdn@example.com")
upload = file_upload(
    project=Project.objects.get(pk=keys["project_id"]), store=True, filename="e.txt",
    content=ContentFile(b"embedded bytes", name="e.txt"),
)
project_delete(project=Project.objects.get(pk=bootstrap("e@example.com", "--project", "Gone")["project_id"]))
print(json.dumps({"file_id": str(upload.uuid), "public_key": keys["public_key"]}))
"""
API_LOG_LINES = (
    "SELECT count(*) FROM projects_apilogline WHERE api = 'upload' AND status = 200 AND path LIKE '/upload/info/%'"
)
UNPURGED = "SELECT count(*) FROM projects_project WHERE name = 'Gone' AND purged_at IS NULL"


def _refused(sock: socket.socket) -> bool:
    """Whether a 429 waits to be read on `sock` (left there for the test's own reads)."""
    return sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 429"


def test_slow_request_bodies_cannot_stall_the_embedded_server(embedded_env, tmp_path):
    """More stalled uploads than the server has threads (one worker: 16), each declaring a 1 MB
    body and sending a few bytes of it: /healthz still answers at once. One address holds at most
    12 bodies in a process (the rest are a 429 at once), and those are cut off with a 400 once
    their body stops arriving."""
    env = {**embedded_env, "FILEDOCK_BODY_IDLE_SECONDS": "3", "FILEDOCK_BODY_GRACE_SECONDS": "1"}
    process, port, _, _ = _serve(env, tmp_path / "serve.log")
    slow = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(
                b"POST /upload/from_url/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nabc"
            )
            slow.append(sock)
        # The server has read every request's head: those over the address's share are refused at once.
        assert wait_until(lambda: sum(_refused(sock) for sock in select.select(slow, [], [], 0)[0]) == 28, 10)
        started = time.monotonic()
        status, _ = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and time.monotonic() - started < 2
        answers = [sock.recv(100) for sock in slow]
        assert sum(answer.startswith(b"HTTP/1.1 429") for answer in answers) == 28, answers[:3]
        assert sum(answer.startswith(b"HTTP/1.1 400") for answer in answers) == 12, answers[:3]
    finally:
        for sock in slow:
            sock.close()
        _kill(process)


def test_sigterm_to_the_whole_group_stops_everything_quickly_and_quietly(embedded_env, tmp_path):
    """What a process manager or `kill -TERM -<pgid>` does: every process is gone within seconds,
    without ERROR lines from Celery's pool, and no gunicorn control socket is left anywhere."""
    # HOME is where gunicorn would put its control socket.
    process, port, _, log = _serve({**embedded_env, "HOME": str(tmp_path)}, tmp_path / "serve.log")
    assert wait_until(lambda: _pool_processes(process.pid) >= 2, 60)  # what the signal must stop quietly
    assert not (tmp_path / ".gunicorn").exists()  # no control socket: two instances never share one
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    took = time.monotonic() - started
    log.seek(0)
    output = log.read()
    assert took < 12, f"stopping took {took:.1f} s"
    assert "ERROR" not in output, output[-2000:]
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/healthz")


def test_rate_limits_count_across_the_embedded_runs_web_workers(embedded_env, tmp_path):
    """No Redis in make run: the limits' counts live in one cache every process shares, so wrong
    REST keys from one address are refused from the 21st on, whichever of two workers takes each."""
    bootstrap = _manage_start(embedded_env, "bootstrap", "--email", "r@example.com", "--password", "pw-12345678")
    # A day's window: a minute's could roll over between the requests and start counting again.
    env = {**embedded_env, "FILEDOCK_RATE_AUTH_FAILED": "20/d"}
    process, port, _, _ = _serve(env, tmp_path / "serve.log", "--web-workers", "2")
    try:
        keys = json.loads(_finished(bootstrap))
        statuses = []
        for _ in range(25):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/project/",
                headers={
                    "Authorization": f"Uploadcare.Simple {keys['public_key']}:wrong",
                    "Accept": ACCEPT,
                    "Connection": "close",  # a new connection each time, so both workers take some
                },
            )
            try:
                urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        assert statuses == [401] * 20 + [429] * 5
    finally:
        _kill(process)


BULK_SEED = """
import io, json
from django.core.files.base import ContentFile
from django.core.management import call_command
from files.services import file_upload
from files.storage.buckets import bucket_connect
from projects.models import Project

out = io.StringIO()
call_command("bootstrap", "--email", "b@example.com", "--password", "pw-12345678", stdout=out, stderr=io.StringIO())
keys = json.loads(out.getvalue())
project = Project.objects.get(pk=keys["project_id"])
files = [
    file_upload(project=project, store=False, filename=f"{i}.txt", content=ContentFile(b"tiny", name=f"{i}.txt"))
    for i in range(30)
]
bucket_connect(
    project=project, purpose="backup", provider="custom", endpoint_url=ENDPOINT, region="us-east-1", bucket=BUCKET,
    access_key="testing", secret_key="testing", prefix="",
)
print(json.dumps({**keys, "uuids": [str(file.uuid) for file in files]}))
"""


def _count(database: Path, sql: str) -> int:
    with sqlite3.connect(database, timeout=10) as connection:
        return connection.execute(sql).fetchone()[0]


def test_a_bulk_store_reaches_the_backup_bucket_within_seconds(embedded_env, tmp_path, customer_bucket, moto_endpoint):
    """Thirty tiny files stored in one batch request are all in the backup bucket a few seconds later.

    The worker reads the file broker's folder again only after a poll interval whenever its slots
    are full (kombu's default: 1 s); at two tasks a second, the batch's thirty relay wake-ups and
    thirty copies took half a minute.
    """
    # An account with thirty unstored files and a backup bucket, made while the server comes up.
    seed = BULK_SEED.replace("ENDPOINT", repr(moto_endpoint)).replace("BUCKET", repr(customer_bucket))
    seeding = _manage_start(embedded_env, "shell", "-c", seed)
    database = tmp_path / "db.sqlite3"
    process, port, _, _ = _serve(embedded_env, tmp_path / "serve.log")
    try:
        seeded = json.loads(_finished(seeding).strip().splitlines()[-1])
        keys, uuids = seeded, seeded["uuids"]
        # The worker is up once it has run the (empty) backfill the connection queued.
        deadline = time.monotonic() + 60
        while not _count(database, "SELECT count(*) FROM files_bucketconnection WHERE backfill_done_at IS NOT NULL"):
            assert time.monotonic() < deadline, "the worker did not run the backfill"
            time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/files/storage/",
            data=json.dumps(uuids).encode(),
            method="PUT",
            headers={
                "Authorization": f"Uploadcare.Simple {keys['public_key']}:{keys['secret_key']}",
                "Accept": ACCEPT,
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert len(json.loads(response.read())["result"]) == 30
        # The default plan limits API calls: the call was checked and counted in one statement, SQLite's.
        assert _count(database, "SELECT COALESCE(SUM(api_calls), 0) FROM billing_usageday") == 1
        stored = time.monotonic()
        done = 0
        while (done := _count(database, "SELECT count(*) FROM files_filebackup WHERE status = 'done'")) < 30:
            if time.monotonic() - stored > 10:
                break
            time.sleep(0.2)
        assert done == 30, f"{done} of 30 backed up {time.monotonic() - stored:.0f} s after the store"
    finally:
        _kill(process)


def test_a_signed_in_owner_sees_every_dashboard_page_on_sqlite(embedded_env, tmp_path):
    """The embedded run's database is SQLite, which keeps UUIDs and datetimes as text: the
    dashboard's hand-written SQL (core.rawsql users: the access check, the project switcher, the
    keys) must prepare and read them as the ORM does. Every page a new owner reaches by a plain
    GET with only the project in its URL answers 200, and so do the pages around them."""
    import http.cookiejar
    import re

    from django.urls import reverse

    from tests.projects.test_access import EXPECTED, PROJECT_URLS

    bootstrap = _manage_start(embedded_env, "bootstrap", "--email", "o@example.com", "--password", "pw-12345678")
    process, port, _, _ = _serve(embedded_env, tmp_path / "serve.log")
    try:
        project_id = json.loads(_finished(bootstrap))["project_id"]
        base = f"http://127.0.0.1:{port}"
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(f"{base}/accounts/login/", timeout=10) as response:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode()).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "login": "o@example.com", "password": "pw-12345678"}
        )
        with browser.open(f"{base}/accounts/login/", data=form.encode(), timeout=10) as response:
            assert "/accounts/login/" not in response.url, "not signed in"
        pages = ["/projects/", "/billing/", "/account/audit/", "/accounts/email/"] + [
            reverse(name, kwargs={"project_id": project_id})
            for name, pattern in PROJECT_URLS
            if EXPECTED.get(name) == 200 and set(pattern.pattern.converters) == {"project_id"}
        ]
        assert len(pages) > 10
        answers = {}
        for page in pages:
            try:
                with browser.open(base + page, timeout=10) as response:
                    answers[page] = response.status
            except urllib.error.HTTPError as error:
                answers[page] = error.code
        assert answers == dict.fromkeys(pages, 200)
    finally:
        _kill(process)
