"""core.jobs.JobRows: the one claim / lease / later / finish / sweep of row-kept jobs (add-on runs
and conversions use it), checked on add-on runs."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from core.jobs import JobRows
from files.models import AddonRun
from files.services import file_upload
from projects.services import project_create
from tests.factories import UserFactory

Status = AddonRun.Status
JOBS = JobRows("tests.job", AddonRun, Status.WAITING, Status.IN_PROGRESS, lease=timedelta(minutes=5),
               grace=timedelta(seconds=30))  # fmt: skip


@pytest.fixture
def run(db):
    project = project_create(owner=UserFactory(), name="jobs")
    file = file_upload(project=project, content=ContentFile(b"x", name="a.txt"), filename="a.txt", store=True)
    return AddonRun.objects.create(project=project, file=file, addon="uc_clamav_virus_scan")


def test_take_claims_once_counts_the_attempt_and_sets_the_lease(run):
    assert JOBS.take(run.pk)
    assert not JOBS.take(run.pk)  # held: the lease has not run out
    run.refresh_from_db()
    assert run.status == Status.IN_PROGRESS and run.attempts == 1
    assert timedelta(minutes=4) < run.next_attempt_at - timezone.now() <= timedelta(minutes=5)


def test_a_lease_that_ran_out_lets_another_worker_take_the_job(run):
    assert JOBS.take(run.pk)
    AddonRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert JOBS.take(run.pk)
    run.refresh_from_db()
    assert run.attempts == 2


def test_later_puts_the_job_back_and_queues_it_for_then(run, broker_queue, django_capture_on_commit_callbacks):
    assert JOBS.take(run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert JOBS.later(run.pk, 60, error="tool away")
    run.refresh_from_db()
    assert (run.status, run.error) == (Status.WAITING, "tool away")
    assert not JOBS.take(run.pk)  # not due for a minute
    assert broker_queue.args("tests.job") == [[str(run.pk)]]


def test_finish_only_while_held(run):
    assert not JOBS.finish(run.pk, Status.DONE)  # nobody holds it
    assert JOBS.take(run.pk)
    assert JOBS.finish(run.pk, Status.DONE, finished_at=timezone.now())
    assert not JOBS.take(run.pk)


def test_sweep_sends_lost_and_abandoned_jobs_not_new_or_held_ones(run, broker_queue):
    old = timezone.now() - timedelta(minutes=1)
    AddonRun.objects.filter(pk=run.pk).update(next_attempt_at=old)  # lost: waiting past the grace
    abandoned = AddonRun.objects.create(
        project=run.project, file=run.file, addon="x", status=Status.IN_PROGRESS, attempts=1, next_attempt_at=old
    )
    AddonRun.objects.create(project=run.project, file=run.file, addon="new")  # its message is on its way
    AddonRun.objects.create(
        project=run.project, file=run.file, addon="held", status=Status.IN_PROGRESS,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )  # fmt: skip
    assert JOBS.sweep(limit=10) == 2
    assert sorted(broker_queue.args("tests.job")) == sorted([[str(run.pk)], [str(abandoned.pk)]])
