"""REST v0.7 file metadata: read all keys, and read, set or delete one key."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from files.errors import UploadError
from files.initiators import api_initiator
from files.rest.base import ProjectAPIView
from files.rest.common import BadRequest, FileRemoved, json_body, live_file, project_file
from files.rest.docs import errors
from files.rest.shapes import METADATA, METADATA_VALUE
from files.services import METADATA_KEY, FileRemovedError, file_metadata_delete, file_metadata_set


def checked_key(key: str) -> str:
    if not METADATA_KEY.fullmatch(key):  # fullmatch: `$` alone lets "key\n" through
        raise BadRequest("A metadata key is 1 to 64 characters of A-Z, a-z, 0-9, _, -, . and :.")
    return key


class MetadataList(ProjectAPIView):
    @extend_schema(
        operation_id="files_metadata_list", summary="A file's metadata", responses={200: METADATA, **errors(404)}
    )
    def get(self, request, file_id):
        return Response(project_file(self.project, file_id).metadata)


class MetadataKey(ProjectAPIView):
    @extend_schema(summary="One metadata value", responses={200: METADATA_VALUE, **errors(400, 404)})
    def get(self, request, file_id, key):
        file = project_file(self.project, file_id)
        if checked_key(key) not in file.metadata:
            raise NotFound()
        return Response(file.metadata[key])

    @extend_schema(
        summary="Set one metadata value",
        request={"application/json": METADATA_VALUE},
        responses={200: METADATA_VALUE, **errors(400, 404)},
    )
    def put(self, request, file_id, key):
        file = live_file(self.project, file_id)
        value = json_body(request)
        if not isinstance(value, str):
            raise BadRequest("The body must be the value as a JSON string.")
        try:
            file = file_metadata_set(file=file, key=checked_key(key), value=value, initiator=api_initiator("rest_api"))
        except UploadError as exc:  # empty or too long a value, too many keys
            raise BadRequest(exc.message) from None
        except FileRemovedError:  # deleted between the lookup and the write
            raise FileRemoved() from None
        return Response(file.metadata[key])

    @extend_schema(summary="Delete one metadata key", responses={204: None, **errors(400, 404)})
    def delete(self, request, file_id, key):
        file = live_file(self.project, file_id)
        if checked_key(key) not in file.metadata:
            raise NotFound()
        try:
            file_metadata_delete(file=file, key=key, initiator=api_initiator("rest_api"))
        except FileRemovedError:
            raise FileRemoved() from None
        return Response(status=204)
