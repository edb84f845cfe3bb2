"""Store, delete, expiry and the sweeps that keep bytes and rows together."""

import os
import random
import threading
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from files import services
from files.cdn import images
from files.models import Event, File
from files.outbox.relay import event_file_infos
from files.storage import expiry, sweeps
from projects.services import project_create
from tests.factories import UserFactory
from tests.helpers import blocked_on_a_lock, wait_until

# Uploadcare's initiator for what the platform does by itself.
EXPIRED = {"type": "system", "detail": {"request_id": None, "addon_name": None, "reason": "expired"}}


def make_file(project, name="a.txt", store=False, body=b"hello", age=timedelta(0)) -> File:
    file = services.file_upload(project=project, content=ContentFile(body, name=name), filename=name, store=store)
    if age:
        File.objects.filter(pk=file.pk).update(datetime_uploaded=timezone.now() - age)
        file.refresh_from_db()
    return file


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="p")


def test_store_emits_once(project):
    file = make_file(project)
    services.file_store(file=file)
    services.file_store(file=file)
    assert file.is_stored
    assert Event.objects.filter(file_uuid=file.uuid, type="file.stored").count() == 1


def test_delete_marks_removed_and_deletes_bytes(project, django_capture_on_commit_callbacks):
    file = make_file(project, store=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_delete(file=file)
    assert file.is_removed and not default_storage.exists(file.storage_key)
    with pytest.raises(services.FileRemovedError):
        services.file_store(file=file)
    assert Event.objects.filter(file_uuid=file.uuid, type="file.deleted").count() == 1


def test_expiry_removes_old_temporary_files_and_keeps_stored_ones(project):
    old_temp = make_file(project, age=timedelta(hours=25))
    young_temp = make_file(project, age=timedelta(hours=23))
    old_stored = make_file(project, store=True, age=timedelta(days=30))

    assert expiry.file_expire_batch() == 1
    assert expiry.file_expire_batch() == 0  # running again is harmless

    old_temp.refresh_from_db(), young_temp.refresh_from_db(), old_stored.refresh_from_db()
    assert old_temp.is_removed and not default_storage.exists(old_temp.storage_key)
    assert not young_temp.is_removed and default_storage.exists(young_temp.storage_key)
    assert not old_stored.is_removed and default_storage.exists(old_stored.storage_key)
    event = Event.objects.get(file_uuid=old_temp.uuid, type="file.deleted")
    assert event.initiator["detail"]["reason"] == "expired"


def test_expiry_works_in_bounded_batches(project):
    for _ in range(5):
        make_file(project, age=timedelta(days=2))
    assert expiry.file_expire_batch(limit=2) == 2
    assert File.objects.temporary().count() == 3


def test_time_travel_the_lifetime_setting(project, settings):
    settings.FILEDOCK_TEMPORARY_FILE_LIFETIME = 60
    file = make_file(project, age=timedelta(seconds=61))
    assert expiry.file_expire_batch() == 1
    file.refresh_from_db()
    assert file.is_removed


@pytest.mark.django_db(transaction=True)
def test_store_racing_expiry_never_loses_a_stored_file():
    """Stores and expiry run at once on the same expired files, in separate connections."""
    project = project_create(owner=UserFactory(), name="race")
    files = [make_file(project, name=f"{i}.txt", age=timedelta(days=2)) for i in range(150)]
    stored_ok, refused = [], []

    def storer():
        order = files[:]
        random.shuffle(order)
        for file in order:
            try:
                services.file_store(file=File.objects.get(pk=file.pk))
                stored_ok.append(file.pk)
            except services.FileRemovedError:
                refused.append(file.pk)
        connection.close()

    def expirer():
        while expiry.file_expire_batch(limit=7):
            pass
        connection.close()

    threads = [threading.Thread(target=storer), threading.Thread(target=expirer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rows = {f.pk: f for f in File.objects.filter(project=project)}
    assert len(stored_ok) + len(refused) == 150
    for pk in stored_ok:
        assert rows[pk].is_stored and not rows[pk].is_removed
        assert default_storage.exists(rows[pk].storage_key)
    for pk in refused:
        assert rows[pk].is_removed and not rows[pk].is_stored


@pytest.mark.django_db(transaction=True)
def test_store_and_expiry_meeting_on_one_row_each_way():
    """Staged both ways on one row, without counting on thread scheduling: a store that holds the
    row keeps it (expiry skips it), and a store that waits for expiry's claim finds it removed."""
    project = project_create(owner=UserFactory(), name="race")
    kept, lost = (make_file(project, name=f"{i}.txt", age=timedelta(days=2)) for i in range(2))

    with transaction.atomic():  # the store of `kept` has not committed when expiry runs
        services.file_store(file=kept)
        expiring = threading.Thread(target=lambda: (expiry.file_expire_batch(limit=10), connection.close()))
        expiring.start()
        expiring.join(10)
    assert not expiring.is_alive(), "expiry waited for a row a store holds"
    kept.refresh_from_db()
    assert kept.is_stored and not kept.is_removed and default_storage.exists(kept.storage_key)
    assert File.objects.get(pk=lost.pk).is_removed

    fresh = make_file(project, name="fresh.txt", age=timedelta(days=2))
    outcome = []

    def store():
        try:
            services.file_store(file=File.objects.get(pk=fresh.pk))
            outcome.append("stored")
        except services.FileRemovedError:
            outcome.append("refused")
        finally:
            connection.close()

    with transaction.atomic():  # expiry has claimed `fresh` and not committed when the store comes
        assert [str(uuid) for uuid, *_ in expiry.expire_rows(limit=10)] == [str(fresh.uuid)]
        storing = threading.Thread(target=store)
        storing.start()
        assert wait_until(blocked_on_a_lock), "the store never waited for expiry's claim"
    storing.join(10)
    fresh.refresh_from_db()
    assert outcome == ["refused"] and fresh.is_removed and fresh.datetime_stored is None


def test_crash_between_bytes_and_row_leaves_an_orphan_the_sweep_removes(project):
    # Blobs an earlier run of this test left in the process's media folder (mutmut runs the tests
    # twice in one process; the rows went with the rolled-back transaction) are swept first.
    sweeps.storage_sweep_orphans()
    # What a crash after the storage write and before the row commit leaves behind:
    orphan = default_storage.save(
        services.storage_key(project.pk, "0b8f4a0e-1111-4222-8333-444455556666"), ContentFile(b"orphan")
    )
    young_orphan = default_storage.save(
        services.storage_key(project.pk, "0b8f4a0e-1111-4222-8333-777788889999"), ContentFile(b"maybe mid-upload")
    )
    kept = make_file(project, store=True)
    hour_ago = time.time() - 7200
    os.utime(default_storage.path(orphan), (hour_ago, hour_ago))
    os.utime(default_storage.path(kept.storage_key), (hour_ago, hour_ago))

    assert sweeps.storage_sweep_orphans() == 1
    assert not default_storage.exists(orphan)
    assert default_storage.exists(young_orphan)
    assert default_storage.exists(kept.storage_key)


def test_row_failure_deletes_the_bytes(project):
    def blobs():
        folder = f"files/{project.pk}"
        return set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()

    before = blobs()
    with connection.cursor() as cursor:  # the database refuses every new row (undone with the test's transaction)
        cursor.execute(f"ALTER TABLE {File._meta.db_table} ADD CONSTRAINT no_new_rows CHECK (false) NOT VALID")
    with pytest.raises(IntegrityError, match="no_new_rows"):
        services.file_upload(project=project, content=ContentFile(b"x", name="x"), filename="x", store=True)
    assert blobs() == before


def test_metadata_set_and_delete_emit_info_updated(project):
    file = make_file(project)
    initiator = {"type": "api", "detail": {"request_id": "r1"}}
    services.file_metadata_set(file=file, key="kind", value="avatar", initiator=initiator)
    services.file_metadata_set(file=file, key="kind", value="avatar")  # unchanged: no event
    services.file_metadata_delete(file=file, key="kind", initiator=initiator)
    file.refresh_from_db()
    assert file.metadata == {}
    events = Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").order_by("pk")
    # Each carries who made the change and the metadata it replaced, as the webhook will.
    assert [(event.initiator, event.payload["previous_values"]) for event in events] == [
        (initiator, {"metadata": {}}),
        (initiator, {"metadata": {"kind": "avatar"}}),
    ]


def test_delete_also_removes_cached_previews(project, django_capture_on_commit_callbacks):
    from tests.helpers import png_bytes

    file = make_file(project, name="p.png", body=png_bytes(), store=True)
    preview = images.rendering_get_or_create(source=file, plan=images.parse_preview("10x10"), accepts="")
    assert default_storage.exists(preview)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_delete(file=file)
    assert not default_storage.exists(preview)


def test_plain_text_is_text_plain(project):
    assert make_file(project, name="notes", body=b"just words").mime_type == "text/plain"


def test_metadata_of_a_removed_file_cannot_change(project, django_capture_on_commit_callbacks):
    file = make_file(project, store=True)
    services.file_metadata_set(file=file, key="k", value="v")
    with django_capture_on_commit_callbacks(execute=True):
        services.file_delete(file=file)
    with pytest.raises(services.FileRemovedError):
        services.file_metadata_set(file=file, key="k", value="other")
    with pytest.raises(services.FileRemovedError):
        services.file_metadata_delete(file=file, key="k")
    assert Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").count() == 1


def test_project_purge_removes_proxy_copies_and_unfinished_parts(project):
    from files.models import MultipartUpload
    from projects.services import project_delete, project_purge

    proxy_copy = default_storage.save(f"proxy/{project.pk}/abc/v1", ContentFile(b"cached"))
    rendering = default_storage.save(f"proxy/{project.pk}/abc/v1-ops-x.png", ContentFile(b"png"))
    upload = MultipartUpload.objects.create(project=project, filename="big", size=10, part_size=5)
    part = default_storage.save(upload.part_key(0), ContentFile(b"12345"))
    assembled = default_storage.save(f"parts/{upload.uuid}/data", ContentFile(b"12345"))  # parts at offsets
    project_delete(project=project)
    project_purge(project_id=project.pk)
    assert not any(default_storage.exists(key) for key in (proxy_copy, rendering, part, assembled))


def test_a_fetch_that_crashes_is_reported_not_left_in_progress(project, httpserver, settings, tmp_path):
    from files.models import FromUrlTask
    from files.uploads import from_url

    httpserver.expect_request("/x").respond_with_data(b"hello")
    in_the_way = tmp_path / "media"
    in_the_way.write_text("a file where the storage folder should be")
    settings.MEDIA_ROOT = str(in_the_way)  # the disk is gone: every write fails
    task = FromUrlTask.objects.create(project=project, source_url=httpserver.url_for("/x"))
    with pytest.raises(OSError):
        from_url.from_url_fetch(token=task.token)
    task.refresh_from_db()
    assert task.status == "error" and task.error_code == "DownloadFileTaskFailedError"
    assert not project.files.exists()


def test_lost_or_abandoned_fetches_are_queued_again(project, broker_queue):
    from files.models import FromUrlTask
    from files.uploads import from_url

    old = timezone.now() - timedelta(hours=1)
    lost = FromUrlTask.objects.create(project=project, source_url="http://a.example/x", created_at=old)
    dead = FromUrlTask.objects.create(
        project=project, source_url="http://a.example/y", status="progress", claimed_at=old
    )
    FromUrlTask.objects.create(project=project, source_url="http://a.example/z")  # just made: not lost
    assert from_url.from_url_requeue() == 2
    queued = [token for (token,) in broker_queue.args(from_url.FETCH_TASK)]
    assert sorted(queued) == sorted([str(lost.token), str(dead.token)])


def _upload_of_two_parts():
    """A project and a multipart upload of 10 bytes whose two parts are both there, to complete."""
    from files.models import MultipartUpload

    project = project_create(owner=UserFactory(), name="race")
    upload = MultipartUpload.objects.create(project=project, filename="big.bin", size=10, part_size=5)
    for index in range(2):
        default_storage.save(upload.part_key(index), ContentFile(b"12345"))
    return project, upload


@pytest.mark.django_db(transaction=True)
def test_a_completion_waits_for_one_in_progress_and_then_copies_nothing():
    """The second of two completions waits on the upload's row; once the first has made the file,
    it answers "already uploaded" and writes no bytes of its own."""
    from files import errors
    from files.models import MultipartUpload
    from files.uploads.multipart import multipart_complete

    project, upload = _upload_of_two_parts()
    outcome = []

    def second():
        try:
            multipart_complete(upload=upload)
        except errors.UploadError as exc:
            outcome.append(exc.code)
        finally:
            connection.close()

    with transaction.atomic():  # the first completion, holding the row as it does
        MultipartUpload.objects.select_for_update().get(pk=upload.pk)
        thread = threading.Thread(target=second)
        thread.start()
        wait_until(blocked_on_a_lock)
        file = multipart_complete(upload=upload)
    thread.join()
    assert outcome == ["MultipartFileAlreadyUploadedError"]
    assert set(default_storage.listdir(f"files/{project.pk}")[1]) == {file.storage_key.rsplit("/", 1)[1]}


class _PartRemovedMidRead(ContentFile):
    """A joined multipart body whose next part the racing completion removed while this one read."""

    def chunks(self, chunk_size=None):
        yield b"the first part"
        raise FileNotFoundError("parts/…/1 was removed by the completion that won")


@pytest.mark.django_db
def test_a_losing_completions_failed_write_leaves_the_winners_bytes():
    """A multipart upload's file takes the upload's UUID, so a losing completion writes under the
    winner's key: its failure must not delete what the winner's committed row points at."""
    project = project_create(owner=UserFactory(), name="race")
    winner = services.file_upload(
        project=project, content=ContentFile(b"the whole file", name="big.bin"), filename="big.bin", store=True
    )
    with pytest.raises(FileNotFoundError):
        services._save(default_storage, winner.storage_key, _PartRemovedMidRead(b"", name="big.bin"))
    with default_storage.open(winner.storage_key) as stored:
        assert stored.read() == b"the whole file"


@pytest.mark.django_db(transaction=True)
def test_two_completions_of_one_multipart_upload_make_one_file():
    from files import errors
    from files.uploads.multipart import multipart_complete

    project, upload = _upload_of_two_parts()
    outcomes = []

    def complete():
        try:
            outcomes.append(multipart_complete(upload=upload).uuid)
        except errors.UploadError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert File.objects.filter(project=project).count() == 1
    assert upload.uuid in outcomes
    file = File.objects.get(project=project)
    with default_storage.open(file.storage_key) as stored:
        assert stored.read() == b"1234512345"
    stray = set(default_storage.listdir(f"files/{project.pk}")[1]) - {file.storage_key.rsplit("/", 1)[1]}
    assert not stray  # the losing copy's bytes were deleted


def test_batch_expiry_removes_only_expired_unstored_files_their_blobs_and_previews(project):
    from tests.helpers import png_bytes

    expired = [make_file(project, name=f"{i}.txt", age=timedelta(days=2)) for i in range(4)]
    pictured = make_file(project, name="p.png", body=png_bytes(), age=timedelta(days=2))
    preview = images.rendering_get_or_create(source=pictured, plan=images.parse_preview("10x10"), accepts="")
    young = make_file(project, age=timedelta(hours=1))
    stored = make_file(project, store=True, age=timedelta(days=30))

    assert expiry.file_expire_batch(limit=100) == 5
    for file in [*expired, pictured]:
        file.refresh_from_db()
        assert file.is_removed and not default_storage.exists(file.storage_key)
    assert not default_storage.exists(preview)
    for file in (young, stored):
        file.refresh_from_db()
        assert not file.is_removed and default_storage.exists(file.storage_key)
    events = Event.objects.filter(type="file.deleted")
    assert sorted(e.file_uuid for e in events) == sorted(f.uuid for f in [*expired, pictured])
    assert all(e.initiator == EXPIRED for e in events)
    infos = event_file_infos(list(events))  # read at relay time: expiry's events carry no payload
    assert all(info["datetime_removed"] and info["datetime_stored"] is None for info in infos)


def test_the_expiry_task_takes_batch_after_batch_until_none_is_left(project, settings):
    from files.storage.tasks import expire_temporary_files

    settings.FILEDOCK_EXPIRY_BATCH = 2
    for i in range(5):
        make_file(project, name=f"{i}.txt", age=timedelta(days=2))
    assert expire_temporary_files() == 5
    assert expire_temporary_files() == 0
    assert not File.objects.temporary().exists()


@pytest.mark.django_db(transaction=True)
def test_a_file_being_stored_while_expiry_runs_is_kept():
    """A store holds the row (uncommitted) while expiry runs: expiry skips it, the store wins."""
    project = project_create(owner=UserFactory(), name="race")
    contested = make_file(project, name="keep.txt", age=timedelta(days=2))
    others = [make_file(project, name=f"{i}.txt", age=timedelta(days=2)) for i in range(3)]
    storing, expired = threading.Event(), threading.Event()

    def store_slowly():
        from django.db import transaction

        with transaction.atomic():
            services.file_store(file=File.objects.get(pk=contested.pk))
            storing.set()
            expired.wait(10)  # commit only after expiry has run
        connection.close()

    thread = threading.Thread(target=store_slowly)
    thread.start()
    assert storing.wait(10)
    assert expiry.file_expire_batch(limit=100) == 3
    expired.set()
    thread.join()
    contested.refresh_from_db()
    assert contested.is_stored and not contested.is_removed and default_storage.exists(contested.storage_key)
    assert all(File.objects.get(pk=f.pk).is_removed for f in others)
    assert not Event.objects.filter(file_uuid=contested.uuid, type="file.deleted").exists()
