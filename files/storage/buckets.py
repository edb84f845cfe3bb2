"""A project's S3-compatible buckets: connecting, testing and disconnecting them.

A connection is either a backup target (every stored file is copied there) or the project's
custom storage (new uploads are written there). Connections are never edited in place.
"""

import logging
import uuid as uuid_lib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record, audit_url
from core import kept
from core.fetch import check_url
from files.models import BucketConnection, FileBackup
from files.storage.backends import describe_error, s3_client
from files.storage.backups import backfill_start

log = logging.getLogger(__name__)

# Presets fill in what the customer left empty. Selectel: the S3 API domain of pool ru-1,
# https://s3.storage.selcloud.ru with region ru-1 (docs.selectel.ru, "Object Storage: domains").
AWS_DEFAULT_REGION = "us-east-1"
SELECTEL_ENDPOINT = "https://s3.storage.selcloud.ru"
SELECTEL_REGION = "ru-1"
PROBE_BODY = b"Filedock connection test: safe to delete.\n"


class BucketError(Exception):
    """The bucket cannot be connected (another one is connected, or the test failed)."""


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str


def aws_endpoint(region: str) -> str:
    return f"https://s3.{region}.amazonaws.com"


def bucket_settings_complete(*, provider: str, endpoint_url: str, region: str) -> tuple[str, str]:
    """(endpoint_url, region) with the provider's preset filling in what was left empty."""
    if provider == BucketConnection.Provider.AWS:
        region = region or AWS_DEFAULT_REGION
        return endpoint_url or aws_endpoint(region), region
    if provider == BucketConnection.Provider.SELECTEL:
        return endpoint_url or SELECTEL_ENDPOINT, region or SELECTEL_REGION
    return endpoint_url, region


def bucket_test(*, target: BucketConnection) -> TestResult:
    """Writes, reads back and deletes a probe object. Never raises; the message never holds the secret."""
    try:
        if target.endpoint_url:
            check_url(target.endpoint_url)
        client = s3_client(target, cached=not target._state.adding)
        key = f"{target.prefix}.filedock-probe-{uuid_lib.uuid4().hex}"
        client.put_object(Bucket=target.bucket, Key=key, Body=PROBE_BODY)
        body = client.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        client.delete_object(Bucket=target.bucket, Key=key)
        if body != PROBE_BODY:
            return TestResult(False, "The probe object read back differs from what was written.")
    except Exception as exc:  # any failure is the answer to the test, never a 500
        return TestResult(False, describe_error(exc, target))
    return TestResult(True, f"Wrote, read back and deleted a probe object in “{target.bucket}”.")


def _unsaved(
    *,
    project,
    purpose: str,
    provider: str,
    endpoint_url: str,
    region: str,
    bucket: str,
    access_key: str,
    secret_key: str,
    prefix: str,
) -> BucketConnection:
    endpoint_url, region = bucket_settings_complete(provider=provider, endpoint_url=endpoint_url, region=region)
    return BucketConnection(
        project=project,
        purpose=purpose,
        provider=provider,
        endpoint_url=endpoint_url,
        region=region,
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        prefix=prefix,
    )


def bucket_probe(*, project, **fields) -> TestResult:
    """Tests a bucket before it is connected (same fields as bucket_connect); writes nothing here."""
    return bucket_test(target=_unsaved(project=project, **fields))


def bucket_connect(
    *,
    project,
    purpose: str,
    provider: str,
    endpoint_url: str,
    region: str,
    bucket: str,
    access_key: str,
    secret_key: str,
    prefix: str,
) -> BucketConnection:
    """Tests the bucket, then saves the connection. A backup connection starts the backfill.

    Raises BucketError if the test fails or the project already has a bucket for this purpose.
    """
    target = _unsaved(
        project=project,
        purpose=purpose,
        provider=provider,
        endpoint_url=endpoint_url,
        region=region,
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        prefix=prefix,
    )
    if active_bucket(project=project, purpose=purpose) is not None:
        raise BucketError("This project already has a connected bucket for that; disconnect it first.")
    result = bucket_test(target=target)
    if not result.ok:
        raise BucketError(result.message)
    target.tested_at, target.test_ok, target.test_message = timezone.now(), True, result.message
    try:
        with transaction.atomic():
            target.save()
            if purpose == BucketConnection.Purpose.BACKUP:
                backfill_start(target=target)
    except IntegrityError:
        raise BucketError("This project already has a connected bucket for that; disconnect it first.") from None
    log.info("bucket connected: project=%s purpose=%s bucket=%s", project.pk, purpose, bucket)
    audit_record(action=f"{purpose}.connected", project=project, details=_bucket_audit(target))
    kept.changed(project.public_key)  # uploads read the project's storage again
    return target


def bucket_retest(*, target: BucketConnection) -> TestResult:
    """Tests a connected bucket again and records the result on it."""
    result = bucket_test(target=target)
    BucketConnection.objects.filter(pk=target.pk).update(
        tested_at=timezone.now(), test_ok=result.ok, test_message=result.message
    )
    return result


def bucket_disconnect(*, target: BucketConnection) -> BucketConnection:
    """Stops using the bucket; nothing in it is deleted. Backups not yet copied are cancelled.

    Files already in a custom storage bucket keep living (and being served) there. Safe to repeat.
    """
    with transaction.atomic():
        if BucketConnection.objects.filter(pk=target.pk, disconnected_at__isnull=True).update(
            disconnected_at=timezone.now()
        ):  # 0 rows: already disconnected, nothing new to record
            audit_record(action=f"{target.purpose}.disconnected", project=target.project, details=_bucket_audit(target))
            kept.changed(target.project.public_key)  # uploads read the project's storage again
        # A copy already running finishes; everything still waiting is called off.
        FileBackup.objects.filter(
            target=target, status__in=[FileBackup.Status.PENDING, FileBackup.Status.FAILED]
        ).update(status=FileBackup.Status.CANCELLED, next_attempt_at=None)
    target.refresh_from_db()
    return target


def _bucket_audit(target: BucketConnection) -> dict:
    # Never the access or secret key.
    return {
        "connection_id": str(target.pk),
        "provider": target.provider,
        "endpoint": audit_url(target.endpoint_url or ""),
        "bucket": target.bucket,
        "prefix": target.prefix,
    }


def active_bucket(*, project, purpose: str) -> BucketConnection | None:
    return BucketConnection.objects.filter(project=project, purpose=purpose, disconnected_at__isnull=True).first()
