"""The production stack, started as the README tells operators to: gunicorn, a Celery worker and
beat on `config.settings.production`, PostgreSQL (a database of its own, migrated), Redis (a
redis-server of its own), files in S3 (moto_server) and nginx from deploy/ in front. `local_stack`
is the same with files on local disk (sent by nginx with X-Accel-Redirect), started only for the
tests that ask for it.

Once per test process (each pytest-xdist worker that runs a stack test starts its own stack); every
process is stopped and the database dropped at the end. The Redis is a server of the stack's own,
not a db number on the shared one: two stacks flushing one db lost each other's queued tasks.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.harness import ROOT, free_port, production_env, redis_server, wait_for
from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, new_bucket

SERVER = "postgres://root@127.0.0.1:5432/"
PURGE_MODULE = "/usr/lib/nginx/modules/ngx_http_cache_purge_module.so"
# What Debian's /etc/nginx/nginx.conf gives the rendered deploy/ file, with every path in `tmp`.
NGINX_MAIN = """
load_module {module};
{user}
worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/nginx-access.log;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/filedock.conf;
}}
"""
BOOTSTRAP = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("bootstrap", email="operator@example.com", password="operator-pass-1")
"""


EDGE_SECRET = secrets.token_urlsafe(32)


@dataclass
class Stack:
    dashboard: str  # http://127.0.0.1:port, the dashboard and both APIs through nginx
    cdn: str  # http://127.0.0.1:port/, the CDN's own origin through the edge cache
    purge: str  # the purge endpoint Django calls (FILEDOCK_EDGE_PURGE_URL)
    app: str  # gunicorn itself, which only nginx should reach
    env: dict
    keys: dict  # the bootstrap command's output: public_key, secret_key, ...
    tmp: Path

    @property
    def edge_bodies(self) -> Path:
        """Where nginx writes multipart part bodies (FILEDOCK_EDGE_BODY_DIR)."""
        return Path(self.env["FILEDOCK_EDGE_BODY_DIR"])

    def shell(self, code: str) -> str:
        """Runs `manage.py shell -c code` on the production settings; returns what it printed."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(self.tmp.glob("*.log")))


class Processes:
    """Processes started as sessions of their own, stopped together (SIGTERM, then SIGKILL)."""

    def __init__(self, tmp: Path):
        self.tmp, self.started = tmp, []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "w") as log:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process

    def stop(self) -> None:
        # Newest first: nginx goes before gunicorn, whose threads would otherwise wait out the
        # graceful timeout on nginx's kept-alive upstream connections; then the rest together.
        if not self.started:
            return
        newest, *rest = reversed(self.started)
        for group in ([newest], rest):
            for process in group:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in group:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def answers(url: str, process: subprocess.Popen, name: str) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited with {process.returncode}")
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def render_nginx(tmp: Path, values: dict) -> Path:
    """deploy/nginx.conf.template rendered by deploy/render.py, the way an operator does, inside a
    main configuration like Debian's; returns the main file."""
    rendered = subprocess.run(
        [sys.executable, "deploy/render.py"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **values},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (tmp / "filedock.conf").write_text(rendered)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the 0700 temporary folder
    main = tmp / "nginx.conf"
    main.write_text(NGINX_MAIN.format(module=PURGE_MODULE, user=user, tmp=tmp))
    return main


@pytest.fixture(scope="session")
def stack(moto_endpoint):
    with redis_server() as redis_url:
        yield from _started(redis_url, _s3_storage(moto_endpoint))


@pytest.fixture(scope="session")
def local_stack():
    with redis_server() as redis_url:
        yield from _started(redis_url, {"FILEDOCK_CDN_X_ACCEL_PREFIX": "/_protected/"}, label="local")


def _s3_storage(moto_endpoint: str) -> dict:
    return {
        "FILEDOCK_S3_BUCKET": new_bucket(moto_endpoint, "production"),
        "FILEDOCK_S3_ENDPOINT_URL": moto_endpoint,
        "FILEDOCK_S3_REGION": S3_REGION,
        "FILEDOCK_S3_ACCESS_KEY": S3_KEY,
        "FILEDOCK_S3_SECRET_KEY": S3_SECRET,
    }


def _started(redis_url: str, storage: dict, label: str = "s3"):
    """`storage`: the settings that choose where files go."""
    tmp = Path(tempfile.mkdtemp(prefix=f"filedock-production-{label}-"))
    database = f"filedock_production_{label}_{os.getpid()}"
    with psycopg.connect(SERVER + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    ports = {name: free_port() for name in ("app", "dashboard", "cdn", "origin", "purge")}
    dashboard, cdn = f"http://127.0.0.1:{ports['dashboard']}", f"http://127.0.0.1:{ports['cdn']}/"
    purge = f"http://127.0.0.1:{ports['purge']}/purge"
    env = production_env(
        SERVER + database,
        redis_url,
        tmp,
        FILEDOCK_SITE_URL=dashboard,
        FILEDOCK_CDN_BASE=cdn,
        FILEDOCK_EDGE_PURGE_URL=purge,
        FILEDOCK_TRUSTED_PROXY_COUNT="1",  # the README's production line: nginx in front
        FILEDOCK_EDGE_SECRET=EDGE_SECRET,
        FILEDOCK_EDGE_BODY_DIR=str(tmp / "edge-bodies"),  # beside media/: one filesystem
        DJANGO_LOG_LEVEL="INFO",
        FILEDOCK_WEBHOOK_TIMEOUT="4",
        **storage,
    )
    processes = Processes(tmp)
    try:
        bootstrapped = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", BOOTSTRAP],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bootstrapped.returncode == 0, bootstrapped.stderr[-3000:]
        keys = json.loads(bootstrapped.stdout[bootstrapped.stdout.index("{") :])
        bin_dir = Path(sys.executable).parent
        # The README's production lines (two workers here: two cores, and start-up is the cost).
        gunicorn = processes.start(
            "gunicorn",
            [
                str(bin_dir / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{ports['app']}",
                "--workers", "2", "--threads", "16", "--keep-alive", "30", "--graceful-timeout", "5",
            ],
            env,
        )  # fmt: skip
        processes.start("celery-worker", [str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel", "INFO"], env)
        processes.start(
            "celery-beat",
            [
                str(bin_dir / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
                "--schedule", str(tmp / "celerybeat-schedule"),  # not in the checkout
            ],
            env,
        )  # fmt: skip
        main = render_nginx(
            tmp,
            {
                "NGINX_APP": f"127.0.0.1:{ports['app']}",
                "NGINX_DASHBOARD_LISTEN": f"127.0.0.1:{ports['dashboard']}",
                "NGINX_DASHBOARD_HOST": "127.0.0.1",
                "NGINX_CDN_LISTEN": f"127.0.0.1:{ports['cdn']}",
                "NGINX_CDN_HOST": "127.0.0.1",
                "NGINX_ORIGIN_LISTEN": f"127.0.0.1:{ports['origin']}",
                "NGINX_PURGE_LISTEN": f"127.0.0.1:{ports['purge']}",
                "NGINX_CACHE_DIR": str(tmp / "edge-cache"),
                "NGINX_CACHE_KEYS_ZONE": "1m",
                "NGINX_CACHE_SIZE": "256m",
                "FILEDOCK_MEDIA_ROOT": str(tmp / "media"),
                "FILEDOCK_EDGE_SECRET": EDGE_SECRET,
                "FILEDOCK_EDGE_BODY_DIR": env["FILEDOCK_EDGE_BODY_DIR"],
            },
        )
        nginx = processes.start(
            "nginx", ["nginx", "-p", str(tmp), "-c", str(main), "-e", str(tmp / "nginx-error.log")], env
        )
        wait_for(lambda: answers(f"{dashboard}/healthz", nginx, "nginx"), timeout=60, what="nginx")
        wait_for(lambda: answers(f"{dashboard}/healthz", gunicorn, "gunicorn"), timeout=60, what="gunicorn")
        app = f"http://127.0.0.1:{ports['app']}"
        yield Stack(dashboard=dashboard, cdn=cdn, purge=purge, app=app, env=env, keys=keys, tmp=tmp)
    finally:
        processes.stop()
        with psycopg.connect(SERVER + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
