"""The Uploadcare-compatible base URLs, as a developer copies them into an application."""

from django.conf import settings


def absolute(base: str, request=None) -> str:
    if base.startswith(("http://", "https://")):
        return base
    if request is not None:
        return request.build_absolute_uri(base)
    return settings.SITE_URL + base


def bases(request=None) -> dict[str, str]:
    return {
        "upload_base": absolute(settings.UPLOAD_BASE, request),
        "api_base": absolute(settings.API_BASE, request),
        "cdn_base": absolute(settings.CDN_BASE, request),
    }
