"""The REST file list's page in SQL written once per process (issue #22, P8) reads what the ORM's
keyset page reads: the same rows and the same next/previous links, for every ordering, filter,
start and page size."""

import functools
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from rest_framework.request import Request

from files.info import rest_info_rows
from files.models import File
from files.rest.files import filtered, filtered_sql
from files.rest.pagination import Cursor, keyset_page, keyset_page_sql
from files.services import file_delete
from tests.factories import make_file
from tests.helpers import T0

FILTERS = [(None, False), (True, False), (False, False), (None, True), (False, True)]


@pytest.fixture
def mixed_files(team):
    """Ten files: stored, temporary and removed ones, four in the same microsecond, some tagged,
    and one of another project in that microsecond too."""
    project = team.project
    times = [T0 + timedelta(seconds=s) for s in (0, 1, 2, 2, 2, 2, 3, 4, 5, 6)]
    files = []
    for i, at in enumerate(times):
        tags = ["all", f"t{i}"] if i % 3 == 0 else []
        file = make_file(project, f"f{i}.txt", store=i % 2 == 0, uploaded_at=at, tags=tags)
        files.append(file_delete(file=file) if i in (3, 7) else file)
    make_file(team.outsider.memberships.get().project, "theirs.txt", uploaded_at=T0 + timedelta(seconds=2))
    return sorted(files, key=lambda f: (f.datetime_uploaded, f.uuid))


def starts(files):
    """Every way a page can start: none, each row (from + from_id), each time alone, offsets among ties."""
    yield {}
    for file in files:
        yield {"from": file.datetime_uploaded.isoformat(), "from_id": str(file.uuid)}
        yield {"from": file.datetime_uploaded.isoformat()}
    for offset in (1, 2, 3, 9):
        yield {"from": files[3].datetime_uploaded.isoformat(), "offset": offset}
    yield {"from": (files[-1].datetime_uploaded + timedelta(days=1)).isoformat()}


@pytest.mark.parametrize("ordering", ["datetime_uploaded", "-datetime_uploaded"])
@pytest.mark.parametrize(("stored", "removed"), FILTERS)
def test_the_sql_page_reads_the_orm_pages_rows_and_links(rf, team, mixed_files, ordering, stored, removed):
    project = team.project
    sql = filtered_sql(stored=stored, removed=removed)
    rows = functools.partial(filtered, project, stored=stored, removed=removed)
    pages = 0
    for limit in (1, 2, 3, 100):
        for start in starts(mixed_files):
            query = urlencode({"limit": limit, "ordering": ordering, **start})
            request = Request(rf.get(f"/api/files/?{query}"))
            cursor = Cursor.from_request(request, key="datetime_uploaded", parse_pk=File._meta.pk.to_python)
            by_orm = keyset_page(request, rows(), cursor, values=rest_info_rows)
            by_sql = keyset_page_sql(request, sql, {"project": project.pk}, cursor, rows)
            assert (by_sql.rows, by_sql.next, by_sql.previous) == (by_orm.rows, by_orm.next, by_orm.previous), query
            pages += bool(by_sql.rows)
    assert pages >= 50
