"""P7: webhook fan-out, how many deliveries per second one Celery worker process sends.

    .venv/bin/python bench/webhook_fanout.py [--events 2000] [--pools prefork:1,threads:8]

On a scratch PostgreSQL database, a redis-server of its own and the production settings (loopback
allowed), with nginx as the receiver: it answers every POST with 200 and logs its webhook-id, so
the worker, not a receiver competing for the same two cores, is what is measured, and the log
shows every delivery and any duplicate. For each worker configuration it
writes N file.uploaded events for a project with one endpoint and relays them (timed on its own)
while no worker runs, so the delivery messages wait in Redis; then it starts one worker process and
times from its first finished delivery until every delivery row is marked succeeded. Each attempt
is the real path: claim, sign both ways, guarded POST (resolve, check, pinned connection), log the
attempt, meter it. As a reference it prints the receiver's own rate:
one loop POSTing the same body with httpx, reusing a connection and with a new connection each.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))  # nginx_server imports `harness` from there

from harness import (
    PYTHON,
    ROOT,
    bootstrap,
    cpu_seconds,
    header,
    production_env,
    redis_server,
    row,
    scratch_database,
    tree_pids,
    wait_for,
    workdir,
)
from nginx_server import Nginx

# One line per request received: its webhook-id (the same on every attempt of a delivery).
RECEIVER = """
    log_format hooks '$http_webhook_id';
    server {{
        listen 127.0.0.1:{port};
        location /hook {{
            access_log {tmp}/hooks.log hooks;
            return 200 "ok";
        }}
    }}
"""


def received(log: Path) -> tuple[int, int]:
    """(requests, distinct webhook-ids) in the receiver's log so far."""
    lines = log.read_text().splitlines() if log.exists() else []
    return len(lines), len(set(lines))


def reference_rates(url: str, body: bytes, n: int) -> tuple[float, float, float]:
    """Requests per second of one httpx loop, kept-alive and with a new connection each; and the
    new-connection loop's CPU ms per request."""
    import httpx

    headers = {"Content-Type": "application/json"}
    with httpx.Client() as client:
        started = time.perf_counter()
        for _ in range(n):
            client.post(url, content=body, headers=headers)
        kept = n / (time.perf_counter() - started)
    tls = httpx.create_ssl_context()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        with httpx.Client(verify=tls) as client:
            client.post(url, content=body, headers=headers)
    fresh = n / (time.perf_counter() - started)
    return kept, fresh, (time.process_time() - cpu) * 1000 / n


def start_worker(env: dict, pool: str, concurrency: str, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            concurrency,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--pools",
        default="prefork:1,threads:8",
        help="worker configurations to measure, pool:concurrency, comma-separated (one process each)",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for one configuration")
    args = parser.parse_args()
    n = args.events

    work = workdir("hooks")
    receiver = Nginx(work / "receiver", RECEIVER)
    log = work / "receiver" / "hooks.log"
    with scratch_database("hooks") as database_url, redis_server() as redis_url, receiver:
        env = production_env(database_url, redis_url, work)
        bootstrap(env)
        os.environ.update(env)
        target = f"{receiver.base}/hook"
        import django

        django.setup()
        from django.db import connection

        from files.models import Event
        from files.outbox.relay import outbox_relay
        from projects.models import Project, WebhookDelivery
        from projects.webhooks import services as webhook_services
        from projects.webhooks.delivery import body_bytes
        from projects.webhooks.outbox import sample_file_info, webhook_payload

        project = Project.objects.get()
        webhook = webhook_services.webhook_create(
            project=project,
            target_url=target,
            event="file.uploaded",
            signing_secret=webhook_services.webhook_secret_generate(),
        )
        info = sample_file_info()
        body = body_bytes(webhook_payload(webhook=webhook, file_info=info, initiator={"type": "api", "detail": {}}))

        kept, fresh, fresh_cpu = reference_rates(target, body, min(n, 2000))
        header("P7", f"webhook deliveries per second per worker process, {n} events, body {len(body)} bytes")
        row("receiver alone, one httpx loop, kept-alive connection", kept, "req/s")
        row("receiver alone, one httpx loop, new connection each", fresh, "req/s")
        row("  its CPU per request", fresh_cpu, "ms")
        log.write_text("")
        try:
            for spec in args.pools.split(","):
                pool, _, concurrency = spec.partition(":")
                Event.objects.all().delete()
                WebhookDelivery.objects.all().delete()
                log.write_text("")  # nginx appends: the next request lands at the new end
                # The relay first, with no worker running: its messages wait in Redis, so the
                # worker's rate below is its own, not the relay's.
                Event.objects.bulk_create(
                    [
                        Event(project=project, type="file.uploaded", file_uuid=uuid.uuid4(), payload=info)
                        for _ in range(n)
                    ]
                )
                started = time.perf_counter()
                while outbox_relay():
                    pass
                relayed = time.perf_counter() - started
                worker = start_worker(env, pool, concurrency, work / f"worker-{pool}.log")
                succeeded = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED)
                try:
                    # The clock starts at the first finished delivery, so the worker's start-up is left out.
                    wait_for(lambda: succeeded.exists(), timeout=120, what="the first delivery")
                    pids = tree_pids(worker.pid)
                    started, cpu, first = time.perf_counter(), cpu_seconds(pids), succeeded.count()
                    deadline = time.monotonic() + args.timeout
                    while succeeded.count() < n and time.monotonic() < deadline:
                        time.sleep(0.02)
                    elapsed = time.perf_counter() - started
                    worker_cpu = cpu_seconds(pids) - cpu
                finally:
                    stop(worker)
                done = succeeded.count()
                if done != n:
                    from django.db.models import Count

                    from projects.models import WebhookAttempt

                    states = dict(WebhookDelivery.objects.values_list("status").annotate(Count("id")))
                    states["errors"] = list(
                        WebhookAttempt.objects.exclude(status_code=200).values_list("status_code", "error")[:3]
                    )
                    raise SystemExit(
                        f"only {done} of {n} deliveries succeeded ({states}); see {work}/worker-{pool}.log"
                    )
                rate = (n - first) / elapsed
                row(f"relay of {n} events (no worker running)", n / relayed, "events/s")
                row(f"one worker process, {pool} pool x{concurrency}", rate, "deliveries/s", target="≥ 500/s")
                requests, distinct = received(log)
                row("  receiver got", requests, "requests")
                row("  of which distinct webhook-ids (a duplicate would show here)", distinct, "")
                row("  share of the new-connection loop", rate / fresh, "x", None, "≥ 0.6×")
                # Steadier than the rates when other work shares the cores; PostgreSQL's share is not in it.
                row("  worker CPU per delivery", worker_cpu * 1000 / (n - first), "ms", fresh_cpu)
        finally:
            connection.close()


if __name__ == "__main__":
    main()
