"""P3's ceilings, measured by bench/upload_multipart.py.

- nginx alone taking each PUT body to a file on the same disk (`client_body_in_file_only`), then
  answering from a stub location: what any design that lets nginx read the socket can reach;
- bench/raw_sink.py: one Python process reading the body with recv_into() (1 MiB and 8 KiB
  buffers, the latter being what gunicorn's sync worker uses) and pwrite()-ing it at the part's offset;
- the same as a bare WSGI app on gunicorn (one sync worker): gunicorn's body reading, no Django;
- the same app on granian (one worker), which reads the socket in Rust: would another server lift it?
- nginx writing each body to a file in front of gunicorn running `edge_application`, a bare WSGI
  app that copies the file into place with copy_file_range and removes it: the ceiling of
  deploy/'s part location (files/uploads/edge.py does that work plus Filedock's checks).
"""

import os
import socket
import subprocess
from pathlib import Path

from harness import PYTHON, ROOT, best_of, free_port, wait_for
from nginx_server import Nginx

SINK = """
    upstream stub {{ server 127.0.0.1:{port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location /sink/ {{
            client_body_in_file_only clean;
            client_body_buffer_size {buffer};
            client_body_temp_path {body_dir};
            proxy_pass http://stub/stub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Body-File $request_body_file;
        }}
        location = /stub {{ return 200; }}
        location / {{ return 200; }}
    }}
"""


def nginx_sink(work: Path, source: Path, put_parts, part: int, buffer: str = "1m") -> tuple[float, float]:
    """Seconds for nginx to take every part (the bench's client), and the whole file in one `curl -T`."""
    body_dir = work / "nginx_body"
    body_dir.mkdir(exist_ok=True)
    with Nginx(work / "nginx-sink", SINK, body_dir=body_dir, buffer=buffer) as nginx:
        count = -(-source.stat().st_size // part)
        paths = [f"/sink/{i}" for i in range(count)]
        put_parts(nginx.port, paths[:1], source, part)  # warm-up
        parts = best_of(lambda: put_parts(nginx.port, paths, source, part), 2)

        def curl() -> None:
            code = subprocess.run(
                ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(source), f"{nginx.base}/sink/whole"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            assert code == "200", code

        whole = best_of(curl, 2)
    assert not any(body_dir.iterdir()), "nginx left body files behind"
    return parts, whole


EDGE_SINK = """
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            client_body_in_file_only clean;
            client_body_buffer_size 256k;  # as deploy/ sets it
            client_body_temp_path {body_dir};
            proxy_pass http://127.0.0.1:{app};
            proxy_http_version 1.1;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Body-File $request_body_file;
        }}
    }}
"""


def edge_application(environ, start_response):
    """The bare app behind EDGE_SINK: the body file nginx wrote, copied into BENCH_SINK_FILE at the
    part's offset in the kernel (copy_file_range, as files/uploads/multipart.py does) and removed."""
    if environ["REQUEST_METHOD"] == "PUT":
        index = int(environ["PATH_INFO"].strip("/").rsplit("/", 1)[-1])
        offset = index * int(os.environ["BENCH_PART"])
        source = os.open(environ["HTTP_X_BODY_FILE"], os.O_RDONLY)
        target = os.open(os.environ["BENCH_SINK_FILE"], os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            length, done = os.fstat(source).st_size, 0
            while done < length:
                done += os.copy_file_range(source, target, length - done, None, offset + done)
        finally:
            os.close(source)
            os.close(target)
        os.unlink(environ["HTTP_X_BODY_FILE"])
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


def nginx_app_sink(work: Path, source: Path, put_parts, part: int) -> float:
    """Seconds for nginx writing the body in front of gunicorn (one sync worker) running
    edge_application to take every part with the bench's client."""
    port, data, body_dir = free_port(), work / "edge-sink.bin", work / "edge_sink_body"
    body_dir.mkdir(exist_ok=True)
    env = {**os.environ, "BENCH_SINK_FILE": str(data), "BENCH_PART": str(part)}
    argv = ["-m", "gunicorn", "--chdir", str(ROOT / "bench"), "upload_ceilings:edge_application"]
    proc = subprocess.Popen(
        [PYTHON, *argv, "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, what="edge app")
        with Nginx(work / "nginx-edge-sink", EDGE_SINK, app=port, body_dir=body_dir) as nginx:
            seconds = best_of(lambda: fresh_parts(put_parts, nginx.port, source, part, data), 2)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
    assert data.stat().st_size == source.stat().st_size
    assert not any(body_dir.iterdir()), "body files left behind"
    data.unlink()
    return seconds


def raw_sink(work: Path, source: Path, put_parts, part: int, recv_size: int) -> float:
    """Seconds for bench/raw_sink.py (its own process) to take every part with the bench's client."""
    port, data = free_port(), work / "raw-sink.bin"
    proc = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "raw_sink.py"), str(port), str(data), str(part), str(recv_size)]
    )
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, what="raw sink")
        seconds = best_of(lambda: fresh_parts(put_parts, port, source, part, data), 2)
    finally:
        proc.terminate()
        proc.wait(10)
    assert data.stat().st_size == source.stat().st_size
    data.unlink()
    return seconds


SERVERS = {
    # One process each, as a Filedock web process: the bare WSGI app of bench/raw_sink.py.
    "gunicorn": lambda port: [
        "-m",
        "gunicorn",
        "--chdir",
        str(ROOT / "bench"),
        "raw_sink:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "--log-level",
        "warning",
    ],
    "granian": lambda port: [
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--working-dir",
        str(ROOT / "bench"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "raw_sink:application",
    ],
}


def wsgi_sink(work: Path, source: Path, put_parts, part: int, server: str = "gunicorn") -> float:
    """Seconds for a WSGI server (one worker; gunicorn sync as Filedock's, or granian, which reads the
    socket in Rust) running bench/raw_sink.py's bare WSGI app to take every part."""
    port, data = free_port(), work / f"{server}-sink.bin"
    env = {**os.environ, "BENCH_SINK_FILE": str(data), "BENCH_PART": str(part)}
    proc = subprocess.Popen(
        [PYTHON, *SERVERS[server](port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, what=f"{server} sink"
        )
        seconds = best_of(lambda: fresh_parts(put_parts, port, source, part, data), 2)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
    assert data.stat().st_size == source.stat().st_size
    data.unlink()
    return seconds


def fresh_parts(put_parts, port: int, source: Path, part: int, data: Path) -> None:
    """Every part PUT to /<index>, into a new data file (fresh pages, as each Filedock upload writes)."""
    data.unlink(missing_ok=True)
    put_parts(port, [f"/{i}" for i in range(-(-source.stat().st_size // part))], source, part)
