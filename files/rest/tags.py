"""REST v0.7 file tags: read them, replace them (PUT), or add and remove some in one call (PATCH)."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from files.initiators import api_initiator
from files.rest.base import ProjectAPIView
from files.rest.common import FileRemoved, json_body, live_file
from files.rest.docs import errors
from files.rest.shapes import TAGS, TAGS_CHANGE, TAGS_CHANGED, TAGS_REPLACE
from files.services import FileRemovedError
from files.tags import TagError, file_tags, file_tags_replace, file_tags_update


def tag_list(data: dict, name: str, *, required: bool) -> list | None:
    """`name` of the body, which must be a list when present (normalised by files.tags)."""
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError({name: ["This field is required."]})
        return None
    if not isinstance(value, list):
        raise ValidationError({name: ["Must be a list of strings."]})
    return value


def body_object(request) -> dict:
    data = json_body(request)
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
    return data


class FileTags(ProjectAPIView):
    @extend_schema(summary="A file's tags", responses={200: TAGS, **errors(404)})
    def get(self, request, file_id):
        # A removed file's tags are a 404 too, as Uploadcare documents for every tag endpoint.
        return Response({"tags": file_tags(live_file(self.project, file_id))})

    @extend_schema(
        summary="Replace a file's tags",
        request={"application/json": TAGS_REPLACE},
        responses={200: TAGS_CHANGED, **errors(400, 404)},
    )
    def put(self, request, file_id):
        file = live_file(self.project, file_id)
        tags = tag_list(body_object(request), "tags", required=True)
        return self.change(lambda: file_tags_replace(file=file, tags=tags, initiator=api_initiator("rest_api")))

    @extend_schema(
        summary="Add and remove tags in one call (removals first)",
        request={"application/json": TAGS_CHANGE},
        responses={200: TAGS_CHANGED, **errors(400, 404)},
    )
    def patch(self, request, file_id):
        file = live_file(self.project, file_id)
        data = body_object(request)
        add, delete = tag_list(data, "add", required=False), tag_list(data, "delete", required=False)
        return self.change(
            lambda: file_tags_update(file=file, add=add, delete=delete, initiator=api_initiator("rest_api"))
        )

    @staticmethod
    def change(write) -> Response:
        try:
            return Response(write())
        except TagError as exc:
            raise ValidationError({"tags": [str(exc)]}) from None
        except FileRemovedError:  # deleted between the lookup and the write
            raise FileRemoved() from None
