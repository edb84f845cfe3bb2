"""Tags up to 100 characters (Uploadcare's limit), and a trigram index for REST file search.

`POST files/search/`'s `query` matches a substring of the name, the MIME type or the metadata
(files.search.SearchDocument, the same expression as here), which PostgreSQL answers from this
index; SQLite, used by the embedded server, has no pg_trgm and scans instead.
"""

from django.db import migrations, models

INDEX = "file_search_trgm"
EXPRESSION = "(original_filename || ' ' || mime_type || ' ' || metadata::text)"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # CONCURRENTLY: on an install that already holds many files, uploads go on while it builds.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON files_file USING gin ({EXPRESSION} gin_trgm_ops)"
    )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("files", "0013_tus_received"),
    ]

    operations = [
        migrations.AlterField(model_name="filetag", name="tag", field=models.CharField(max_length=100)),
        migrations.RunPython(create, drop, elidable=False),
    ]
