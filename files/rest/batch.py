"""REST v0.7 batch store and delete: `PUT|DELETE files/storage/` with a JSON list of UUIDs."""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from files.info import rest_file_info
from files.initiators import api_initiator
from files.models import File
from files.rest.base import ProjectAPIView
from files.rest.common import BadRequest, json_body
from files.rest.docs import DeleteWithBody, errors
from files.rest.shapes import BATCH_BODY, BatchResultSerializer
from files.services import FileRemovedError, file_delete, file_store

MAX_BATCH = 100
INVALID = "Invalid"
MISSING = "Missing in the project"
REMOVED = "File is removed"


def batch_files(request, project) -> tuple[dict[str, File], dict[str, str]]:
    """The project's files named in the body (by the id as sent, in order), and a reason for every other id."""
    ids = json_body(request)
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise BadRequest("Expected a JSON list of file UUIDs.")
    if len(ids) > MAX_BATCH:
        raise BadRequest(f"Up to {MAX_BATCH} files can be processed in one request.")
    problems, wanted = {}, {}
    for raw in ids:
        try:
            wanted.setdefault(uuid.UUID(raw), raw)  # one file, however often or however spelled
        except ValueError:
            problems[raw] = INVALID
    found = {file.uuid: file for file in File.objects.filter(project=project, uuid__in=wanted)}
    problems.update({raw: MISSING for file_uuid, raw in wanted.items() if file_uuid not in found})
    return {raw: found[file_uuid] for file_uuid, raw in wanted.items() if file_uuid in found}, problems


def batch_response(request, done: list[File], problems: dict) -> Response:
    return Response({"status": "ok", "problems": problems, "result": [rest_file_info(f, request) for f in done]})


BATCH_SCHEMA = {"request": {"application/json": BATCH_BODY}, "responses": {200: BatchResultSerializer, **errors(400)}}


class BatchStorage(ProjectAPIView):
    schema = DeleteWithBody()

    @extend_schema(operation_id="files_storage_batch_update", summary="Store up to 100 files", **BATCH_SCHEMA)
    def put(self, request):
        files, problems = batch_files(request, self.project)
        initiator = api_initiator("rest_api")
        done = []
        for raw, file in files.items():
            try:
                done.append(file_store(file=file, initiator=initiator))
            except FileRemovedError:
                problems[raw] = REMOVED
        return batch_response(request, done, problems)

    @extend_schema(operation_id="files_storage_batch_destroy", summary="Delete up to 100 files", **BATCH_SCHEMA)
    def delete(self, request):
        files, problems = batch_files(request, self.project)
        initiator = api_initiator("rest_api")
        return batch_response(
            request, [file_delete(file=file, initiator=initiator) for file in files.values()], problems
        )
