from django.contrib import admin
from django.urls import include, path

from config.views import healthz

admin.site.site_header = "Filedock administration"
admin.site.site_title = "Filedock admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("projects.urls")),
]
