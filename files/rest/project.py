from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from files.rest.base import ProjectAPIView
from files.rest.docs import errors
from projects.models import Membership

# Client libraries validate collaborator emails strictly; these domains never pass.
SPECIAL_USE_TLDS = {"local", "localhost", "test", "invalid", "onion", "internal", "example"}


def public_email(email: str) -> str | None:
    domain = email.rpartition("@")[2]
    return None if "." not in domain or domain.rsplit(".", 1)[-1] in SPECIAL_USE_TLDS else email


PROJECT_INFO = inline_serializer(
    "ProjectInfo",
    {
        "name": serializers.CharField(),
        "pub_key": serializers.CharField(),
        "autostore_enabled": serializers.BooleanField(),
        "collaborators": inline_serializer(
            "Collaborator",
            {
                "email": serializers.EmailField(allow_null=True, help_text="Null for addresses clients would reject."),
                "name": serializers.CharField(allow_null=True),
            },
            many=True,
        ),
        "upload_sources": inline_serializer(
            "UploadSource",
            {
                "provider": serializers.CharField(help_text="dropbox, gdrive, gphotos, onedrive, box, facebook, ..."),
                "enabled": serializers.BooleanField(),
                "client_id": serializers.CharField(help_text="The project's own OAuth client id; never the secret."),
            },
            many=True,
        ),
    },
)


class ProjectInfo(ProjectAPIView):
    area = "project"

    @extend_schema(summary="The authenticated project", responses={200: PROJECT_INFO, **errors()})
    def get(self, request):
        members = Membership.objects.filter(project=self.project).select_related("user").order_by("created_at")
        return Response(
            {
                "name": self.project.name,
                "pub_key": self.project.public_key,
                "autostore_enabled": self.project.autostore_enabled,
                "collaborators": [{"email": public_email(m.user.email), "name": m.user.display_name} for m in members],
                "upload_sources": self.project.oauth_apps.upload_sources(),
            }
        )
