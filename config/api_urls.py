"""The REST API (Uploadcare v0.7) in one namespace: the files app's endpoints and the webhooks'."""

from files.rest.urls import urlpatterns as files_api
from projects.webhooks.rest_urls import urlpatterns as webhooks_api

app_name = "api"

urlpatterns = files_api + webhooks_api
