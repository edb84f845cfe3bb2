"""A second URLconf for tests/core/test_links.py: the same name at another path."""

from django.http import HttpResponse
from django.urls import include, path

app = ([path("elsewhere/<uuid:project_id>/", lambda request, project_id: HttpResponse(), name="overview")], "projects")
urlpatterns = [path("", include(app))]
