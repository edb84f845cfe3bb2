"""P5: CDN requests per second for a 100 KB file (GET /cdn/<uuid>/) against nginx serving it from disk.

    .venv/bin/python bench/cdn_serve.py [--seconds 10] [--workers 4]

Production settings (PostgreSQL, Redis, local disk) on gunicorn. One nginx (its configuration
generated into a temporary folder, run in the foreground on a free port) has three locations:
`/baseline/` serves the storage root directly (the baseline), `/cdn/` proxies to a gunicorn with
FILEDOCK_CDN_X_ACCEL_PREFIX=/_protected/, and the internal `/_protected/` sends what Django names.
The same URL is also measured on gunicorn alone (no nginx). wrk is the load generator.
Floors, behind the same nginx configuration: bench/minimal_cdn_app.py answering X-Accel-Redirect
with no lookup, and with one SELECT of the storage key by uuid (what any Django design must do).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Server, bootstrap, header, measured, production_env, redis_server, row, scratch_database, workdir
from nginx_server import Nginx
from small_uploads import multipart_body

CONNECTIONS = 8
FILE_SIZE = 100 * 1000
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
                    f"{server.base}/upload/base/",
                    multipart_body(keys["public_key"], boundary, data),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )
                with urllib.request.urlopen(upload) as response:
                    file_id = re.search(r'"file": "([0-9a-f-]+)"', response.read().decode()).group(1)
                cdn_path = f"/cdn/{file_id}/"
                direct_body, direct_headers = get(server.base + cdn_path)
                assert direct_body == data
                direct, direct_cpu = measured(server.pids(), partial(wrk, server.base + cdn_path), args.seconds)

            stored = next((work / "media" / "files").glob(f"*/{file_id}"))
            accel_env = {**env, "FILEDOCK_CDN_X_ACCEL_PREFIX": ACCEL_PREFIX}
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
                wrk(baseline_url, 1)
                baseline = wrk(baseline_url, args.seconds)
                accel, accel_cpu = measured(server.pids(), partial(wrk, nginx.base + cdn_path), args.seconds)

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

        header("P5", f"CDN GET of a 100 KB file, {CONNECTIONS} connections (wrk), gunicorn {args.workers} sync workers")
        row("nginx serving the file from disk", baseline, "req/s")
        row("Filedock behind nginx (X-Accel-Redirect)", accel, "req/s", baseline, "≥ 0.5×")
        row("Filedock on gunicorn alone", direct, "req/s", baseline)
        row("floor: minimal view, X-Accel-Redirect only (no DB)", header_only, "req/s", baseline)
        row("floor: minimal view, one SELECT by uuid + X-Accel", with_select, "req/s", baseline)
        row("Filedock X-Accel / floor with SELECT", accel / with_select, "×")
        # gunicorn's CPU per request: steadier than req/s when other work shares the 2 cores.
        row("gunicorn CPU per request, floor (no DB)", header_cpu, "ms")
        row("gunicorn CPU per request, floor with SELECT", select_cpu, "ms", header_cpu)
        row("gunicorn CPU per request, Filedock X-Accel", accel_cpu, "ms", header_cpu)
        row("gunicorn CPU per request, Filedock alone", direct_cpu, "ms", header_cpu)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
