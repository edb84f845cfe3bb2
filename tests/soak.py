"""Soak: minutes of mixed traffic against gunicorn (2 workers), two Celery workers and beat.

    .venv/bin/python tests/soak.py [--minutes 10] [--clients 4]     (make soak)

Starts everything on the production settings (bench/harness.py): a scratch PostgreSQL database, a
redis-server of its own, gunicorn with two workers, two Celery worker processes (prefork, two
children each) and beat, and a local webhook receiver subscribed to file.uploaded through the
REST API. Client threads then send uploads (plain HTTP and pyuploadcare), REST file lists, the
dashboard's files page (logged in through the real login form), CDN reads of uploaded files and
image operations on small PNGs, and REST store and delete calls. Every process's RSS is sampled
every few seconds.

Beside them, an abusive client sends decompression bombs, floods of operation chains, stalled
request bodies and multipart uploads it never finishes (`--no-abuse` leaves it out); its refusals
are expected, a 5xx or a dropped connection is a failure like any other.

It prints requests, errors and p50/p95 latency per kind, each process's RSS at the start, after
the warm-up (the first minute, or a quarter of a shorter run), its peak, and idle after the
traffic has stopped, and webhook deliveries received against uploads. It exits non-zero on any
failed request, any process that exited, any process whose idle RSS at the end grew past the
warm-up by more than 20% or 30 MiB (a render in flight is a peak, not growth), or any upload whose
file.uploaded delivery has not arrived 60 s after the traffic stops.

The REST and Upload APIs' rate limits are raised (the soak measures the server, not the limiter) and quotas are
off (production_env). Latencies are those of a shared 2-core machine: read them as noisy.
Not collected by pytest (no test_ prefix): it runs for minutes.
"""

import argparse
import io
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402
from pyuploadcare import Uploadcare  # noqa: E402

from bench.harness import (  # noqa: E402
    PYTHON,
    Server,
    bootstrap,
    manage,
    post_receiver,
    production_env,
    redis_server,
    rss_kib,
    scratch_database,
    tree_pids,
    workdir,
)

MiB = 1024
GROWTH_RATIO, GROWTH_KIB = 0.20, 30 * MiB
SAMPLE_EVERY = 5.0
DELIVERY_WAIT = 60.0
EMAIL, PASSWORD = "bench@example.com", "bench-pass-1"
ACCEPT = "application/vnd.uploadcare-v0.7+json"
# Relative weights of the request kinds each client picks from.
MIX = {
    "upload": 16,
    "upload_pyuploadcare": 4,
    "rest_list": 14,
    "dashboard": 8,
    "cdn": 24,
    "cdn_image": 14,
    "store": 10,
    "delete": 6,
}


# --- the webhook receiver -----------------------------------------------------------------------


class Deliveries:
    def __init__(self):
        self.lock = threading.Lock()
        self.uploaded = Counter()  # file uuid -> file.uploaded deliveries received
        self.other = 0

    def add(self, body: bytes) -> None:
        payload = json.loads(body)
        with self.lock:
            if payload.get("hook", {}).get("event") == "file.uploaded":
                self.uploaded[payload["data"]["uuid"]] += 1
            else:
                self.other += 1


DELIVERIES = Deliveries()


