from datetime import timedelta

import pytest
from django.db.models import QuerySet

from billing import metering, tasks
from billing.models import UsageDay
from billing.periods import today
from projects.services import project_create, project_delete
from tests.billing.conftest import add_file
from tests.factories import UserFactory


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


def test_a_row_created_by_a_racing_request_is_added_to(project, monkeypatch):
    UsageDay.objects.create(project=project, day=today(), uploads=7)
    original = QuerySet.update
    calls = []

    def first_update_misses(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return 0  # as if the row did not exist yet when this request looked
        return original(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", first_update_misses)
    metering.usage_add(project_id=project.pk, uploads=2)

    assert len(calls) == 2  # UPDATE (missed), INSERT (conflict), UPDATE again
    assert UsageDay.objects.get(project=project).uploads == 9


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
