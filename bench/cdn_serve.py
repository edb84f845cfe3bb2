"""P5: CDN requests per second for a 100 KB file (GET /cdn/<uuid>/) against nginx serving it from disk.

    .venv/bin/python bench/cdn_serve.py [--seconds 10] [--workers 4]

Production settings (PostgreSQL, Redis, local disk) on gunicorn. One nginx (its configuration
generated into a temporary folder, run in the foreground on a free port) has three locations:
`/baseline/` serves the storage root directly (the baseline), `/cdn/` proxies to a gunicorn with
FILEDOCK_CDN_X_ACCEL_PREFIX=/_protected/, and the internal `/_protected/` sends what Django names.
The same URL is also measured on gunicorn alone (no nginx). wrk is the load generator.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (Server, bootstrap, free_port, header, production_env, redis_server, row,  # noqa: E402
                     scratch_database, wait_for, workdir)
from small_uploads import multipart_body  # noqa: E402

CONNECTIONS = 8
FILE_SIZE = 100 * 1000
ACCEL_PREFIX = "/_protected/"
NGINX_CONF = """
{user}
worker_processes 2;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream filedock {{
        server 127.0.0.1:{upstream};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /baseline/ {{
            alias {media}/;
        }}
        location /cdn/ {{
            proxy_pass http://filedock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
        # Only reachable through X-Accel-Redirect. nginx keeps the upstream's Content-Type,
        # Content-Disposition and Cache-Control; the rest of Filedock's headers are put back here.
        location {accel} {{
            internal;
            alias {media}/;
            etag off;
            add_header ETag $upstream_http_etag;
            add_header Access-Control-Allow-Origin $upstream_http_access_control_allow_origin;
            add_header Access-Control-Expose-Headers $upstream_http_access_control_expose_headers;
            add_header Content-Security-Policy $upstream_http_content_security_policy;
            add_header X-Content-Type-Options $upstream_http_x_content_type_options;
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground with a generated configuration; its files stay in `tmp`."""

    def __init__(self, tmp: Path, media: Path, upstream: int):
        self.tmp, self.port = tmp, free_port()
        tmp.mkdir(parents=True, exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read the 0700 temporary folder
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(user=user, tmp=tmp, media=media, upstream=upstream,
                                                          port=self.port, accel=ACCEL_PREFIX))
        self.proc = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Nginx":
        self.proc = subprocess.Popen(["nginx", "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"),
                                      "-e", str(self.tmp / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._up, what="nginx")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + (self.tmp / "error.log").read_text())
        try:
            urllib.request.urlopen(f"{self.base}/baseline/", timeout=2)
        except urllib.error.HTTPError:  # any answer means it listens
            pass
        return True

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wrk(url: str, seconds: int) -> float:
    output = subprocess.run(["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", url],
                            check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures on {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def get(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), dict(response.headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    work = workdir("cdn")
    data = os.urandom(FILE_SIZE)
    try:
        with scratch_database("cdn") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work)
            keys = bootstrap(env)
            with Server(env, workers=args.workers) as server:
                boundary = uuid.uuid4().hex
                upload = urllib.request.Request(
                    f"{server.base}/upload/base/", multipart_body(keys["public_key"], boundary, data),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
                with urllib.request.urlopen(upload) as response:
                    file_id = re.search(r'"file": "([0-9a-f-]+)"', response.read().decode()).group(1)
                cdn_path = f"/cdn/{file_id}/"
                direct_body, direct_headers = get(server.base + cdn_path)
                assert direct_body == data
                wrk(server.base + cdn_path, 1)
                direct = wrk(server.base + cdn_path, args.seconds)

            stored = next((work / "media" / "files").glob(f"*/{file_id}"))
            accel_env = {**env, "FILEDOCK_CDN_X_ACCEL_PREFIX": ACCEL_PREFIX}
            with Server(accel_env, workers=args.workers) as server, \
                    Nginx(work / "nginx", work / "media", server.port) as nginx:
                baseline_url = f"{nginx.base}/baseline/{stored.relative_to(work / 'media')}"
                assert get(baseline_url)[0] == data
                accel_body, accel_headers = get(nginx.base + cdn_path)
                assert accel_body == data
                for name in ("Content-Type", "Content-Disposition", "Cache-Control", "ETag", "Content-Security-Policy"):
                    assert accel_headers.get(name) == direct_headers.get(name), (name, accel_headers, direct_headers)
                wrk(baseline_url, 1)
                baseline = wrk(baseline_url, args.seconds)
                wrk(nginx.base + cdn_path, 1)
                accel = wrk(nginx.base + cdn_path, args.seconds)

        header("P5", f"CDN GET of a 100 KB file, {CONNECTIONS} connections (wrk), gunicorn {args.workers} sync workers")
        row("nginx serving the file from disk", baseline, "req/s")
        row("Filedock behind nginx (X-Accel-Redirect)", accel, "req/s", baseline, "≥ 0.5×")
        row("Filedock on gunicorn alone", direct, "req/s", baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
