"""Debian's clamd on a socket of its own, for the tests and bench/scans.py: its signature database is
made here, a hash signature of the EICAR test file (freshclam, which fetches the real ones, needs the
internet)."""

import hashlib
import socket
import subprocess
import time
from pathlib import Path

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
BINARIES = ("/usr/sbin/clamd", "/usr/bin/clamd")


class Clamd:
    def __init__(self, folder: Path):
        self.folder, self.socket = folder, str(folder / "clamd.sock")
        (folder / "db").mkdir(parents=True, exist_ok=True)
        digest = hashlib.md5(EICAR).hexdigest()
        (folder / "db" / "filedock-test.hdb").write_text(f"{digest}:{len(EICAR)}:Eicar-Test-Signature\n")
        self.config = folder / "clamd.conf"
        self.config.write_text(
            f"LocalSocket {self.socket}\nForeground yes\nDatabaseDirectory {folder / 'db'}\n"
            f"LogFile {folder / 'clamd.log'}\nStreamMaxLength 100M\n"
        )
        self.binary = next((path for path in BINARIES if Path(path).exists()), None)
        self.process = None

    @property
    def installed(self) -> bool:
        return self.binary is not None

    def start(self) -> "Clamd":
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        for _ in range(200):
            if self.pong():
                return self
            time.sleep(0.05)
        raise RuntimeError("clamd did not start:\n" + (self.folder / "clamd.log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        Path(self.socket).unlink(missing_ok=True)

    def pong(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(1)
                conn.connect(self.socket)
                conn.sendall(b"zPING\0")
                return conn.recv(16) == b"PONG\0"
        except OSError:
            return False
