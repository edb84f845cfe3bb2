import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from billing import metering, tasks
from billing.models import UsageDay
from billing.periods import today
from projects.services import project_create, project_delete
from tests.factories import UserFactory, add_file
from tests.helpers import blocked_on_a_lock, wait_until


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="Metered")


def test_first_operation_of_the_day_creates_the_row_and_later_ones_add_to_it(project):
    metering.usage_add(project_id=project.pk, uploads=1, traffic_bytes=500)
    metering.usage_add(project_id=project.pk, uploads=2, api_calls=3, webhook_deliveries=1)
    metering.usage_add(project_id=project.pk, api_calls=1)

    row = UsageDay.objects.get(project=project)
    assert row.day == today()
    assert (row.uploads, row.api_calls, row.webhook_deliveries, row.traffic_bytes) == (3, 4, 1, 500)


def test_counting_on_an_existing_row_is_one_update(project, django_assert_num_queries):
    metering.usage_add(project_id=project.pk, api_calls=1)
    with django_assert_num_queries(1):
        metering.usage_add(project_id=project.pk, api_calls=1)
    assert UsageDay.objects.get(project=project).api_calls == 2


def test_nothing_to_add_writes_nothing(project, django_assert_num_queries):
    with django_assert_num_queries(0):
        metering.usage_add(project_id=project.pk)
    assert not UsageDay.objects.exists()


def test_each_day_gets_its_own_row(project):
    yesterday = today() - timedelta(days=1)
    metering.usage_add(project_id=project.pk, uploads=1, day=yesterday)
    metering.usage_add(project_id=project.pk, uploads=5)
    assert dict(UsageDay.objects.values_list("day", "uploads")) == {yesterday: 1, today(): 5}


@pytest.mark.django_db(transaction=True)
def test_a_row_created_by_a_racing_request_is_added_to(project):
    """Staged: another request has inserted the day's row but not committed when this one's
    UPDATE finds nothing; this one's INSERT waits on the unique index, fails once the other
    commits, and adds to the row instead."""
    inserted = threading.Event()

    def other_request():
        try:
            with transaction.atomic():
                UsageDay.objects.create(project=project, day=today(), uploads=7)
                inserted.set()
                assert wait_until(blocked_on_a_lock), "usage_add never waited on the unique index"
        finally:
            connection.close()

    racer = threading.Thread(target=other_request)
    racer.start()
    assert inserted.wait(10)
    with transaction.atomic():  # usage_add inside a request's transaction: UPDATE, then INSERT
        metering.usage_add(project_id=project.pk, uploads=2)
    racer.join(10)
    assert list(UsageDay.objects.filter(project=project).values_list("uploads", flat=True)) == [9]


def test_sampling_records_present_bytes_and_files_and_is_idempotent(project):
    add_file(project, 100)
    add_file(project, 250)
    add_file(project, 9999, removed=True)
    metering.usage_add(project_id=project.pk, uploads=3)

    metering.usage_sample(project_ids=[project.pk])
    metering.usage_sample(project_ids=[str(project.pk)])

    row = UsageDay.objects.get(project=project)
    assert (row.stored_bytes, row.file_count) == (350, 2)
    assert row.uploads == 3  # the counters are not touched by sampling
    assert row.sampled_at is not None


def test_sampling_again_the_same_day_overwrites_the_sample(project):
    add_file(project, 100)
    metering.usage_sample(project_ids=[project.pk])
    add_file(project, 50)
    metering.usage_sample(project_ids=[project.pk])
    assert UsageDay.objects.filter(project=project).count() == 1
    assert UsageDay.objects.get(project=project).stored_bytes == 150


def test_the_daily_task_samples_every_live_project_in_batches(db):
    owner = UserFactory()
    first, second, gone = (project_create(owner=owner, name=n) for n in ("A", "B", "Gone"))
    add_file(first, 10)
    add_file(second, 20)
    add_file(second, 30)
    project_delete(project=gone)

    assert metering.usage_sample_all(batch=1) == 2
    assert tasks.sample_usage() == 2  # running it twice changes nothing

    samples = {row.project_id: (row.stored_bytes, row.file_count) for row in UsageDay.objects.all()}
    assert samples == {first.pk: (10, 1), second.pk: (50, 2)}


# Outside a transaction (after a commit, per download, per API call) PostgreSQL takes one upsert.


