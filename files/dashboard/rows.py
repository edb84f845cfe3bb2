"""The files page's rows: display values worked out in one pass, rendered by Jinja2.

The rows are the page's hot loop: 50 rows of some 40 values each. Through Django's template engine
they took three quarters of the page's time (a variable lookup, a filter call and a node render per
value, an include per row and per state cell, a CSRF token masked per form). Here each value is
computed once in Python as an escaped string (the entities Django's `escape` writes, so the HTML
is the same as the Django template made), and one compiled Jinja2 template writes them all. Its
environment escapes every value written that is not marked safe, so a value added without escaping
is still escaped.
"""

import functools
import html
from dataclasses import dataclass
from datetime import datetime

import jinja2
from django.template import engines
from django.template.backends.utils import csrf_input
from django.utils import dateformat, formats, numberformat, timezone
from django.utils.html import avoid_wrapping
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

ROWS_TEMPLATE = "files/rows.html"  # templates/jinja2/files/rows.html


def e(value: str) -> SafeString:
    """Django's `escape` (the same entities the Django template wrote), without its lazy wrapper."""
    return SafeString(html.escape(value))


def environment(**options) -> jinja2.Environment:
    """The rows' Jinja2 environment (settings.TEMPLATES): autoescaping as one output step, `written`.

    Jinja2's autoescaping passes each of a page's 1,100 values through markupsafe's `escape`,
    which copies a safe string into a new Markup: a third of the rows' time. `written` lets a
    safe string through as it is and escapes anything else, as autoescaping would."""
    return jinja2.Environment(**{**options, "autoescape": False, "finalize": written})


def written(value) -> str:
    """A value as the rows write it: escaped with Django's entities unless marked safe."""
    if type(value) is SafeString:
        return value
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


class Dates:
    """What Django's `date` filter shows for "c" and "M j, Y H:i", in the current time zone; the
    time zone looked up once per page, the month names (translated) once per language."""

    def __init__(self):
        self.zone = timezone.get_current_timezone()
        self.months = _months(get_language())

    def iso(self, value: datetime) -> str:
        return value.astimezone(self.zone).isoformat()

    def shown(self, value: datetime) -> SafeString:
        local = value.astimezone(self.zone)
        return e(f"{self.months[local.month]} {local.day}, {local.year:04d} {local.hour:02d}:{local.minute:02d}")


class Sizes:
    """What Django's `filesizeformat` shows, its units (translated) and number format looked up
    once per page, not once per value: the lookups took half of the filter's time."""

    UNITS = [(1 << 50, "%s PB"), (1 << 40, "%s TB"), (1 << 30, "%s GB"), (1 << 20, "%s MB"), (1 << 10, "%s KB")]

    def __init__(self):
        self.units = [(size, gettext(unit)) for size, unit in self.UNITS]
        self.decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
        self.grouping = formats.get_format("NUMBER_GROUPING")
        self.thousand_separator = formats.get_format("THOUSAND_SEPARATOR")

    def shown(self, size: int) -> str:
        negative, size = size < 0, abs(size)
        for unit, text in self.units:
            if size >= unit:
                number = numberformat.format(
                    round(size / unit, 1), self.decimal_separator, 1, self.grouping, self.thousand_separator
                )
                value = text % number
                break
        else:
            value = ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}
        return avoid_wrapping(f"-{value}" if negative else value)


@functools.lru_cache(maxsize=16)
def _months(language: str) -> list[str]:
    """ "", then the months' short names in `language` (the active one): twelve translations, 0.14 ms."""
    return [""] + [dateformat.format(datetime(2000, month, 1), "M") for month in range(1, 13)]


def _infected_with(appdata) -> str:
    """appdata.uc_clamav_virus_scan.data.infected_with, or "" where any step is missing."""
    value = appdata
    for key in ("uc_clamav_virus_scan", "data", "infected_with"):
        value = value.get(key) if isinstance(value, dict) else None
    return "" if value is None else str(value)


@dataclass(slots=True)
class ListRow:
    """One row of the files page: every value it shows, as an escaped string or a flag."""

    uuid: str
    name: SafeString
    removed: bool
    stored: bool
    infected: bool
    infected_with: SafeString
    thumbnail_url: SafeString
    badge: SafeString
    detail_url: SafeString
    store_url: SafeString
    delete_url: SafeString
    cdn_url: SafeString
    size: SafeString
    mime_type: SafeString
    uploaded_iso: str
    uploaded: SafeString
    expires: SafeString
    expired: bool
    time_left: SafeString

    @classmethod
    def of(cls, row, dates: Dates, sizes: Sizes) -> "ListRow":
        """From a views.Row (its file, URLs and expiry)."""
        file = row.file
        temporary = row.expires_at is not None
        return cls(
            uuid=str(file.uuid),
            name=e(file.original_filename),
            removed=file.is_removed,
            stored=file.is_stored,
            infected=bool(file.infected),
            infected_with=e(_infected_with(file.appdata)) if file.infected else "",
            thumbnail_url=e(row.thumbnail_url or ""),
            badge=e(row.badge) if not row.thumbnail_url else "",
            detail_url=e(row.urls["detail"]),
            store_url=e(row.urls["store"]),
            delete_url=e(row.urls["delete"]),
            cdn_url=e(row.cdn_url),
            size=e(sizes.shown(file.size)),
            mime_type=e(file.mime_type),
            uploaded_iso=dates.iso(file.datetime_uploaded),
            uploaded=dates.shown(file.datetime_uploaded),
            expires=dates.shown(row.expires_at) if temporary else "",
            expired=row.expired,
            time_left=e(row.time_left),
        )


def render_rows(request, rows: list, *, can_change: bool, back_url: str) -> SafeString:
    """The <tr> elements of `rows` (views.Row), as the files page's table body shows them."""
    template = engines["jinja2"].get_template(ROWS_TEMPLATE)
    dates, sizes = Dates(), Sizes()
    context = {
        "rows": [ListRow.of(row, dates, sizes) for row in rows],
        "can_change": can_change,
        "back_url": e(back_url),
        "csrf_input": csrf_input(request),  # one token for the page's forms, not one per form
    }
    return mark_safe(template.render(context))
