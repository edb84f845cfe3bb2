"""Project deletion through a real Celery worker consuming from Redis."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from files.models import File
from projects import services, tasks
from projects.models import Project
from tests.factories import UserFactory
from tests.helpers import wait_until


@pytest.mark.celery_worker
def test_deleting_a_project_purges_it_in_the_worker(celery_worker):
    project = services.project_create(owner=UserFactory(), name="doomed")
    key = default_storage.save(f"{project.pk}/f.bin", ContentFile(b"x" * 100))
    File.objects.create(project=project, original_filename="f.bin", size=100, storage_key=key)

    services.project_delete(project=project)

    assert wait_until(lambda: Project.objects.filter(pk=project.pk, purged_at__isnull=False).exists())
    assert not default_storage.exists(key)


def test_sweep_purges_projects_whose_task_was_lost(db):
    project = services.project_create(owner=UserFactory(), name="lost")
    Project.objects.filter(pk=project.pk).update(deleted_at=project.created_at)  # deleted, no task queued
    assert tasks.purge_deleted_projects() == 1
    assert Project.objects.get(pk=project.pk).purged_at is not None
    assert tasks.purge_deleted_projects() == 0
