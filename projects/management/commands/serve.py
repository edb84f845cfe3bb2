import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serves the whole product: gunicorn for the dashboard and the APIs, and for the CDN on a port of its "
        "own, and a Celery worker with beat for background work."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="the dashboard and the APIs")
        parser.add_argument(
            "--cdn-bind",
            default="",
            help="the CDN's own origin (default: the port after --bind, unless FILEDOCK_CDN_BASE names one)",
        )
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind, cdn_bind, web_workers, **options):
        env, binds = self._environment(bind, cdn_bind)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", ""), settings.MEDIA_ROOT:
            if folder:
                settings.VAR_DIR.joinpath(folder).mkdir(parents=True, exist_ok=True)
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                *[part for address in binds for part in ("--bind", address)],
                "--workers",
                str(web_workers),
                "--threads",
                "16",  # threads wait on slow clients cheaply; core.pacing cuts off bodies that trickle
                "--keep-alive",
                "30",  # an idle connection is kept well past a client's pause, not closed as it reuses it
                "--no-control-socket",  # its default path is shared by every gunicorn of the machine
                "--access-logfile",
                "-",
                "--timeout",
                "120",
            ],
            # WARNING: the periodic sweeps run every few seconds and would flood the terminal at INFO.
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "2",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        ]
        # Each child in a session of its own, so a signal to the terminal's process group reaches
        # only this command, which stops them all the same quiet way (SIGINT); and each dies with
        # this command if it is killed outright.
        processes = [
            subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)
            for command in commands
        ]
        cdn = f", its CDN on {env['FILEDOCK_CDN_BASE']}" if len(binds) > 1 else ""
        self.stdout.write(
            self.style.SUCCESS(f"Filedock is running on {env['FILEDOCK_SITE_URL']}/{cdn} — press Ctrl-C to stop.")
        )
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: stopping.append(True))
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.3)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # quiet and quick for gunicorn and Celery alike
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        failed = [
            process.args[2] for process in processes if process.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)
        ]
        if failed and not stopping:
            self.stderr.write(f"stopped because {', '.join(failed)} exited")
            sys.exit(1)

    @staticmethod
    def _environment(bind: str, cdn_bind: str) -> tuple[dict[str, str], list[str]]:
        """The children's environment and the addresses gunicorn listens on.

        URLs the server hands out (bootstrap, webhook payloads, the dashboard) follow the addresses
        it listens on, unless FILEDOCK_SITE_URL or FILEDOCK_CDN_BASE say otherwise.
        """
        env = dict(os.environ)
        # glibc gives each thread its own malloc arena: with 16 threads rendering images a process
        # keeps growing from fragmentation alone; two arenas keep it flat.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env.setdefault("FILEDOCK_SITE_URL", f"http://{bind}")
        host, _, port = bind.rpartition(":")
        given = env.get("FILEDOCK_CDN_BASE", "") if getattr(settings, "CDN_BASE_GIVEN", True) else ""
        if given and not urlsplit(given).netloc:
            return env, [bind]  # a path: the CDN shares the dashboard's origin
        if not cdn_bind:
            cdn_bind = urlsplit(given).netloc if given else f"{host}:{int(port) + 1}"
        env["FILEDOCK_CDN_BASE"] = given or f"http://{cdn_bind}/"
        return env, [bind, cdn_bind]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the serve command dies (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
