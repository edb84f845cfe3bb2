"""`{% link %}`: `{% url %}` for URLs whose arguments are UUIDs, reversed once per process.

Django's `reverse` walks the URLconf on every call, 25-30 µs of CPU, and a project page's layout
links about 30 names (top bar, switcher, sidebar, the page's forms): near a millisecond a page.
Here a name is reversed once per process with marker UUIDs for its arguments, and each use puts
the real ones in. What `reverse` reads besides the name (the namespace instance, script prefix,
URLconf and language) keys the cache, so the URL is the one `{% url %}` gives.
"""

import functools
import uuid

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

register = template.Library()
WHERE = "core.links.where"  # the render context's key of what reverse reads (_where), once a page


def url(name: str, *ids: uuid.UUID, current_app: str | None = None) -> str:
    """`reverse(name, args=ids, current_app=current_app)`."""
    return _filled(name, ids, _where(current_app))


@register.simple_tag(takes_context=True)
def link(context, name: str, *ids: uuid.UUID) -> str:
    """`{% link 'projects:overview' project.pk %}`, `{% link 'files:list' project.pk as list_url %}`."""
    where = context.render_context.get(WHERE)
    if where is None:  # looked up once a page: the language alone costs a third of a reverse
        where = context.render_context[WHERE] = _where(_current_app(getattr(context, "request", None)))
    return _filled(name, ids, where)


def _filled(name: str, ids: tuple, where: tuple) -> str:
    for value in ids:
        if not isinstance(value, uuid.UUID):
            raise TypeError(f"{name}: links take UUID arguments, not {type(value).__name__}")
    return _pattern(name, len(ids), where).format(*ids)


def _where(current_app: str | None) -> tuple:
    return current_app, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, get_language()


@functools.lru_cache(maxsize=1024)
def _pattern(name: str, count: int, where: tuple) -> str:
    """The URL as a format string, "{0}" where the first UUID goes."""
    current_app, _prefix, urlconf, _language = where  # reverse reads the prefix and language itself
    markers = [str(uuid.UUID(int=index + 1)) for index in range(count)]
    text = reverse(name, urlconf=urlconf, args=markers, current_app=current_app)
    text = text.replace("{", "{{").replace("}", "}}")
    for index, marker in enumerate(markers):
        text = text.replace(marker, f"{{{index}}}")
    return text


def _current_app(request) -> str | None:
    """The namespace instance `{% url %}` reverses in: the request's, else its URL's."""
    current = getattr(request, "current_app", None)
    match = getattr(request, "resolver_match", None)
    return match.namespace if current is None and match is not None else current
