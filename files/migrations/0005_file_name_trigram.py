"""A trigram index on file names for the files page's substring search (PostgreSQL only).

`original_filename ILIKE '%q%'` (files.dashboard.forms.NameContains) reads it; SQLite, used by the embedded
server, has no pg_trgm and scans instead.
"""

from django.db import migrations

INDEX = "file_name_trgm"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # CONCURRENTLY: on an install that already holds many files, uploads go on while it builds.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON files_file USING gin (original_filename gin_trgm_ops)"
    )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("files", "0004_from_url_claimed_at"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
