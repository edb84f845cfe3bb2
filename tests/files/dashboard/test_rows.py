"""files/dashboard/rows.py: the table's values are those Django's template filters wrote."""

import dataclasses
from datetime import UTC, datetime

import pytest
from django.template import engines
from django.template.defaultfilters import date, filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString
from markupsafe import Markup

from files.dashboard.rows import ROWS_TEMPLATE, Dates, ListRow, Sizes
from files.models import File
from tests.factories import make_file

SIZES = [0, 1, 2, 999, 1023, 1024, 1025, 1535, 1536, 10_000, 102_349, 1_048_524, 1_048_575, 1_048_576]
SIZES += [1_073_741_823, 1_073_741_824, 5 * 1024**3 + 7, 1024**4 - 1, 1024**4, 3 * 1024**5, 2000 * 1024**5]
SIZES += [-1, -1024, -5_000_000]


@pytest.mark.parametrize("language", ["en-us", "de", "fr"])
@pytest.mark.parametrize("grouping", [False, True])
def test_sizes_read_as_filesizeformat_writes_them(settings, language, grouping):
    settings.USE_THOUSAND_SEPARATOR = grouping
    with translation.override(language):
        sizes = Sizes()
        assert [sizes.shown(size) for size in SIZES] == [filesizeformat(size) for size in SIZES]
    with translation.override("de"):
        assert Sizes().shown(1536) == "1,5\xa0KB"  # the language is followed, not only compared


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_dates_read_as_the_date_filter_writes_them_in_each_language(zone):
    moments = [datetime(2026, month, 5, 23, 7, tzinfo=UTC) for month in (1, 3, 5, 12)]
    with timezone.override(zone):
        for language in ("en-us", "de", "fr", "en-us"):  # the month names are kept per language
            with translation.override(language):
                dates = Dates()
                for moment in moments:
                    local = timezone.localtime(moment)
                    assert dates.shown(moment) == date(local, "M j, Y H:i")
                    assert dates.iso(moment) == date(local, "c")


def _row(**values) -> ListRow:
    """A ListRow with harmless values, `values` in place of some."""
    fields = {field.name: SafeString("x") for field in dataclasses.fields(ListRow)}
    fields.update(removed=False, stored=True, infected=False, expired=False)
    return ListRow(**(fields | values))


def _render(*rows: ListRow, back_url="/back/") -> str:
    template = engines["jinja2"].get_template(ROWS_TEMPLATE)
    return template.render({"rows": rows, "can_change": True, "back_url": back_url, "csrf_input": SafeString("")})


def test_a_value_not_marked_safe_is_escaped_as_django_escapes_it():
    hostile = """<img src=x onerror="alert('x')">&"""
    html = _render(_row(name=hostile, mime_type=hostile, stored=False), back_url=hostile)
    assert hostile not in html and 'onerror="' not in html
    assert html.count(escape(hostile)) == 10  # the name 7 times, the type, the return URL twice
    assert "&#x27;" in escape(hostile) and "&quot;" in escape(hostile)  # Django's entities, not markupsafe's


def test_values_marked_safe_are_written_as_they_are():
    html = _render(_row(name=SafeString("<b>a</b>"), mime_type=Markup("<i>b</i>")))
    assert '<a href="x"><b>a</b></a>' in html and '<td class="mime"><i>b</i></td>' in html


def test_a_files_name_is_escaped_on_the_page(login, team):
    file = make_file(team.project, "a.txt")
    File.objects.filter(pk=file.pk).update(original_filename="""<b>"it's" & co<b>.txt""")
    html = login(team.viewer).get(reverse("files:list", args=[team.project.pk])).content.decode()
    assert "<b>" not in html
    assert "&lt;b&gt;&quot;it&#x27;s&quot; &amp; co&lt;b&gt;.txt</a>" in html