@pytest.mark.django_db(transaction=True)
def test_counting_outside_a_transaction_is_one_statement_and_adds_up(django_assert_num_queries):
    project = project_create(owner=UserFactory(), name="Alone")
    with django_assert_num_queries(1):
        metering.usage_add(project_id=project.pk, uploads=1, traffic_bytes=500)
    with django_assert_num_queries(1):
        metering.usage_add(project_id=project.pk, uploads=2, api_calls=3, webhook_deliveries=1)
    row = UsageDay.objects.get(project=project)
    assert (row.uploads, row.api_calls, row.webhook_deliveries, row.traffic_bytes) == (3, 3, 1, 500)
    assert (row.stored_bytes, row.file_count, row.sampled_at) == (0, 0, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_outside_a_transaction_are_all_kept():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    project = project_create(owner=UserFactory(), name="Busy")

    def count(_):
        try:
            for _ in range(25):
                metering.usage_add(project_id=project.pk, api_calls=1, traffic_bytes=10)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(count, range(8)))
    row = UsageDay.objects.get(project=project)
    assert (row.api_calls, row.traffic_bytes) == (200, 2000)


@pytest.mark.django_db(transaction=True)
def test_the_no_wait_commit_lasts_for_the_count_only():
    from django.db import connection

    project = project_create(owner=UserFactory(), name="Quick")
    with connection.cursor() as cursor:
        # ADD_SQL's FROM, read back: within the count's own statement commits do not wait.
        assert metering.NO_WAIT in metering.ADD_SQL
        cursor.execute(f"SELECT current_setting('synchronous_commit') FROM {metering.NO_WAIT}")
        assert cursor.fetchone()[0] == "off"
        metering.usage_add(project_id=project.pk, api_calls=1)
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # and nothing after it: the session's other commits stay durable
    assert UsageDay.objects.get(project=project).api_calls == 1


@pytest.mark.django_db(transaction=True)
def test_counting_for_a_project_that_is_gone_writes_nothing_and_raises_nothing():
    import uuid

    metering.usage_add(project_id=uuid.uuid4(), uploads=1)
    assert not UsageDay.objects.exists()


# Traffic: counted in Redis, written in batches


def _traffic(project) -> int:
    return UsageDay.objects.filter(project=project).values_list("traffic_bytes", flat=True).first() or 0


def test_traffic_is_counted_in_redis_and_written_by_the_flush(project):
    for _ in range(5):
        metering.traffic_add(project_id=project.pk, sent=100)
    assert _traffic(project) == 0  # no database write per send
    assert tasks.flush_usage() == 1
    assert _traffic(project) == 500
    assert tasks.flush_usage() == 0  # nothing waiting: nothing added twice
    assert _traffic(project) == 500


def test_a_batch_applied_before_a_crash_is_not_applied_again(project):
    client = metering.redis_client()
    metering.traffic_add(project_id=project.pk, sent=700)
    # A flush that committed its batch and died before deleting it from Redis: the batch is left
    # under its flushing name, and its UsageFlush row is in the database.
    pending = metering.redis_key(metering.PENDING, today().isoformat())
    batch = metering.redis_key(metering.FLUSHING, f"{today().isoformat()}:crashed")
    client.rename(pending, batch)
    metering._apply(client, batch)
    client.hset(batch, str(project.pk), 700)  # as if the delete never happened
    assert metering.usage_flush() == 0
    assert _traffic(project) == 700
    assert not client.exists(batch)


def test_a_batch_renamed_before_a_crash_is_applied_by_the_next_flush(project):
    client = metering.redis_client()
    metering.traffic_add(project_id=project.pk, sent=300)
    pending = metering.redis_key(metering.PENDING, today().isoformat())
    client.rename(pending, metering.redis_key(metering.FLUSHING, f"{today().isoformat()}:renamed-then-died"))
    metering.traffic_add(project_id=project.pk, sent=20)  # a send after the rename starts a new hash
    assert metering.usage_flush() == 2
    assert _traffic(project) == 320


@pytest.mark.django_db(transaction=True)
def test_traffic_survives_the_serving_process_dying_before_any_flush():
    import subprocess
    import sys

    from django.db import connection

    project = project_create(owner=UserFactory(), name="Restarted")
    # A web process counts and is killed (os._exit: no clean-up) before the worker flushes.
    code = (
        "import os, django; django.setup(); from billing import metering; "
        f"[metering.traffic_add(project_id='{project.pk}', sent=250) for _ in range(4)]; os._exit(9)"
    )
    env = {**__import__("os").environ, "DATABASE_URL": _database_url(connection)}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 9
    assert metering.usage_flush() == 1
    assert _traffic(project) == 1000


def test_traffic_goes_to_the_database_without_redis(project, settings):
    settings.REDIS_URL = ""
    metering.traffic_add(project_id=project.pk, sent=42)
    assert _traffic(project) == 42


def _database_url(connection) -> str:
    values = connection.settings_dict
    return f"postgres://{values['USER']}@{values['HOST'] or '127.0.0.1'}:{values['PORT'] or 5432}/{values['NAME']}"
