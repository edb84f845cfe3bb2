"""P5: CDN requests per second for a 100 KB file (GET /cdn/<uuid>/) against nginx serving it from disk.

    .venv/bin/python bench/cdn_serve.py [--seconds 10] [--workers 4]

Production settings (PostgreSQL, Redis, local disk) on gunicorn. One nginx (its configuration
generated into a temporary folder, run in the foreground on a free port) has three locations:
`/baseline/` serves the storage root directly (the baseline), `/cdn/` proxies to a gunicorn with
FILEDOCK_CDN_X_ACCEL_PREFIX=/_protected/, and the internal `/_protected/` sends what Django names.
The same URL is also measured on gunicorn alone (no nginx). wrk is the load generator.
Floors, behind the same nginx configuration: bench/minimal_cdn_app.py answering X-Accel-Redirect
with no lookup, and with one SELECT of the storage key by uuid (what any Django design must do).

The same file through the edge cache of deploy/ (its template rendered by deploy/render.py, in a
main configuration like the baseline's: two workers, no access log), cached, against the baseline;
a signed URL (a project that signs its URLs, pyuploadcare's ACL token) against the unsigned one,
both cold behind the X-Accel nginx; and an image operation through the edge, first request (the
render) against the cached answer.
"""

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from functools import partial
from pathlib import Path

from PIL import Image
from pyuploadcare.secure_url import AkamaiSecureUrlBuilderWithAclToken

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    ROOT,
    Server,
    bootstrap,
    free_port,
    header,
    manage,
    measured,
    production_env,
    redis_server,
    row,
    scratch_database,
    wait_for,
    workdir,
)
from nginx_server import Nginx

CONNECTIONS = 8
FILE_SIZE = 100 * 1000
PHOTO_SIZE = (1600, 1200)  # the operation's source: a JPEG photo
RENDERS = 5  # first requests of distinct operation URLs, each a render
ACCEL_PREFIX = "/_protected/"
# The server block inside bench/nginx_server.py's common configuration.
NGINX_SERVERS = """
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
"""


# What Debian's /etc/nginx/nginx.conf gives the rendered deploy/ file, set up as the baseline's
# configuration in bench/nginx_server.py (two workers, no access log).
EDGE_MAIN = """
load_module /usr/lib/nginx/modules/ngx_http_cache_purge_module.so;
{user}
worker_processes 2;
daemon off;
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
    include {tmp}/filedock.conf;
}}
"""
SIGNED_PROJECT = """
import json
from accounts.services import account_bootstrap
from projects.services import delivery_secret_create, project_configure_delivery
project = account_bootstrap(email="signed@example.com", password="bench-pass-1", project_name="Signed")
_, secret = delivery_secret_create(project=project)
project_configure_delivery(
    project=project,
    signed_delivery=True,
    auto_format=project.auto_format,
    default_quality=project.default_quality,
    download_non_images=project.download_non_images,
)
print(json.dumps({"public_key": project.public_key, "delivery_secret": secret}))
"""


class Edge:
    """nginx running deploy/'s configuration in front of gunicorn on `app_port`, on free ports.
    `edge_secret`: FILEDOCK_EDGE_SECRET, as gunicorn's environment has it (for part PUTs)."""

    def __init__(self, tmp: Path, media: Path, edge_secret: str = "bench-" + "e" * 32):
        self.tmp, self.media, self.edge_secret = tmp, media, edge_secret
        self.ports = {name: free_port() for name in ("dashboard", "cdn", "origin", "purge")}
        self.proc = None

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self.ports['cdn']}/"

    @property
    def purge(self) -> str:
        return f"http://127.0.0.1:{self.ports['purge']}/purge"

    def start(self, app_port: int) -> "Edge":
        self.tmp.mkdir(parents=True, exist_ok=True)
        values = {
            "NGINX_APP": f"127.0.0.1:{app_port}",
            "NGINX_DASHBOARD_HOST": "127.0.0.1",
            "NGINX_CDN_HOST": "127.0.0.1",
            "NGINX_CACHE_DIR": str(self.tmp / "cache"),
            "NGINX_CACHE_KEYS_ZONE": "1m",
            "NGINX_CACHE_SIZE": "1g",
            "FILEDOCK_MEDIA_ROOT": str(self.media),
            "FILEDOCK_EDGE_SECRET": self.edge_secret,
            "FILEDOCK_EDGE_BODY_DIR": str(self.media.parent / "edge-bodies"),  # the storage's filesystem
            **{f"NGINX_{name.upper()}_LISTEN": f"127.0.0.1:{port}" for name, port in self.ports.items()},
        }
        rendered = subprocess.run(
            [sys.executable, "deploy/render.py"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **values},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (self.tmp / "filedock.conf").write_text(rendered)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read the 0700 temporary folder
        (self.tmp / "nginx.conf").write_text(EDGE_MAIN.format(user=user, tmp=self.tmp))
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), "-e", str(self.tmp / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, what="nginx (deploy/)")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + (self.tmp / "error.log").read_text())
        return urllib.request.urlopen(f"http://127.0.0.1:{self.ports['dashboard']}/healthz", timeout=2).status == 200

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def front(tmp: Path, media: Path, upstream: int) -> Nginx:
    """nginx with /baseline/ (the storage root), /cdn/ proxied to `upstream` and the internal accel location."""
    return Nginx(tmp, NGINX_SERVERS, media=media, upstream=upstream, accel=ACCEL_PREFIX)


