import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serves the whole product: gunicorn for the web, a Celery worker with beat for background work."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind, web_workers, **options):
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
                "--bind",
                bind,
                "--workers",
                str(web_workers),
                "--threads",
                "4",
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
        processes = [subprocess.Popen(command) for command in commands]
        self.stdout.write(self.style.SUCCESS(f"Filedock is running on http://{bind}/ — press Ctrl-C to stop."))
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: stopping.append(True))
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.3)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
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
