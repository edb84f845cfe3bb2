"""REST v0.7 Add-ons: execute an add-on on a file, then poll its status by request_id."""

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from files.addons.runs import AddonError, addon_execute, addon_names, addon_status
from files.rest.base import ProjectAPIView
from files.rest.common import BadRequest, json_body, live_file
from files.rest.docs import errors

EXECUTE_RESPONSE = inline_serializer("AddonExecuteResponse", {"request_id": serializers.UUIDField()})
STATUS_RESPONSE = inline_serializer(
    "AddonStatus", {"status": serializers.ChoiceField(choices=["in_progress", "error", "done", "unknown"])}
)
EXECUTE_REQUEST = inline_serializer(
    "AddonExecuteRequest",
    {"target": serializers.UUIDField(), "params": serializers.DictField(required=False)},
)


def _known(addon: str) -> str:
    if addon not in addon_names():
        raise NotFound(f"There is no add-on named {addon!r}.")
    return addon


class AddonExecute(ProjectAPIView):
    area = "processing"

    @extend_schema(
        summary="Execute an add-on on a file",
        description="uc_clamav_virus_scan scans with ClamAV (params: purge_infected). "
        "aws_rekognition_detect_labels and remove_bg are not available on this server.",
        request={"application/json": EXECUTE_REQUEST},
        responses={200: EXECUTE_RESPONSE, **errors(400, 404)},
    )
    def post(self, request, addon):
        _known(addon)
        body = json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("target"), str):
            raise BadRequest('The body is {"target": "<file uuid>", "params": {…}}.')
        file = live_file(self.project, body["target"])
        try:
            run = addon_execute(project=self.project, file=file, addon=addon, params=body.get("params"))
        except AddonError as exc:
            raise BadRequest(str(exc)) from None
        return Response({"request_id": str(run.pk)})


class AddonStatus(ProjectAPIView):
    area = "processing"

    @extend_schema(
        summary="An add-on execution's status",
        parameters=[OpenApiParameter("request_id", str, required=True)],
        responses={200: STATUS_RESPONSE, **errors(400, 404)},
    )
    def get(self, request, addon):
        _known(addon)
        try:
            request_id = uuid.UUID(request.query_params.get("request_id", ""))
        except ValueError:
            raise BadRequest("request_id must be the UUID the execute call returned.") from None
        return Response({"status": addon_status(project=self.project, addon=addon, request_id=request_id)})