def wrk(url: str, seconds: int) -> float:
    output = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", url], check=True, capture_output=True, text=True
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures on {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def get(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), dict(response.headers)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def timed_get(url: str) -> tuple[float, dict]:
    """(milliseconds, headers) of one GET on a new connection."""
    started = time.perf_counter()
    _, headers = get(url)
    return (time.perf_counter() - started) * 1000, headers


def upload(base: str, public_key: str, data: bytes, name: str) -> str:
    """Uploads and stores `data` through the Upload API; returns the file's uuid."""
    boundary = uuid.uuid4().hex
    fields = [("UPLOADCARE_PUB_KEY", public_key), ("UPLOADCARE_STORE", "1")]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'.encode()
        for field, value in fields
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/upload/base/", body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["file"]


def photo() -> bytes:
    """A JPEG with detail in it (a gradient under noise), so a render does real work."""
    noise = Image.effect_noise(PHOTO_SIZE, 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize(PHOTO_SIZE).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


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
            printed = manage(env, "shell", "-c", SIGNED_PROJECT)
            signed_project = json.loads(printed[printed.index("{") :])
            with Server(env, workers=args.workers) as server:
                file_id = upload(server.base, keys["public_key"], data, "small.bin")
                signed_id = upload(server.base, signed_project["public_key"], data, "signed.bin")
                photo_id = upload(server.base, keys["public_key"], photo(), "photo.jpg")
                cdn_path = f"/cdn/{file_id}/"
                direct_body, direct_headers = get(server.base + cdn_path)
                assert direct_body == data
                direct, direct_cpu = measured(server.pids(), partial(wrk, server.base + cdn_path), args.seconds)

            stored = next((work / "media" / "files").glob(f"*/{file_id}"))
            accel_env = {**env, "FILEDOCK_CDN_X_ACCEL_PREFIX": ACCEL_PREFIX}
            builder = AkamaiSecureUrlBuilderWithAclToken("unused", signed_project["delivery_secret"], window=3600)
            signed_path = f"/cdn/{signed_id}/?token={builder.get_token(signed_id)}"
            with (
                Server(accel_env, workers=args.workers) as server,
                front(work / "nginx", work / "media", server.port) as nginx,
            ):
                baseline_url = f"{nginx.base}/baseline/{stored.relative_to(work / 'media')}"
                assert get(baseline_url)[0] == data
                accel_body, accel_headers = get(nginx.base + cdn_path)
                assert accel_body == data
                for name in ("Content-Type", "Content-Disposition", "Cache-Control", "ETag", "Content-Security-Policy"):
                    assert accel_headers.get(name) == direct_headers.get(name), (name, accel_headers, direct_headers)
                assert status(f"{nginx.base}/cdn/{signed_id}/") == 403
                signed_body, signed_headers = get(nginx.base + signed_path)
                assert signed_body == data and signed_headers["Cache-Control"].startswith("private"), signed_headers
                wrk(baseline_url, 1)
                baseline = wrk(baseline_url, args.seconds)
                accel, accel_cpu = measured(server.pids(), partial(wrk, nginx.base + cdn_path), args.seconds)
                signed, signed_cpu = measured(server.pids(), partial(wrk, nginx.base + signed_path), args.seconds)

            floor_env = {
                **env,
                "DJANGO_SETTINGS_MODULE": "bench.minimal_cdn_app",
                "BENCH_CDN_ACCEL": ACCEL_PREFIX,
                "BENCH_CDN_KEY": str(stored.relative_to(work / "media")),
            }
            with (
                Server(floor_env, workers=args.workers) as server,
                front(work / "nginx-floor", work / "media", server.port) as nginx,
            ):
                for suffix in ("", "db"):
                    assert get(nginx.base + cdn_path + suffix)[0] == data
                header_only, header_cpu = measured(server.pids(), partial(wrk, nginx.base + cdn_path), args.seconds)
                with_select, select_cpu = measured(
                    server.pids(), partial(wrk, nginx.base + cdn_path + "db"), args.seconds
                )

            # The edge of deploy/: the CDN on its own origin, files sent by X-Accel-Redirect from the
            # edge's origin server, and what Django answers `public` recorded for purging.
            edge = Edge(work / "edge", work / "media")
            edge_env = {**accel_env, "FILEDOCK_CDN_BASE": edge.cdn, "FILEDOCK_EDGE_PURGE_URL": edge.purge}
            with (
                Server(edge_env, workers=args.workers) as server,
                front(work / "nginx-beside", work / "media", server.port) as beside,
            ):
                edge.start(server.port)
                try:
                    edge_url = f"{edge.cdn}{file_id}/"
                    cold_body, cold_headers = get(edge_url)
                    time.sleep(0.1)  # nginx files the response just after its last byte
                    hot_body, hot_headers = get(edge_url)
                    assert cold_body == hot_body == data
                    assert (cold_headers["X-Cache-Status"], hot_headers["X-Cache-Status"]) == ("MISS", "HIT")
                    for name in ("Content-Type", "Content-Disposition", "Cache-Control", "ETag"):
                        assert hot_headers.get(name) == direct_headers.get(name), (name, hot_headers, direct_headers)
                    # The baseline again, in turns with the edge: the fairest ratio on a busy machine.
                    beside_url = f"{beside.base}/baseline/{stored.relative_to(work / 'media')}"
                    wrk(beside_url, 1)
                    wrk(edge_url, 1)
                    turns = [(wrk(beside_url, args.seconds), wrk(edge_url, args.seconds)) for _ in range(2)]
                    beside_rate, hot = (max(rates) for rates in zip(*turns, strict=True))

                    first, cached = [], []
                    for index in range(RENDERS):  # distinct URLs: each one's first request renders
                        url = f"{edge.cdn}{photo_id}/-/resize/{800 + index}x/-/format/webp/"
                        elapsed, headers = timed_get(url)
                        assert headers["X-Cache-Status"] == "MISS" and headers["Content-Type"] == "image/webp"
                        first.append(elapsed)
                        for _ in range(20):  # nginx files the response just after its last byte
                            elapsed, headers = timed_get(url)
                            if headers["X-Cache-Status"] == "HIT":
                                break
                            time.sleep(0.05)
                        assert headers["X-Cache-Status"] == "HIT", headers
                        cached.append(elapsed)
                    operation = measured(server.pids(), partial(wrk, url), args.seconds)[0]
                finally:
                    edge.stop()

        header("P5", f"CDN GET of a 100 KB file, {CONNECTIONS} connections (wrk), gunicorn {args.workers} sync workers")
        row("nginx serving the file from disk", baseline, "req/s")
        row("hot: through the edge of deploy/, cached", hot, "req/s", baseline, "≥ 0.5×")
        row("  the same, in turns with the baseline: baseline", beside_rate, "req/s")
        row("  the same, in turns with the baseline: edge", hot, "req/s", beside_rate, "≥ 0.5×")
        row("cold: Filedock behind nginx (X-Accel-Redirect)", accel, "req/s", baseline)
        row("Filedock on gunicorn alone", direct, "req/s", baseline)
        row("floor: minimal view, X-Accel-Redirect only (no DB)", header_only, "req/s", baseline)
        row("floor: minimal view, one SELECT by uuid + X-Accel", with_select, "req/s", baseline)
        row("cold: Filedock X-Accel / floor with SELECT", accel / with_select, "×", None, "≥ 0.8×")
        row("cold, by CPU per request: floor with SELECT / Filedock", select_cpu / accel_cpu, "×", None, "≥ 0.8×")
        row("signed URL, cold, behind the same nginx", signed, "req/s", accel)
        row("signed / unsigned, time per request", accel / signed, "×", None, "≤ 1.1×")
        row("signed / unsigned, gunicorn CPU per request", signed_cpu / accel_cpu, "×", None, "≤ 1.1×")
        # gunicorn's CPU per request: steadier than req/s when other work shares the 2 cores.
        row("gunicorn CPU per request, floor (no DB)", header_cpu, "ms")
        row("gunicorn CPU per request, floor with SELECT", select_cpu, "ms", header_cpu)
        row("gunicorn CPU per request, Filedock X-Accel", accel_cpu, "ms", header_cpu)
        row("gunicorn CPU per request, Filedock signed URL", signed_cpu, "ms", header_cpu)
        row("gunicorn CPU per request, Filedock alone", direct_cpu, "ms", header_cpu)
        header("P5 operation", f"resize {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]} JPEG → ~800 px WebP through the edge")
        first_ms, cached_ms = sum(first) / len(first), sum(cached) / len(cached)
        row(f"first request (renders), mean of {RENDERS} URLs", first_ms, "ms")
        row("the same URL again (edge HIT), one request", cached_ms, "ms", first_ms)
        row("first / cached", first_ms / cached_ms, "×")
        row("cached operation URL through the edge (wrk)", operation, "req/s", baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
