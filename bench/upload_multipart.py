"""Multipart upload throughput through Filedock against `cp` of the same file, and server memory.

    .venv/bin/python bench/upload_multipart.py [--size-mib 200]

Starts a gunicorn server on the embedded settings (SQLite, local disk) in a temporary folder,
uploads one file of random bytes with pyuploadcare (5 MiB parts, as the official client does) and
again with a plain standard-library HTTP client (what the server sustains without the client's
own overhead), and prints MiB/s for each and for `cp` of the same file on the same disk, the
ratios, and the peak resident memory of the server processes against their size before.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def tree_pids(root: int) -> list[int]:
    pids = [root]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if int(Path(f"/proc/{pid}/stat").read_text().split()[3]) == root:
                    pids.append(int(pid))
            except (FileNotFoundError, IndexError, ValueError):
                pass
    return pids


class PeakSampler(threading.Thread):
    """Samples each server process's RSS every 20 ms and keeps the largest value per process."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.running = pids, {pid: 0 for pid in pids}, True

    def run(self) -> None:
        while self.running:
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            time.sleep(0.02)


def raw_upload(port: int, public_key: str, source: Path) -> float:
    """The same protocol with the standard library's HTTP client: what the server itself sustains."""
    size, part = source.stat().st_size, 5 * 1024 * 1024
    started = time.perf_counter()
    form = urllib.parse.urlencode({"UPLOADCARE_PUB_KEY": public_key, "filename": source.name, "size": size,
                                   "content_type": "application/octet-stream", "UPLOADCARE_STORE": "1"}).encode()
    parts = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/upload/multipart/start/", form).read())
    connection = http.client.HTTPConnection("127.0.0.1", port)
    with open(source, "rb") as f:
        for url in parts["parts"]:
            connection.request("PUT", url.split(str(port), 1)[1], body=f.read(part),
                               headers={"Content-Type": "application/octet-stream"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
    done = urllib.parse.urlencode({"UPLOADCARE_PUB_KEY": public_key, "uuid": parts["uuid"]}).encode()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/upload/multipart/complete/", done).read()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=200)
    args = parser.parse_args()
    from pyuploadcare import Uploadcare

    work = Path(tempfile.mkdtemp(prefix="filedock-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_", "REDIS_URL", "CELERY_"))}
    # Quotas off: the default plan caps files at 100 MiB, and this measures the server, not a plan.
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", FILEDOCK_VAR_DIR=str(work / "var"), DJANGO_DEBUG="0",
               FILEDOCK_QUOTAS_ENFORCED="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    keys = json.loads(subprocess.run([*manage, "bootstrap", "--email", "bench@example.com", "--password", "bench-pass-1"],
                                     env=env, check=True, cwd=ROOT, capture_output=True, text=True).stdout)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
                               "--threads", "4", "--timeout", "600"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        source = work / "source.bin"
        with open(source, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1024 * 1024))
        size = source.stat().st_size

        started = time.perf_counter()
        shutil.copyfile(source, work / "copy.bin")
        cp_seconds = time.perf_counter() - started

        pids = tree_pids(server.pid)
        before = {pid: rss_kib(pid) for pid in pids}
        sampler = PeakSampler(pids)
        sampler.start()
        client = Uploadcare(public_key=keys["public_key"], secret_key=keys["secret_key"],
                            upload_base=f"http://127.0.0.1:{port}/upload/", api_base=f"http://127.0.0.1:{port}/api/")
        started = time.perf_counter()
        with open(source, "rb") as f:
            uploaded = client.upload(f, store=True)
        upload_seconds = time.perf_counter() - started
        sampler.running = False
        sampler.join()

        raw_seconds = raw_upload(port, keys["public_key"], source)

        stored = work / "var" / "media" / "files"
        stored_file = next(stored.glob(f"*/{uploaded.uuid}"))
        assert stored_file.stat().st_size == size, "stored size differs"
        growth = max(sampler.peak[pid] - before[pid] for pid in pids)
        mib = size / 1024 / 1024
        print(f"file size                        {mib:.0f} MiB")
        print(f"cp (same disk)                   {mib / cp_seconds:8.1f} MiB/s  ({cp_seconds:.2f} s)")
        print(f"multipart upload, pyuploadcare   {mib / upload_seconds:8.1f} MiB/s  ({upload_seconds:.2f} s)")
        print(f"multipart upload, plain HTTP     {mib / raw_seconds:8.1f} MiB/s  ({raw_seconds:.2f} s)")
        print(f"ratio pyuploadcare / cp          {cp_seconds / upload_seconds:8.3f}")
        print(f"ratio plain HTTP / cp            {cp_seconds / raw_seconds:8.3f}")
        print(f"server RSS before                {max(before.values()) / 1024:8.1f} MiB (largest process)")
        print(f"server RSS peak growth           {growth / 1024:8.1f} MiB (during the pyuploadcare upload)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