# --- traffic ------------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.errors = Counter()
        self.samples: list[str] = []

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)

    def error(self, kind: str, message: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {message}")


class Pool:
    """The files clients may read, store or delete; a file being deleted leaves the pool first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files: dict[str, bool] = {}  # uuid -> is an image
        self.uploaded: list[str] = []

    def add(self, uuid: str, image: bool) -> None:
        with self.lock:
            self.files[uuid] = image
            self.uploaded.append(uuid)

    def pick(self, image: bool | None = None) -> str | None:
        with self.lock:
            choices = [u for u, is_image in self.files.items() if image is None or is_image == image]
        return random.choice(choices) if choices else None

    def take(self) -> str | None:
        with self.lock:
            if len(self.files) < 30:
                return None
            uuid = random.choice(list(self.files))
            del self.files[uuid]
            return uuid

    def has(self, uuid: str) -> bool:
        with self.lock:
            return uuid in self.files


def make_png(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(20):
        image.putpixel((rng.randrange(64), rng.randrange(48)), (rng.randrange(256), 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class Client(threading.Thread):
    def __init__(self, index: int, base: str, keys: dict, session: str, stats: Stats, pool: Pool, until: float):
        super().__init__(daemon=True, name=f"client-{index}")
        self.base, self.keys, self.session, self.stats, self.pool, self.until = base, keys, session, stats, pool, until
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.rest = {"Accept": ACCEPT, "Authorization": f"Uploadcare.Simple {keys['public_key']}:{keys['secret_key']}"}
        self.uploadcare = Uploadcare(
            public_key=keys["public_key"],
            secret_key=keys["secret_key"],
            upload_base=f"{base}/upload/",
            api_base=f"{base}/api/",
            cdn_base=f"{base}/cdn/",
        )
        self.rng = random.Random(index)
        self.count = 0

    def run(self) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < self.until:
            kind = self.rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                problem = getattr(self, kind)()
            except Exception as exc:  # a timeout, a refused connection, a client-side failure
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                self.stats.ok(kind, time.perf_counter() - started)
            elif problem != "skip":
                self.stats.error(kind, problem)
            time.sleep(0.01)
        self.http.close()

    def payload(self) -> tuple[str, bytes, str, bool]:
        self.count += 1
        if self.rng.random() < 0.4:
            return f"pic-{self.name}-{self.count}.png", make_png(self.rng.randrange(10**6)), "image/png", True
        size = self.rng.choice([200, 4_000, 60_000])
        return f"doc-{self.name}-{self.count}.txt", os.urandom(size // 2).hex().encode(), "text/plain", False

    def upload(self) -> str | None:
        name, data, mime, image = self.payload()
        response = self.http.post(
            "/upload/base/",
            data={
                "UPLOADCARE_PUB_KEY": self.keys["public_key"],
                "UPLOADCARE_STORE": self.rng.choice(["0", "1", "auto"]),
            },
            files={"file": (name, data, mime)},
        )
        if response.status_code != 200:
            return f"{response.status_code} {response.text[:200]}"
        self.pool.add(response.json()["file"], image)
        return None

    def upload_pyuploadcare(self) -> str | None:
        name, data, _, image = self.payload()
        handle = io.BytesIO(data)
        handle.name = name
        file = self.uploadcare.upload(handle, store=self.rng.random() < 0.5, size=len(data))
        self.pool.add(str(file.uuid), image)
        return None

    def rest_list(self) -> str | None:
        response = self.http.get(
            "/api/files/", params={"limit": 20, "ordering": "-datetime_uploaded"}, headers=self.rest
        )
        if response.status_code != 200 or "results" not in response.json():
            return f"{response.status_code} {response.text[:200]}"
        return None

    def dashboard(self) -> str | None:
        response = self.http.get(
            f"/projects/{self.keys['project_id']}/files/", headers={"Cookie": f"sessionid={self.session}"}
        )
        if response.status_code != 200 or b"</html>" not in response.content:
            return f"{response.status_code} {response.headers.get('location', '')}"
        return None

    def cdn(self) -> str | None:
        uuid = self.pool.pick()
        if uuid is None:
            return "skip"
        return self.gone_or(uuid, self.http.get(f"/cdn/{uuid}/"))

    def cdn_image(self) -> str | None:
        uuid = self.pool.pick(image=True)
        if uuid is None:
            return "skip"
        ops = self.rng.choice(
            [
                "-/resize/32x/",
                "-/preview/40x40/",
                "-/format/webp/",
                "-/crop/20x20/center/",
                "-/resize/48x/-/format/jpeg/-/quality/lighter/",
            ]
        )
        response = self.http.get(f"/cdn/{uuid}/{ops}")
        if response.status_code == 200 and not response.headers.get("content-type", "").startswith("image/"):
            return f"not an image: {response.headers.get('content-type')}"
        return self.gone_or(uuid, response)

    def store(self) -> str | None:
        uuid = self.pool.pick()
        if uuid is None:
            return "skip"
        return self.gone_or(uuid, self.http.put(f"/api/files/{uuid}/storage/", headers=self.rest))

    def delete(self) -> str | None:
        uuid = self.pool.take()
        if uuid is None:
            return "skip"
        response = self.http.delete(f"/api/files/{uuid}/storage/", headers=self.rest)
        if response.status_code != 200 or not response.json().get("datetime_removed"):
            return f"{response.status_code} {response.text[:200]}"
        return None

    def gone_or(self, uuid: str, response: httpx.Response) -> str | None:
        """A 404 for a file another client deleted meanwhile is no error; any other failure is."""
        if response.status_code in (200, 304):
            response.read()
            return None
        if response.status_code == 404 and not self.pool.has(uuid):
            return "skip"
        return f"{response.status_code} {response.request.url.path} {response.text[:200]}"


# --- the abusive client -------------------------------------------------------------------------


def bomb_png() -> bytes:
    """A PNG declaring 14000x14000 (196 megapixels) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 14000, 14000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


class Abuser(threading.Thread):
    """What anyone with the public key and a file's UUID can send, beside the normal traffic:
    decompression bombs with operations on them, floods of distinct (and junk) operation strings,
    request bodies that trickle, and multipart uploads started and never finished. Its answers are
    expected to be refusals; a 5xx or a dropped connection is a failure (counted as `abuse`)."""

    ABUSES = ("bomb", "op_flood", "slow_body", "open_multipart")

    def __init__(self, base: str, keys: dict, stats: Stats, pool: Pool, until: float):
        super().__init__(daemon=True, name="abuser")
        self.base, self.keys, self.stats, self.pool, self.until = base, keys, stats, pool, until
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.rng = random.Random(99)
        self.statuses = Counter()
        self.slow: list = []

    def run(self) -> None:
        while time.monotonic() < self.until:
            abuse = self.rng.choice(self.ABUSES)
            try:
                problem = getattr(self, abuse)()
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                self.stats.error("abuse", f"{abuse}: {problem}")
            time.sleep(0.05)
        for sock in self.slow:
            sock.close()
        self.http.close()

    def answered(self, abuse: str, response: httpx.Response) -> str | None:
        self.statuses[f"{abuse} {response.status_code}"] += 1
        return f"HTTP {response.status_code}" if response.status_code >= 500 else None

    def bomb(self) -> str | None:
        response = self.http.post(
            "/upload/base/",
            data={"UPLOADCARE_PUB_KEY": self.keys["public_key"], "UPLOADCARE_STORE": "1"},
            files={"file": ("bomb.png", bomb_png(), "image/png")},
        )
        if response.status_code != 200:
            return self.answered("bomb", response)
        uuid = response.json()["file"]
        return self.answered("bomb", self.http.get(f"/cdn/{uuid}/-/resize/{self.rng.randrange(10, 4000)}x/"))

    def op_flood(self) -> str | None:
        uuid = self.pool.pick(image=True)
        if uuid is None:
            return None
        junk = self.rng.choice(
            ["-/resize/%dx/", "-/blur/%d/-/sharp/20/", "-/rotate/%d/", "-/nonsense/%d/", "-/preview/%dx9999999/"]
        )
        chain = "".join(junk % self.rng.randrange(1, 5000) for _ in range(self.rng.randrange(1, 40)))
        return self.answered("op_flood", self.http.get(f"/cdn/{uuid}/{chain}"))

    def slow_body(self) -> str | None:
        host, port = self.base.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=60)
        sock.sendall(
            b"POST /upload/base/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n--x\r\n"
        )
        self.slow.append(sock)
        if len(self.slow) > 12:  # keep a dozen stalled at a time
            self.slow.pop(0).close()
        self.statuses["slow_body opened"] += 1
        return None

    def open_multipart(self) -> str | None:
        response = self.http.post(
            "/upload/multipart/start/",
            data={
                "UPLOADCARE_PUB_KEY": self.keys["public_key"],
                "filename": "never.bin",
                "size": str(100 * 1024 * 1024),
                "content_type": "application/octet-stream",
            },
        )
        return self.answered("open_multipart", response)


