"""nginx in the foreground with a generated configuration, for the benches that measure against it.

`Nginx(tmp, servers)` writes nginx.conf into `tmp` with the common top (two workers, no access log,
every temporary folder under `tmp`) and the given `server { ... }` blocks, which may use `{port}`
(a free port chosen here) and `{tmp}`. Its files stay in `tmp`.
"""

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from harness import free_port, tree_pids, wait_for

CONF = """
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
{servers}
}}
"""


class Nginx:
    def __init__(self, tmp: Path, servers: str, **values):
        self.tmp, self.port = tmp, free_port()
        tmp.mkdir(parents=True, exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read the 0700 temporary folder
        body = servers.format(port=self.port, tmp=tmp, **values)
        (tmp / "nginx.conf").write_text(CONF.format(user=user, tmp=tmp, servers=body))
        self.proc = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Nginx":
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), "-e", str(self.tmp / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, what="nginx")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + (self.tmp / "error.log").read_text())
        try:
            urllib.request.urlopen(f"{self.base}/", timeout=2)
        except urllib.error.HTTPError:  # any answer means it listens
            pass
        return True

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid)
