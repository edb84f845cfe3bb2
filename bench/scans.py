"""P10: malware scans through Filedock's pipeline against `clamdscan` of the same files.

    .venv/bin/python bench/scans.py [--files 300] [--size 262144]

One clamd of the bench's own (tests/clamd.py: Debian's clamd with a locally made signature of the
EICAR file) serves both sides. On a scratch PostgreSQL database and local disk storage (production
settings), N files (one in ten the EICAR file, the rest random bytes) are uploaded to a project with
malware protection on. Then:

- baseline: `clamdscan --stream` of the same N stored files, each sent to clamd over INSTREAM as
  Filedock sends them (one clamdscan process, files given on its command line);
- filedock: the outbox relay that queues the scans, then each scan job as a worker runs it
  (files.addons.runs.addon_run: claim, stream to clamd, write appdata and events), one worker.

Both must find the same infected files. It prints files per second on each side and the ratio.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bootstrap, header, production_env, redis_server, row, scratch_database, workdir
from tests.clamd import EICAR, Clamd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--size", type=int, default=256 * 1024, help="bytes of each clean file")
    args = parser.parse_args()

    work = workdir("scans")
    clamd = Clamd(work / "clamd")
    if not clamd.installed:
        sys.exit("bench/scans.py needs Debian's clamav-daemon (bash tests/services.sh installs it)")
    clamd.start()
    try:
        with scratch_database("scans") as database_url, redis_server() as redis_url:
            env = production_env(database_url, redis_url, work, FILEDOCK_CLAMD_ADDRESS=clamd.socket)
            keys = bootstrap(env)
            os.environ.update(env)
            run(keys["project_id"], args.files, args.size, work, clamd)
    finally:
        clamd.stop()


def run(project_id: str, n: int, size: int, work: Path, clamd: Clamd) -> None:
    import django

    django.setup()
    from django.core.files.base import ContentFile

    from files.addons.runs import addon_run
    from files.models import AddonRun, File
    from files.outbox.relay import outbox_relay
    from files.services import file_upload
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    project.malware_protection = "report"
    project.save(update_fields=["malware_protection"])
    for index in range(n):
        data = EICAR if index % 10 == 0 else os.urandom(size)
        file_upload(project=project, content=ContentFile(data, name=f"f{index}"), filename=f"f{index}", store=True)
    paths = [str(work / "media" / key) for key in File.objects.values_list("storage_key", flat=True)]

    header("P10", f"malware scans, {n} files of {size // 1024} KiB (one in ten infected), one clamd")
    started = time.perf_counter()
    answer = subprocess.run(
        ["clamdscan", f"--config-file={clamd.config}", "--stream", "--no-summary", *paths],
        capture_output=True,
        text=True,
    )
    baseline = time.perf_counter() - started
    found_by_clamdscan = answer.stdout.count(" FOUND")

    started = time.perf_counter()
    while outbox_relay():  # as beat's relay does, batch after batch
        pass
    runs = list(AddonRun.objects.values_list("pk", flat=True))
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        statuses = profile.runcall(lambda: [addon_run(run_id=run_id) for run_id in runs])
        profile.dump_stats(str(work / "scans.prof"))
    else:
        statuses = [addon_run(run_id=run_id) for run_id in runs]
    filedock = time.perf_counter() - started
    infected = File.objects.filter(infected=True).count()

    assert len(runs) == n and set(statuses) == {"done"}, (len(runs), set(statuses))
    assert infected == found_by_clamdscan == (n + 9) // 10, (infected, found_by_clamdscan)
    row("clamdscan --stream, files per second", n / baseline, "files/s")
    row("filedock scan jobs (relay + one worker), files per second", n / filedock, "files/s", n / baseline)
    row("  per scan: filedock's own work beyond clamd's", (filedock - baseline) / n * 1000, "ms")


if __name__ == "__main__":
    main()
