"""REST v0.7 `POST files/remote_copy/`: a file copied to a bucket the project connected."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from files.errors import UploadError
from files.remote_copy import RemoteCopyError, file_remote_copy, remote_copy_target
from files.rest.base import ProjectAPIView
from files.rest.common import FileRemoved, json_body, live_file, operation_refused
from files.rest.docs import errors
from files.rest.shapes import REMOTE_COPY_BODY, REMOTE_COPY_RESULT
from files.services import FileRemovedError
from files.uploads.groups import parse_file_ref


def flag(data: dict, name: str, default: bool) -> bool:
    """A boolean field; the Dart and older clients send "true"/"false" as strings."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1", "false", "0"):
        return str(value).strip().lower() in ("true", "1")
    raise ValidationError({name: ["Must be true or false."]})


def text(data: dict, name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({name: ["This field is required." if value is None else "Must be a non-empty string."]})
    return value.strip()


class RemoteCopy(ProjectAPIView):
    """Copies a file (`source`: a UUID, `uuid/-/ops/` or a CDN URL; operations render the image) to
    the connected bucket named `target`, under `pattern` (default `${default}`)."""

    @extend_schema(
        summary="Copy a file to a connected bucket",
        request={"application/json": REMOTE_COPY_BODY},
        responses={200: REMOTE_COPY_RESULT, **errors(400, 404, 503)},
    )
    def post(self, request):
        data = json_body(request)
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        source, name = text(data, "source", required=True), text(data, "target", required=True)
        pattern, make_public = text(data, "pattern", required=False), flag(data, "make_public", True)
        try:
            file_uuid, effects = parse_file_ref(source)
        except UploadError:
            raise ValidationError({"source": ["Not a file UUID or CDN URL."]}) from None
        target = remote_copy_target(project=self.project, name=name)
        if target is None:
            raise ValidationError(
                {"target": [f"No bucket named “{name}” is connected to this project (see its Storage page)."]}
            )
        try:
            url = file_remote_copy(
                file=live_file(self.project, file_uuid),
                target=target,
                effects=effects,
                make_public=make_public,
                pattern=pattern,
            )
        except FileRemovedError:
            raise FileRemoved() from None
        except RemoteCopyError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        except UploadError as exc:  # operations that do not apply to the file, or renderers busy
            raise operation_refused(exc) from None
        return Response({"type": "url", "result": url})
