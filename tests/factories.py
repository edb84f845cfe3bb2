import uuid as uuid_lib

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from accounts.models import User

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        user.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)


# Rows made through the services, as the product makes them (events, audit, checks included).


def make_file(project, name: str = "a.txt", data: bytes = b"hello", store: bool = True, uploaded_at=None, **kwargs):
    """A file uploaded through files.services.file_upload (`kwargs`: metadata, tags, …), dated
    `uploaded_at` when given."""
    from django.core.files.base import ContentFile

    from files.models import File
    from files.services import file_upload

    file = file_upload(project=project, content=ContentFile(data, name=name), filename=name, store=store, **kwargs)
    if uploaded_at is not None:
        File.objects.filter(pk=file.pk).update(datetime_uploaded=uploaded_at)
        file.refresh_from_db()
    return file


def make_key(project, label: str = "key", **kwargs):
    """A secret key through projects.services.secret_key_create (`kwargs`: scopes, expires_at,
    created_by): (the key, its plain secret)."""
    from projects.services import secret_key_create

    return secret_key_create(project=project, label=label, **kwargs)


def make_webhook(project, target_url: str = "https://hooks.example.com/a", event: str = "file.uploaded", **kwargs):
    """A webhook subscription through projects.webhooks.services.webhook_create."""
    from projects.webhooks.services import webhook_create

    return webhook_create(project=project, target_url=target_url, event=event, **kwargs)


def make_bucket(project, endpoint: str, bucket: str, purpose: str = "backup", prefix: str = ""):
    """A bucket on moto_server at `endpoint` connected through files.storage.buckets.bucket_connect
    (which tests it, as the dashboard does)."""
    from files.storage.buckets import bucket_connect
    from tests.helpers import S3_KEY, S3_REGION, S3_SECRET

    return bucket_connect(
        project=project,
        purpose=purpose,
        provider="custom",
        endpoint_url=endpoint,
        region=S3_REGION,
        bucket=bucket,
        access_key=S3_KEY,
        secret_key=S3_SECRET,
        prefix=prefix,
    )


# Billing: plans with the quotas a test names, and bare file rows for usage arithmetic.


def make_plan(slug: str, price_cents: int = 0, **quotas):
    from billing.models import Plan

    fields = dict.fromkeys(
        ("stored_bytes", "file_count", "max_file_size", "uploads", "api_calls", "webhook_deliveries", "traffic_bytes")
    )
    fields.update(quotas)
    return Plan.objects.create(name=slug.title(), slug=slug, price_cents=price_cents, **fields)


def add_file(project, size: int, removed: bool = False, uploaded=None):
    """A File row of `size` bytes with no bytes behind it: usage and quota arithmetic only."""
    from django.utils import timezone

    from files.models import File

    now = timezone.now()
    return File.objects.create(
        project=project,
        original_filename="f.bin",
        size=size,
        storage_key=f"test/{uuid_lib.uuid4()}",
        datetime_uploaded=uploaded or now,
        datetime_stored=now,
        datetime_removed=now if removed else None,
    )
