"""The test database's flush between transactional tests (tests/database): DELETE instead of TRUNCATE.

What the next test relies on: every table empty, whatever rows reference which, but for Django's
content types and permissions, which its post_migrate signal would make again the same.
"""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from projects.services import project_create
from tests.factories import UserFactory, make_file, make_key, make_webhook


def flush(**options) -> None:
    """The flush Django's TransactionTestCase runs after each transactional test."""
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False, allow_cascade=False, **options)


def _counts() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_every_table_whatever_references_what():
    project = project_create(owner=UserFactory(), name="flushed")
    file = make_file(project, "a.txt")
    make_key(project)
    make_webhook(project)
    file.tag_rows.create(project=project, tag="red")  # references a file, a project, a user
    before = _counts()
    assert before["files_file"] == 1 and before["files_filetag"] == 1 and before["projects_membership"] == 1

    flush(inhibit_post_migrate=True)

    left = {table for table, count in _counts().items() if count}
    assert left == {"django_content_type", "auth_permission"}


@pytest.mark.django_db(transaction=True)
def test_djangos_own_rows_are_there_after_a_flush():
    flush()

    assert ContentType.objects.filter(app_label="files", model="file").exists()
    assert Permission.objects.filter(codename="change_file").exists()
