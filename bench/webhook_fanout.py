"""Webhook fan-out: how many deliveries per second one Celery worker process sends.

    .venv/bin/python bench/webhook_fanout.py [--events 2000] [--pools prefork:1,threads:8]

Starts a redis-server of its own on a free port, creates a scratch PostgreSQL database (dropped at
the end; DATABASE_URL names the server, default postgres://root@127.0.0.1:5432/), and a local
threaded HTTP receiver, and runs everything on the production settings (loopback allowed). For each worker configuration it writes N file.uploaded events for a
project with one endpoint, relays them (deliveries are queued after the relay commits) and times
until the receiver has all N and every delivery row is marked succeeded. Each attempt is the real
path: claim, sign both ways, guarded POST (resolve, check, pinned connection), log the attempt,
meter it. As a reference it prints the receiver's own rate: one loop POSTing the same body with
httpx, reusing a connection and with a new connection per request (as deliveries do).
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Counter:
    def __init__(self):
        self.count, self.lock = 0, threading.Lock()

    def add(self):
        with self.lock:
            self.count += 1


RECEIVED = Counter()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        RECEIVED.add()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def reference_rates(url: str, body: bytes, n: int) -> tuple[float, float]:
    import httpx

    headers = {"Content-Type": "application/json"}
    with httpx.Client() as client:
        started = time.perf_counter()
        for _ in range(n):
            client.post(url, content=body, headers=headers)
        kept = n / (time.perf_counter() - started)
    started = time.perf_counter()
    tls = httpx.create_ssl_context()  # as the delivery code does: the CA bundle is loaded once
    for _ in range(n):
        with httpx.Client(verify=tls) as client:
            client.post(url, content=body, headers=headers)
    fresh = n / (time.perf_counter() - started)
    return kept, fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--pools", default="prefork:1,threads:8",
                        help="worker configurations to measure, pool:concurrency, comma-separated (one process each)")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/")
    parts = urlsplit(server_url)
    db_name = f"filedock_bench_hooks_{os.getpid()}"
    database_url = urlunsplit((parts.scheme, parts.netloc, "/" + db_name, "", ""))
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    # Production settings (persistent database connections, Redis cache), opened to the loopback receiver.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "DATABASE_URL": database_url,
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
           "DJANGO_SECRET_KEY": "bench-" + "x" * 60, "DJANGO_LOG_LEVEL": "WARNING",
           "FILEDOCK_FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=",
           "FILEDOCK_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8", "FILEDOCK_MEDIA_ROOT": f"/tmp/{db_name}-media",
           "FILEDOCK_QUOTAS_ENFORCED": "0"}  # the default plan allows 3,000 deliveries a month
    os.environ.update(env)

    import psycopg

    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    workers = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from django.db import connection

        from files.models import Event
        from files.outbox import outbox_relay
        from projects import services
        from projects.delivery import body_bytes
        from projects.models import WebhookDelivery
        from projects.webhooks import sample_file_info, webhook_payload
        from tests.factories import UserFactory

        owner = UserFactory(email="bench@example.com")
        project = services.project_create(owner=owner, name="bench")
        webhook = services.webhook_create(project=project, target_url=target, event="file.uploaded",
                                          signing_secret=services.webhook_secret_generate())
        info = sample_file_info()
        body = body_bytes(webhook_payload(webhook=webhook, file_info=info, initiator={"type": "api", "detail": {}}))

        n = args.events
        kept, fresh = reference_rates(target, body, min(n, 2000))
        RECEIVED.count = 0
        print(f"webhook fan-out, {n} events, body {len(body)} bytes, PostgreSQL + Redis on this machine")
        print(f"  receiver alone, one httpx loop, kept-alive connection : {kept:8.0f} requests/s")
        print(f"  receiver alone, one httpx loop, new connection each   : {fresh:8.0f} requests/s")

        for spec in args.pools.split(","):
            pool, _, concurrency = spec.partition(":")
            Event.objects.all().delete()
            WebhookDelivery.objects.all().delete()
            RECEIVED.count = 0
            log = open(f"/tmp/{db_name}-{pool}.log", "w")
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", pool, "--concurrency", concurrency,
                 "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            workers.append(worker)
            # Warm up: the worker is consuming once a first delivery arrives.
            Event.objects.create(project=project, type="file.uploaded", file_uuid=uuid.uuid4(), payload=info)
            outbox_relay()
            deadline = time.monotonic() + 60
            while RECEIVED.count < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            RECEIVED.count = 0
            Event.objects.bulk_create([
                Event(project=project, type="file.uploaded", file_uuid=uuid.uuid4(), payload=info) for _ in range(n)
            ])
            started = time.perf_counter()
            while outbox_relay():
                pass
            relayed = time.perf_counter() - started
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count()
                if done >= n + 1:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            rate = n / elapsed
            print(f"  one worker process, {pool} pool x{concurrency:<3}: {n} deliveries in {elapsed:6.2f} s = "
                  f"{rate:7.0f} deliveries/s (relay {relayed:.2f} s; receiver got {RECEIVED.count}; "
                  f"{rate / fresh:.0%} of the new-connection loop)")
            os.killpg(worker.pid, 15)
            worker.wait(30)
        connection.close()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, 9)
        receiver.shutdown()
        redis.terminate()
        redis.wait(10)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
