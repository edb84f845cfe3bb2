"""The REST API's webhook endpoints (mounted with the files endpoints by config.api_urls)."""

from django.urls import path

from projects.webhooks import rest

urlpatterns = [
    path("webhooks/", rest.WebhookList.as_view(), name="webhooks"),
    path("webhooks/unsubscribe/", rest.WebhookUnsubscribe.as_view(), name="webhook_unsubscribe"),
    # str, not int: a malformed id gets the API's JSON 404 instead of the site's HTML one.
    path("webhooks/<str:webhook_id>/", rest.WebhookDetail.as_view(), name="webhook"),
]
