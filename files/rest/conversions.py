"""REST v0.7 conversions: `convert/document/`, `convert/video/`, their status by token, and a
document's formats (`convert/document/{uuid}/`)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from files.conversions.jobs import (
    conversion_status,
    conversions_create,
    created_shape,
    document_info,
)
from files.conversions.paths import PathProblem
from files.models import Conversion
from files.rest.base import ProjectAPIView
from files.rest.common import BadRequest, json_body, project_file
from files.rest.docs import errors

CONVERT_REQUEST = inline_serializer(
    "ConvertRequest",
    {
        "paths": serializers.ListField(child=serializers.CharField()),
        "store": serializers.CharField(required=False, help_text='"true", "false" or absent (the project\'s default)'),
        "save_in_group": serializers.CharField(required=False, help_text='"1" or "true": pages also as a group'),
    },
)
CONVERT_RESPONSE = inline_serializer(
    "ConvertResponse",
    {"problems": serializers.DictField(child=serializers.CharField()), "result": serializers.ListField()},
)
STATUS_RESPONSE = inline_serializer(
    "ConversionStatus",
    {
        "status": serializers.CharField(),
        "error": serializers.CharField(allow_null=True),
        "result": serializers.DictField(),
    },
)


class Convert(ProjectAPIView):
    area = "processing"  # a secret key's "Conversions and add-ons" scope
    kind = ""

    def post(self, request):
        body = json_body(request)
        if not isinstance(body, dict):
            raise BadRequest('The body is {"paths": ["{uuid}/' + self.kind + '/-/format/…/"], "store": …}.')
        try:
            created = conversions_create(
                project=self.project,
                kind=self.kind,
                paths=body.get("paths"),
                store=body.get("store"),
                save_in_group=body.get("save_in_group", False),
            )
        except PathProblem as exc:
            raise BadRequest(str(exc)) from None
        return Response({"problems": created.problems, "result": [created_shape(c) for c in created.conversions]})


class ConvertStatus(ProjectAPIView):
    area = "processing"
    kind = ""

    def get(self, request, token):
        conversion = Conversion.objects.filter(pk=token, project=self.project, kind=self.kind).first()
        if conversion is None:
            raise NotFound("No conversion job with this token.")
        return Response(conversion_status(conversion))


SCHEMA = {"request": {"application/json": CONVERT_REQUEST}, "responses": {200: CONVERT_RESPONSE, **errors(400)}}


class DocumentConvert(Convert):
    kind = Conversion.Kind.DOCUMENT

    @extend_schema(summary="Convert documents", description="LibreOffice and poppler on this server.", **SCHEMA)
    def post(self, request):
        return super().post(request)


class VideoConvert(Convert):
    kind = Conversion.Kind.VIDEO

    @extend_schema(summary="Convert videos", description="ffmpeg on this server.", **SCHEMA)
    def post(self, request):
        return super().post(request)


class DocumentConvertStatus(ConvertStatus):
    kind = Conversion.Kind.DOCUMENT

    @extend_schema(summary="A document conversion's status", responses={200: STATUS_RESPONSE, **errors(404)})
    def get(self, request, token):
        return super().get(request, token)


class VideoConvertStatus(ConvertStatus):
    kind = Conversion.Kind.VIDEO

    @extend_schema(summary="A video conversion's status", responses={200: STATUS_RESPONSE, **errors(404)})
    def get(self, request, token):
        return super().get(request, token)


class DocumentInfo(ProjectAPIView):
    area = "processing"

    @extend_schema(
        summary="A document's format and what it converts to",
        responses={
            200: inline_serializer("DocumentFormatInfo", {"error": serializers.CharField(allow_null=True)}),
            **errors(404),
        },
    )
    def get(self, request, file_id):
        return Response(document_info(project_file(self.project, file_id)))