def login(base: str) -> str:
    """The dashboard's session through the real allauth form. Production cookies are Secure, which
    a client over plain HTTP never sends back, so they are read and sent by hand."""
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as http:
        page = http.get("/accounts/login/")
        csrf = set_cookie(page, "csrftoken")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not csrf or not token:
            raise RuntimeError(f"no CSRF cookie or token on the login page: {page.status_code} {page.headers}")
        response = http.post(
            "/accounts/login/",
            data={"login": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Cookie": f"csrftoken={csrf}", "Referer": f"{base}/accounts/login/"},
        )
        session = set_cookie(response, "sessionid")
        if response.status_code != 302 or not session:
            raise RuntimeError(f"login failed: {response.status_code} {response.text[:300]}")
        return session


def set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    return ""


def subscribe(base: str, keys: dict, target: str) -> None:
    response = httpx.post(
        f"{base}/api/webhooks/",
        data={"target_url": target, "event": "file.uploaded", "is_active": "true"},
        headers={"Accept": ACCEPT, "Authorization": f"Uploadcare.Simple {keys['public_key']}:{keys['secret_key']}"},
    )
    response.raise_for_status()


# --- processes and memory -----------------------------------------------------------------------


class Memory(threading.Thread):
    """Every process's RSS every few seconds: {pid: [(seconds since start, KiB), ...]}, with names."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots, self.running = roots, True
        self.names: dict[int, str] = {}
        self.samples: dict[int, list] = defaultdict(list)
        self.started = time.monotonic()

    def sample(self) -> None:
        now = time.monotonic() - self.started
        for name, root in self.roots.items():
            for pid in tree_pids(root):
                self.names.setdefault(pid, name if pid == root else f"{name} child")
                rss = rss_kib(pid)
                if rss:
                    self.samples[pid].append((now, rss))

    def run(self) -> None:
        while self.running:
            self.sample()
            time.sleep(SAMPLE_EVERY)

    def stop(self) -> None:
        self.running = False
        self.join()
        self.sample()


def at(samples: list, moment: float) -> int:
    """The median of the three samples nearest `moment` (one sample is noisy)."""
    nearest = sorted(samples, key=lambda s: abs(s[0] - moment))[:3]
    return sorted(rss for _, rss in nearest)[len(nearest) // 2]


def start_celery(env: dict, work: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(work / f"{name}.log", "w")  # noqa: SIM115 (the process writes to it after this returns)
    return subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "config", *args, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- the run ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-abuse", dest="abuse", action="store_false", help="without the abusive client")
    args = parser.parse_args()
    duration = args.minutes * 60
    warm = min(60.0, duration / 4)

    receiver = post_receiver(DELIVERIES.add)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    work = workdir("soak")
    workers = []
    with scratch_database("soak") as database_url, redis_server() as redis_url:
        env = production_env(database_url, redis_url, work)  # quotas and rate limits off: one client host
        keys = bootstrap(env)
        manage(env, "collectstatic", "--noinput", "-v", "0")  # the dashboard's pages need the manifest
        try:
            # As `serve` runs it: threads wait on slow clients, idle connections are kept 30 s.
            with Server(env, workers=2, threads=16, extra=["--keep-alive", "30"]) as server:
                workers = [
                    start_celery(env, work, "worker1", "worker", "-n", "soak1@%h", "--concurrency", "2"),
                    start_celery(env, work, "worker2", "worker", "-n", "soak2@%h", "--concurrency", "2"),
                    start_celery(env, work, "beat", "beat", "--schedule", str(work / "beat-schedule")),
                ]
                subscribe(server.base, keys, target)
                session = login(server.base)
                memory = Memory(
                    {
                        "gunicorn": server.proc.pid,
                        "celery worker 1": workers[0].pid,
                        "celery worker 2": workers[1].pid,
                        "celery beat": workers[2].pid,
                    }
                )
                time.sleep(3)  # the workers' prefork children are up
                memory.start()
                stats, pool = Stats(), Pool()
                print(
                    f"soak: {args.minutes:g} min, {args.clients} clients against {server.base} "
                    f"(gunicorn 2 workers x16 threads, 2 celery workers x2, beat"
                    f"{', an abusive client' if args.abuse else ''}); "
                    f"logs in {work}",
                    flush=True,
                )
                until = time.monotonic() + duration
                clients = [Client(i, server.base, keys, session, stats, pool, until) for i in range(args.clients)]
                abuser = Abuser(server.base, keys, stats, pool, until) if args.abuse else None
                for client in [*clients, *([abuser] if abuser else [])]:
                    client.start()
                while any(client.is_alive() for client in clients):
                    time.sleep(30)
                    done = sum(len(v) for v in stats.latency.values())
                    print(
                        f"  {time.monotonic() - memory.started:5.0f} s: {done} requests, "
                        f"{sum(stats.errors.values())} errors, {len(DELIVERIES.uploaded)} deliveries",
                        flush=True,
                    )
                for client in clients:
                    client.join()
                if abuser:
                    abuser.join()
                    print(
                        "abusive client's answers: "
                        + ", ".join(f"{k} ×{v}" for k, v in sorted(abuser.statuses.items()))
                    )
                traffic_end = time.monotonic()
                expected = set(pool.uploaded)
                while time.monotonic() - traffic_end < DELIVERY_WAIT and not expected <= set(DELIVERIES.uploaded):
                    time.sleep(0.5)
                delivery_wait = time.monotonic() - traffic_end
                # The last samples are taken idle: a render in flight at the end is a peak, not growth.
                time.sleep(max(0.0, 3 * SAMPLE_EVERY - delivery_wait))
                memory.stop()
                exited = [proc for proc in workers if proc.poll() is not None]
        finally:
            for proc in workers:
                stop(proc)
            receiver.shutdown()
    return report(stats, memory, expected, delivery_wait, warm, exited, work)


def report(
    stats: Stats, memory: Memory, expected: set, delivery_wait: float, warm: float, exited: list, work: Path
) -> int:
    failures = []
    print(f"\n{'kind':<22}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for kind in [*MIX, "abuse"]:
        values = stats.latency.get(kind, [])
        print(
            f"{kind:<22}{len(values):>9}{stats.errors[kind]:>8}{percentile(values, 0.5) * 1000:>9.0f}"
            f"{percentile(values, 0.95) * 1000:>9.0f}"
        )
    total_errors = sum(stats.errors.values())
    print(f"{'all':<22}{sum(len(v) for v in stats.latency.values()):>9}{total_errors:>8}")
    if total_errors:
        failures.append(f"{total_errors} failed requests")
        for sample in stats.samples:
            print(f"  error: {sample}")

    end = max(s[-1][0] for s in memory.samples.values())
    print(
        f"\nRSS (MiB)                      {'start':>8}{f'at {warm:.0f} s':>10}{'peak':>8}{'idle end':>10}{'growth':>9}"
    )
    for pid, samples in sorted(memory.samples.items(), key=lambda item: memory.names[item[0]]):
        name = f"{memory.names[pid]} {pid}"
        start, after, last = samples[0][1], at(samples, warm), at(samples, end)
        growth = last - after
        peak = max(value for _, value in samples)
        print(
            f"  {name:<29}{start / MiB:>8.1f}{after / MiB:>10.1f}{peak / MiB:>8.1f}{last / MiB:>10.1f}"
            f"{growth / MiB:>+9.1f}"
        )
        if end >= 180:  # the trend, one figure a minute: a slow leak shows as a steady climb
            print(" " * 31 + " ".join(f"{at(samples, minute * 60) / MiB:.0f}" for minute in range(int(end // 60) + 1)))
        if samples[-1][0] < end - 2 * SAMPLE_EVERY:
            failures.append(f"{name} exited during the run")
        elif growth > GROWTH_RATIO * after or growth > GROWTH_KIB:
            failures.append(f"{name} grew {growth / MiB:.1f} MiB after the warm-up")
    for proc in exited:
        failures.append(f"process {proc.pid} ({' '.join(proc.args[3:5])}) exited")

    received = set(DELIVERIES.uploaded)
    missing = expected - received
    duplicates = sum(n - 1 for n in DELIVERIES.uploaded.values() if n > 1)
    print(
        f"\nwebhook file.uploaded: {len(expected)} uploads, {len(expected & received)} delivered "
        f"({duplicates} duplicates, {len(received - expected)} unknown), all in {delivery_wait:.1f} s "
        f"after the traffic stopped"
        if not missing
        else f"\nwebhook file.uploaded: {len(expected)} uploads, {len(missing)} not delivered {DELIVERY_WAIT:.0f} s "
        f"after the traffic stopped"
    )
    if missing:
        failures.append(f"{len(missing)} deliveries missing")
    tracebacks = sum(path.read_text(errors="replace").count("Traceback") for path in work.glob("*.log"))
    print(f"tracebacks in the celery logs: {tracebacks}")
    if tracebacks:
        failures.append(f"{tracebacks} tracebacks in the celery logs ({work})")

    print("\nnote: latencies come from a shared 2-core machine and are noisy")
    if failures:
        print("\nSOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nsoak passed")
    shutil.rmtree(work, ignore_errors=True)  # logs and media are kept only for a failed run
    return 0


if __name__ == "__main__":
    sys.exit(main())
