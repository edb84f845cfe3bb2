"""Real processes for the fault tests: gunicorn on production settings, a private PostgreSQL
cluster, and a burst of Upload API requests fired from threads while the test breaks something.

Nothing here touches the machine's shared PostgreSQL cluster or Redis beyond reading and writing
the database a test names.
"""

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench.harness import ROOT, free_port, production_env, wait_for

logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns a failure's story
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def database_url(settings_dict: dict) -> str:
    """The URL of a Django connection's database (the test database, for processes the test starts)."""
    return (
        f"postgres://{settings_dict['USER'] or 'root'}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


def server_env(database: str, redis: str, work: Path, **extra: str) -> dict:
    """Production settings (Redis for broker and cache, files on local disk under `work`), with the
    rate limits out of the way of a burst from one address."""
    return production_env(database, redis, work, FILEDOCK_WEBHOOK_TIMEOUT="4", **extra)


BOOTSTRAP = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("bootstrap", email="faults@example.com", password="faults-pass-1")
"""


def bootstrap(env: dict) -> dict:
    """Migrates a new database and makes an owner with a project, in one process (a Django start-up
    is seconds on a busy machine); returns the bootstrap command's keys ({"public_key", ...})."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", BOOTSTRAP],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(result.stdout[result.stdout.index("{") :])


class Gunicorn:
    """gunicorn serving config.wsgi on a free port, its log kept for failure messages."""

    def __init__(self, env: dict, log: Path, workers: int = 2):
        self.env, self.log_path, self.workers = env, log, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self) -> "Gunicorn":
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(self.workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.healthy, timeout=60, what="gunicorn")
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]

    def logged(self, text: str) -> bool:
        return text in self.log_path.read_text()


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, a free port), so
    it can be stopped and restarted without disturbing anyone else's database. Postgres refuses
    to run as root, so every server command runs as the `postgres` OS user."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="filedock-pg-"))
        shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=60)

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            action,
            *args,
        )

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "root", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def url(self, name: str) -> str:
        return f"postgres://root@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text()[-3000:] if path.exists() else ""

    def connections(self, database: str) -> int:
        """Client sessions on `database` now (gunicorn's workers each keep one across requests)."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]).fetchone()[0]


@dataclass
class Answer:
    sent: float  # seconds since the burst started, when the request was sent
    at: float  # seconds since the burst started, when the answer came
    content: bytes
    status: int | None = None  # None: no HTTP answer at all (connection reset, timeout)
    body: str = ""
    error: str = ""

    @property
    def file_id(self) -> str | None:
        if self.status == 200:
            return json.loads(self.body)["file"]
        return None


@dataclass
class Burst:
    """Threads that each upload small distinct files to /upload/base/ until stopped; every answer is kept."""

    base: str
    public_key: str
    threads: int = 4
    json_errors: bool = False
    answers: list = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]

    def start(self) -> "Burst":
        self.started = time.monotonic()
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return self.answers

    def now(self) -> float:
        return time.monotonic() - self.started

    def answered_since(self, mark: float) -> int:
        """How many requests sent at or after `mark` (a `now()`) have their answer: a phase of a
        fault test lasts until enough requests met the state it set up, not a number of seconds."""
        with self._lock:
            return sum(answer.sent >= mark for answer in self.answers)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30, trust_env=False) as client:
            while not self._stop.is_set():
                answer = self.upload(client)
                with self._lock:
                    self.answers.append(answer)

    def upload(self, client: httpx.Client) -> Answer:
        content = f"upload {uuid.uuid4()}\n".encode() * 20
        data = {"UPLOADCARE_PUB_KEY": self.public_key, "UPLOADCARE_STORE": "1"}
        if self.json_errors:
            data["jsonerrors"] = "1"
        sent = self.now()
        try:
            response = client.post("/upload/base/", data=data, files={"file": ("f.txt", content, "text/plain")})
        except httpx.HTTPError as exc:
            return Answer(sent=sent, at=self.now(), content=content, error=repr(exc))
        return Answer(sent=sent, at=self.now(), content=content, status=response.status_code, body=response.text)


def stored_blobs(media: Path) -> dict[str, bytes]:
    """Every file blob under the media root's files/ folder, by storage key."""
    return {str(path.relative_to(media)): path.read_bytes() for path in (media / "files").rglob("*") if path.is_file()}


class RedisServer:
    """A redis-server of the test's own on a free port: never the machine's shared one."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._ping, 10, "redis")

    def _ping(self) -> bool:
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"

    def shutdown(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        self.process.wait(10)

    def stop_quietly(self) -> None:
        if self.process and self.process.poll() is None:
            self.shutdown()


class Workers:
    """Starts `celery -A config worker -B` processes, each in its own process group; kills them all at the end."""

    def __init__(self, env, tmp_path):
        self.env, self.tmp_path, self.processes = env, tmp_path, []

    def start(self):
        n = len(self.processes)
        log = open(self.tmp_path / f"worker-{n}.log", "w")  # noqa: SIM115 (the process writes to it after this returns)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "-s",
                str(self.tmp_path / f"beat-{n}"),
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"fault{n}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def kill(self, process) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def logs(self) -> str:
        return "\n".join((self.tmp_path / f"worker-{n}.log").read_text()[-3000:] for n in range(len(self.processes)))

    def lines(self, pattern: str) -> list[str]:
        """Every line of the workers' logs matching the regular expression `pattern`, in order per worker."""
        found = []
        for n in range(len(self.processes)):
            found += re.findall(f"^.*{pattern}.*$", (self.tmp_path / f"worker-{n}.log").read_text(), re.MULTILINE)
        return found

    def close(self) -> None:
        for process in self.processes:
            self.kill(process)
