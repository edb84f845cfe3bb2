"""Expiry and a project's purge delete bytes from S3 (the default storage on moto_server), not
only from local disk."""

from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from files.models import File
from files.storage import expiry
from projects.services import project_delete, project_purge
from tests.factories import make_file


def keys_in(s3_storage) -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_storage["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    listing = client.list_objects_v2(Bucket=s3_storage["bucket"])
    return {item["Key"] for item in listing.get("Contents", [])}


def upload(project, name, *, store=False, age=timedelta(0)) -> File:
    return make_file(
        project, name=name, data=b"bytes of " + name.encode(), store=store, uploaded_at=timezone.now() - age
    )


@pytest.mark.parametrize("run", ["batch", "run"])
def test_expiry_deletes_expired_bytes_from_the_bucket(team, s3_storage, run):
    expired = [upload(team.project, f"old{n}.txt", age=timedelta(days=2)) for n in range(3)]
    young = upload(team.project, "young.txt", age=timedelta(hours=1))
    stored = upload(team.project, "kept.txt", store=True, age=timedelta(days=30))
    assert keys_in(s3_storage) == {file.storage_key for file in [*expired, young, stored]}

    if run == "batch":
        assert expiry.file_expire_batch() == 3
    else:
        assert expiry.expire_run(limit=2, seconds=30) == 3  # two batches, bytes deleted in the second thread

    assert keys_in(s3_storage) == {young.storage_key, stored.storage_key}
    assert set(File.objects.filter(datetime_removed__isnull=False).values_list("pk", flat=True)) == {
        file.pk for file in expired
    }


def test_purging_a_deleted_project_deletes_its_bytes_from_the_bucket(team, s3_storage, settings):
    settings.PROJECT_PURGE_BATCH = 2  # several batches
    other_project = team.outsider.memberships.get().project
    gone = [upload(team.project, f"gone{n}.txt", store=n % 2 == 0) for n in range(5)]
    kept = upload(other_project, "kept.txt", store=True)
    assert keys_in(s3_storage) == {file.storage_key for file in [*gone, kept]}

    project_delete(project=team.project)
    assert project_purge(project_id=team.project.pk)

    assert keys_in(s3_storage) == {kept.storage_key}
    assert list(File.objects.values_list("pk", flat=True)) == [kept.pk]
