"""What every benchmark needs: scratch databases, real servers, memory sampling and one report format.

Each bench script measures Filedock and a baseline in the same run and prints both with their ratio.
Nothing here asserts a figure: machines are noisy, so the figures are read, not tested.
"""

import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Scripts import this file as `harness` (bench/ on sys.path), tests and some scripts' modules as
# `bench.harness`: one module under both names, so what it keeps (the port counter) exists once.
sys.modules.setdefault("harness", sys.modules[__name__])
sys.modules.setdefault("bench.harness", sys.modules[__name__])

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FERNET_KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="
UNTHROTTLED = "1000000000/s"


# Ports for the servers the tests and benches start, handed out below Linux's ephemeral range
# (32768 and up), where a bind to port 0 or an outgoing connection never lands, and in a block of
# each test process's own: a port picked here stays free until its server binds it, even while
# the other test process starts servers of its own. Each process starts at its own offset in the
# block, so that a script a test starts (which inherits the block) picks other ports than its test.
PORT_BLOCKS = range(20000, 32000, 1000)
_next_port = itertools.count(os.getpid() % PORT_BLOCKS.step)


def free_port() -> int:
    """A local port nothing listens on, never the same twice in a row in one process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under pytest -n
    block = PORT_BLOCKS[int(worker[2:]) if worker[2:].isdigit() else len(PORT_BLOCKS) - 1]
    for _ in range(PORT_BLOCKS.step):
        port = block + next(_next_port) % PORT_BLOCKS.step
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {block}-{block + PORT_BLOCKS.step - 1}")


def wait_for(check, timeout: float = 30, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


# --- memory -------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def tree_pids(root: int) -> list[int]:
    """The process and its children (gunicorn's master and workers)."""
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().split(") ", 1)[1].split()[1]) == root:
                    pids.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):  # it ended meanwhile
                pass
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (robust where wall clock is noisy)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def measured(pids: list[int], run, seconds: int) -> tuple[float, float]:
    """(requests per second, the processes' CPU ms per request) of `run(seconds)`, which returns
    requests per second, after a one-second warm-up. CPU per request is steadier than the rate
    when other work shares the two cores."""
    run(1)
    cpu = cpu_seconds(pids)
    rate = run(seconds)
    return rate, (cpu_seconds(pids) - cpu) * 1000 / (rate * seconds)


class PeakSampler(threading.Thread):
    """Samples each process's RSS every 20 ms and keeps the largest value per process."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.running = pids, True
        self.before = {pid: rss_kib(pid) for pid in pids}
        self.peak = dict(self.before)

    def run(self) -> None:
        while self.running:
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            time.sleep(0.02)

    def stop(self) -> int:
        """Stops sampling; returns the largest growth of any one process, in KiB."""
        self.running = False
        self.join()
        return max(self.peak[pid] - self.before[pid] for pid in self.pids)


# --- services -----------------------------------------------------------------------------------


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_SERVER", "postgres://root@127.0.0.1:5432/")


def _database_url(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


@contextlib.contextmanager
def scratch_database(label: str, keep: bool = False):
    """A new PostgreSQL database for one run, dropped at the end unless keep."""
    import psycopg

    name = f"filedock_bench_{label}_{os.getpid()}"
    admin = _database_url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_server():
    """A redis-server of the benchmark's own on a free port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, what="redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


class PostHandler(BaseHTTPRequestHandler):
    """Answers every POST with 200 "ok" on a kept-alive HTTP/1.1 connection and hands its body to
    `on_body`; subclass it to count or record more (the webhook tests do)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall

    def on_body(self, body: bytes) -> None:
        pass

    def do_POST(self):
        self.on_body(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def post_receiver(on_body, port: int = 0) -> ThreadingHTTPServer:
    """A webhook receiver: answers every POST with 200 "ok" and hands its body to `on_body`.
    The caller runs `serve_forever()` in a thread or process; `server_address[1]` is its port."""

    class Handler(PostHandler):
        def on_body(self, body: bytes) -> None:
            on_body(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # a listen backlog like a real server's, not socketserver's 5

    return Server(("127.0.0.1", port), Handler)


def production_env(database_url: str, redis_url: str, work: Path, **extra: str) -> dict:
    """Production settings over plain HTTP on loopback, with quotas and request rate limits off: a
    plan's caps and a per-client throttle are not what is measured (one client makes all requests)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "DJANGO_", "REDIS_URL", "CELERY_", "FILEDOCK_"))
    }
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "MALLOC_ARENA_MAX": "2",  # as the README's production line sets it
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FILEDOCK_FIELD_ENCRYPTION_KEYS": FERNET_KEY,
        "FILEDOCK_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "FILEDOCK_MEDIA_ROOT": str(work / "media"),
        "FILEDOCK_VAR_DIR": str(work / "var"),
        "FILEDOCK_QUOTAS_ENFORCED": "0",
        "FILEDOCK_API_RATE": UNTHROTTLED,
        "FILEDOCK_RATE_UPLOAD": UNTHROTTLED,
        "FILEDOCK_RATE_UPLOAD_IP": UNTHROTTLED,
        "FILEDOCK_RATE_MISS_IP": UNTHROTTLED,
        "FILEDOCK_RATE_MISS_PROJECT": UNTHROTTLED,
        "FILEDOCK_RATE_AUTH_FAILED": UNTHROTTLED,
        "FILEDOCK_CACHE_BUDGET": str(1024**4),  # P9 keeps a rendering per request: no eviction measured
        **extra,
    }


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def bootstrap(env: dict) -> dict:
    """Migrates and makes an owner with a project; returns {"public_key", "secret_key", ...}."""
    manage(env, "migrate", "--noinput", "-v", "0")
    return json.loads(manage(env, "bootstrap", "--email", "bench@example.com", "--password", "bench-pass-1"))


class Process:
    """A server started as its own session (so its whole tree stops together), on a free port."""

    def __init__(self, argv: list[str], env: dict, health: str, cwd: Path = ROOT):
        self.argv, self.env, self.health, self.cwd = argv, env, health, cwd
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Process":
        argv = [arg.replace("{port}", str(self.port)) for arg in self.argv]
        self.proc = subprocess.Popen(
            argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {self.proc.returncode}")
            return urllib.request.urlopen(self.base + self.health, timeout=2).status == 200

        wait_for(up, timeout=60, what=Path(argv[0]).name)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid)


class Server(Process):
    """gunicorn serving config.wsgi with the given environment, on a free port."""

    def __init__(self, env: dict, workers: int = 2, threads: int = 1, extra: list | None = None):
        argv = [
            PYTHON, "-m", "gunicorn", "config.wsgi", "-b", "127.0.0.1:{port}", "-w", str(workers),
            "--threads", str(threads), "--timeout", "600", "--log-level", "warning", *(extra or []),
        ]  # fmt: skip
        super().__init__(argv, env, "/healthz")


def workdir(label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"filedock-bench-{label}-"))


# --- timing and reporting -----------------------------------------------------------------------


def best_of(fn, repeat: int = 5) -> float:
    """The fastest of several runs, in seconds: the least disturbed measure of the same work."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def header(bench_id: str, title: str) -> None:
    print(f"\n== {bench_id}: {title}", flush=True)


def row(label: str, value: float, unit: str, baseline: float | None = None, target: str = "") -> None:
    """One figure; with a baseline, the ratio baseline-relative (value / baseline)."""
    line = f"  {label:<52} {value:12.3f} {unit:<10}"
    if baseline:
        line += f" ratio {value / baseline:8.2f}"
    if target:
        line += f"   target {target}"
    print(line, flush=True)
