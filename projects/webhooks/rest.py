"""REST webhooks: list, subscribe, change, delete and unsubscribe, in Uploadcare v0.7 shapes."""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from files.info import iso
from files.rest.base import ProjectAPIView
from files.rest.docs import DeleteWithBody, errors
from projects.models import Webhook, WebhookEvent
from projects.webhooks import services


class WebhookSerializer(serializers.Serializer):
    """A webhook as the API answers it (built by `webhook_info`)."""

    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
    event = serializers.ChoiceField(choices=WebhookEvent.choices)
    target_url = serializers.URLField()
    project = serializers.IntegerField(allow_null=True, help_text="Always null: Filedock project ids are UUIDs.")
    is_active = serializers.BooleanField()
    signing_secret = serializers.CharField(allow_null=True)
    version = serializers.CharField()


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Subscribe",
            request_only=True,
            value={"target_url": "https://hooks.example.com/uploads", "event": "file.uploaded", "is_active": True},
        )
    ]
)
class WebhookInputSerializer(serializers.Serializer):
    target_url = serializers.CharField(max_length=2000)
    event = serializers.ChoiceField(choices=WebhookEvent.choices)
    is_active = serializers.BooleanField(default=True)
    signing_secret = serializers.CharField(
        max_length=services.WEBHOOK_SECRET_MAX_LENGTH,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="Signs deliveries (X-Uc-Signature).",
    )


class UnsubscribeSerializer(serializers.Serializer):
    target_url = serializers.CharField(max_length=2000)


def webhook_info(webhook: Webhook) -> dict:
    return {
        "id": webhook.pk,
        "created": iso(webhook.created),
        "updated": iso(webhook.updated),
        "event": webhook.event,
        "target_url": webhook.target_url,
        "project": None,  # the clients accept only an integer here, and our project ids are UUIDs
        "is_active": webhook.is_active,
        "signing_secret": webhook.signing_secret or None,
        "version": webhook.version,
    }


@contextmanager
def service_errors():
    """Turns a service's ValidationError into DRF's 400 body: {"field": ["message"]}."""
    try:
        yield
    except ValidationError as exc:
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        raise exceptions.ValidationError(
            {
                "non_field_errors" if field == NON_FIELD_ERRORS else field: messages
                for field, messages in by_field.items()
            }
        ) from None


def valid_data(serializer: serializers.Serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


WEBHOOK_ID = OpenApiParameter("webhook_id", int, OpenApiParameter.PATH)


class WebhookList(ProjectAPIView):
    area = "webhooks"

    @extend_schema(summary="List the project's webhooks", responses={200: WebhookSerializer(many=True), **errors()})
    def get(self, request):
        return Response([webhook_info(webhook) for webhook in self.project.webhooks.all()])

    @extend_schema(
        summary="Subscribe a URL to an event",
        description="Form-encoded (as pyuploadcare sends it) or JSON. A second subscription of the same URL "
        "to the same event is refused with "
        '`{"non_field_errors": ["This project is already subscribed on this event"]}`.',
        request=WebhookInputSerializer,
        responses={201: WebhookSerializer, **errors(400)},
    )
    def post(self, request):
        data = valid_data(WebhookInputSerializer(data=request.data))
        with service_errors():
            webhook = services.webhook_create(project=self.project, **data)
        return Response(webhook_info(webhook), status=status.HTTP_201_CREATED)


class WebhookDetail(ProjectAPIView):
    area = "webhooks"

    def get_webhook(self, webhook_id: str) -> Webhook:
        webhook = (
            self.project.webhooks.filter(pk=int(webhook_id)).first()
            if webhook_id.isascii() and webhook_id.isdecimal()
            else None
        )
        if webhook is None:
            raise exceptions.NotFound()
        return webhook

    @extend_schema(
        summary="Change a webhook",
        description="A partial update: send only the fields to change.",
        parameters=[WEBHOOK_ID],
        request=WebhookInputSerializer(partial=True),
        responses={200: WebhookSerializer, **errors(400, 404)},
    )
    def put(self, request, webhook_id: str):
        webhook = self.get_webhook(webhook_id)
        changes = valid_data(WebhookInputSerializer(data=request.data, partial=True))
        with service_errors():
            services.webhook_update(webhook=webhook, **changes)
        return Response(webhook_info(webhook))

    @extend_schema(summary="Delete a webhook", parameters=[WEBHOOK_ID], responses={204: None, **errors(404)})
    def delete(self, request, webhook_id: str):
        services.webhook_delete(webhook=self.get_webhook(webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookUnsubscribe(ProjectAPIView):
    area = "webhooks"
    schema = DeleteWithBody()

    @extend_schema(
        summary="Unsubscribe a URL from every event",
        request=UnsubscribeSerializer,
        responses={204: None, **errors(400)},
    )
    def delete(self, request):
        data = valid_data(UnsubscribeSerializer(data=request.data))
        services.webhook_unsubscribe(project=self.project, target_url=data["target_url"])
        return Response(status=status.HTTP_204_NO_CONTENT)
