from django.urls import path

from files.rest import project

app_name = "api"

urlpatterns = [
    path("project/", project.ProjectInfo.as_view(), name="project"),
]
