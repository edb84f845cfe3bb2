"""Store calls racing the expiry job on hundreds of expired temporary files, in real concurrency.

Storer threads call `file_store` (what the REST API, the dashboard and the admin call) on random
expired files while expiry threads run the periodic task in small batches, each thread with its
own PostgreSQL connection. Expiry's design: it marks a file removed (the row stays, with
datetime_removed) and deletes its bytes; a stored file is never touched.
"""

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.core.files.storage import default_storage

from files import services
from files.models import Event, File
from files.storage import expiry, tasks
from projects.services import project_create
from tests.factories import UserFactory
from tests.helpers import Crew
from tests.races.bulk import body_of, make_files

EXPIRED = 600
STORERS = 6  # each asks for every third file: every file is asked for twice, 1,200 calls
EXPIRERS = 3
BATCH = 15  # many short claims interleaved with the stores


def walk(files: list) -> list:
    """The files in expiry's order, shuffled within short runs: storers and expiry sweep the same
    files at the same moment, which is where a lost store would hide."""
    order = []
    for start in range(0, len(files), 20):
        run = files[start : start + 20]
        random.shuffle(run)
        order += run
    return order


def blobs(project) -> set[str]:
    try:
        _, names = default_storage.listdir(f"files/{project.pk}")
    except FileNotFoundError:
        return set()
    return {f"files/{project.pk}/{name}" for name in names}


@pytest.mark.django_db(transaction=True)
def test_no_file_a_store_call_kept_is_ever_removed_by_expiry():
    project = project_create(owner=UserFactory(), name="store vs expire")
    expired = make_files(project, EXPIRED, age=timedelta(days=2))
    stored_before = make_files(project, 100, age=timedelta(days=30), stored=True, first=EXPIRED)
    young = make_files(project, 100, age=timedelta(hours=1), first=EXPIRED + 100)
    lock = threading.Lock()
    outcomes: dict = {}  # pk -> the outcomes of every store call on it
    calls = []
    fronts = [0] * STORERS  # how far along the list each storer is
    decided = [0]  # files removed by expiry or kept by a store: expiry's front in the list
    storers_left = [STORERS]
    storing = threading.Event()
    storing.set()

    def storer(part: int) -> None:
        try:
            for position, file in enumerate(walk(expired[part % 3 :: 3])):
                fronts[part] = position * 3
                try:
                    services.file_store(file=File.objects.get(pk=file.pk))
                    outcome = "stored"
                except services.FileRemovedError:
                    outcome = "removed"
                with lock:
                    calls.append(outcome)
                    decided[0] += outcome == "stored" and file.pk not in outcomes
                    outcomes.setdefault(file.pk, set()).add(outcome)
        finally:
            with lock:
                storers_left[0] -= 1
                if not storers_left[0]:
                    storing.clear()

    def expirer():
        # Paced to the slowest storer, so expiry claims the very files being stored.
        while storing.is_set():
            if decided[0] > min(fronts) + 40:
                time.sleep(0.002)
                continue
            count = expiry.file_expire_batch(limit=BATCH)
            with lock:
                decided[0] += count

    crew = Crew()
    for part in range(STORERS):
        crew.add(partial(storer, part))
    crew.add(expirer, EXPIRERS)
    started = time.monotonic()
    crew.run()
    tasks.expire_temporary_files()  # what the next minute's run does with files nobody stored
    elapsed = time.monotonic() - started

    rows = {f.pk: f for f in File.objects.filter(project=project)}
    assert len(calls) == STORERS * EXPIRED // 3
    for pk, seen in outcomes.items():
        assert len(seen) == 1, f"{pk}: a store call succeeded and another found it removed"
    kept = {pk for pk, seen in outcomes.items() if seen == {"stored"}}
    refused = {pk for pk, seen in outcomes.items() if seen == {"removed"}}
    # Which side wins each file is up to scheduling, so the race is not required to go both ways here;
    # tests/files/test_lifecycle.py stages each way on one row.
    print(
        f"\n{len(calls)} store calls over {len(outcomes)} files in {elapsed:.1f} s: "
        f"{len(kept)} kept, {len(refused)} found expired"
    )

    # Every file a store call kept is stored, present and has its bytes.
    for pk in kept:
        file = rows[pk]
        assert file.is_stored and not file.is_removed
        with default_storage.open(file.storage_key) as handle:
            assert handle.read() == body_of(int(file.original_filename.split(".")[0]))
    # Every expired file nobody kept is removed, never stored, and its bytes are gone.
    for file in expired:
        if file.pk not in kept:
            row = rows[file.pk]
            assert row.is_removed and not row.is_stored
            assert not default_storage.exists(row.storage_key)
    # Files outside the race are untouched.
    for file in stored_before + young:
        assert not rows[file.pk].is_removed and default_storage.exists(file.storage_key)
    # Rows and bytes agree: no present row without bytes, no blob without a present row.
    present = {f.storage_key for f in rows.values() if not f.is_removed}
    assert blobs(project) == present

    # Each file got exactly one outcome event: file.stored for the kept, file.deleted for the rest.
    events = Counter(Event.objects.filter(project=project).values_list("file_uuid", "type"))
    for pk in kept:
        assert events[(pk, "file.stored")] == 1 and events[(pk, "file.deleted")] == 0
    for file in expired:
        if file.pk not in kept:
            assert events[(file.pk, "file.deleted")] == 1 and events[(file.pk, "file.stored")] == 0
