"""Schemathesis against the published OpenAPI description (/api/schema/): every REST operation, called
in-process through the WSGI app with a valid key pair, answers without a server error and as documented
(status code, content type, body schema). Path parameters hit seeded files, groups and webhooks often."""

import zlib

import pytest
import schemathesis
from django.core import signals
from django.core.files.base import ContentFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from files.services import file_delete, file_upload
from files.uploads.groups import group_create
from projects.webhooks import services as webhook_services
from tests.helpers import ACCEPT, png_bytes

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 30

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The REST API is also answered at the root for @uploadcare/rest-client: the same views twice.
schema = schema.include(path_regex="^/api/")

# Ids of the seeded objects by path parameter name, refilled by the `seeded` fixture for every test.
SEEDS: dict[str, list] = {}


@schema.hook
def map_path_parameters(context, path_parameters):
    """Two generated ids out of three are swapped for a seeded one; which, depends on the generated value only."""
    mapped = dict(path_parameters or {})
    for name, value in mapped.items():
        choices = SEEDS.get(name)
        if choices:
            pick = zlib.crc32(repr(value).encode()) % (len(choices) + 1)
            mapped[name] = choices[pick - 1] if pick else value
    return mapped


@schema.hook
def map_body(context, body):
    """Half the local copies name a seeded file, so copies are made too, not only refused."""
    if isinstance(body, dict) and isinstance(body.get("source"), str) and SEEDS.get("file_id"):
        choices = SEEDS["file_id"]
        pick = zlib.crc32(body["source"].encode()) % (2 * len(choices))
        if pick < len(choices):
            return {**body, "source": choices[pick]}
    return body


@pytest.fixture
def seeded(team):
    """An image, a text file with metadata, a removed file, a group of all three and a webhook."""
    project = team.project
    image = file_upload(project=project, content=ContentFile(png_bytes(), name="a.png"), filename="a.png", store=True)
    text = file_upload(
        project=project,
        content=ContentFile(b"hello", name="a.txt"),
        filename="a.txt",
        store=False,
        metadata={"k": "v", "subsystem": "x"},
    )
    removed = file_upload(project=project, content=ContentFile(b"gone", name="b.txt"), filename="b.txt", store=True)
    group = group_create(project=project, refs=[str(image.uuid), f"{text.uuid}/-/resize/10x/", str(removed.uuid)])
    file_delete(file=removed)
    webhook = webhook_services.webhook_create(
        project=project, target_url="https://hooks.example.com/", event="file.stored"
    )
    SEEDS.clear()
    SEEDS.update(
        file_id=[str(image.uuid), str(text.uuid), str(removed.uuid)],
        group_id=[group.id],
        webhook_id=[webhook.pk],
        key=["k", "subsystem"],
    )
    yield project
    SEEDS.clear()


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI handler inside the test's transaction: like Django's test client,
    keep the request signals from closing that transaction's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
def test_rest_operation_conforms(case, seeded, in_process_requests):
    project = seeded
    auth = f"Uploadcare.Simple {project.public_key}:{project.secret_keys.get().secret}"
    case.call_and_validate(headers={"Authorization": auth, "Accept": ACCEPT}, checks=CHECKS)
