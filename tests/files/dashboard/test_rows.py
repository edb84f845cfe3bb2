"""files/dashboard/rows.py: the table's values are those Django's template filters wrote."""

import pytest
from django.template.defaultfilters import filesizeformat
from django.utils import translation

from files.dashboard.rows import Sizes

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
