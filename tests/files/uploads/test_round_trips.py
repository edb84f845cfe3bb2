"""An upload's Redis work beyond its rate limit (the relay's wake-up, its count where no quota
reads it at once, its API log line) goes in one round trip as the request ends."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import metering
from billing.models import UsageDay
from files.models import File
from files.outbox.relay import wake_mark
from projects.apilogs import PENDING as LOG_PENDING

# The count and the wake-up follow the upload's commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _upload(client, project):
    form = {"UPLOADCARE_PUB_KEY": project.public_key, "file": SimpleUploadedFile("a.txt", b"hello")}
    return client.post("/upload/base/", form)


def _uploads_counted(project) -> int:
    return UsageDay.objects.filter(project=project).values_list("uploads", flat=True).first() or 0


def _pending_uploads(project) -> int:
    hash_key, field = metering.pending_slot(project_id=project.pk, counter="uploads")
    return int(metering.redis_client().hget(hash_key, field) or 0)


def test_without_quotas_an_upload_makes_two_redis_round_trips_and_its_count_waits(
    client, team, settings, production_cache, redis_round_trips
):
    settings.FILEDOCK_QUOTAS_ENFORCED = False
    _upload(client, team.project)  # keeps the project (core.kept)
    redis_round_trips.clear()
    response = _upload(client, team.project)
    assert response.status_code == 200
    # the rate limit's script, then one pipeline: the wake-up's mark, the count, the log line
    assert redis_round_trips == ["execute_command", "execute"]
    redis_client = metering.redis_client()
    assert redis_client.exists(wake_mark())
    lines = [json.loads(line) for line in redis_client.lrange(metering.redis_key(LOG_PENDING, ""), 0, -1)]
    assert [line["u"] for line in lines] == ["/upload/base/", "/upload/base/"]
    assert _pending_uploads(team.project) == 2 and _uploads_counted(team.project) == 0
    metering.usage_flush()
    assert _uploads_counted(team.project) == 2 and _pending_uploads(team.project) == 0


def test_with_quotas_an_upload_is_counted_at_once(client, team, settings):
    settings.FILEDOCK_QUOTAS_ENFORCED = True
    assert _upload(client, team.project).status_code == 200
    assert _uploads_counted(team.project) == 1 and _pending_uploads(team.project) == 0


def test_with_redis_away_an_upload_is_answered_and_counted_in_the_database(client, team, settings):
    settings.FILEDOCK_QUOTAS_ENFORCED = False
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = _upload(client, team.project)
    assert response.status_code == 200
    assert File.objects.filter(uuid=response.json()["file"]).exists()
    assert _uploads_counted(team.project) == 1
