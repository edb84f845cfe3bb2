"""The site's URLs plus one view that fails while holding secrets, for the 500 page test."""

from django.urls import path

from config.urls import urlpatterns as site


def boom(request):
    from projects.models import SecretKey

    secrets_in_memory = [key.secret for key in SecretKey.objects.all()]  # noqa: F841 — in the frame when it fails
    raise RuntimeError("failure while secrets were loaded")


urlpatterns = [path("boom/", boom), *site]
