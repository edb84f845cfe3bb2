"""The test suite's PostgreSQL backend: Django's own, with a cheaper flush between transactional tests.

After each transactional test (341 of the suite's tests, those with real workers, servers or
threads) Django empties every table with one TRUNCATE of all of them. TRUNCATE makes new files
for each of the 51 tables: 650-2,100 ms a test on a busy machine here, where the few rows a test
leaves went in 42-51 ms with DELETE. The result is the same for the next test: every table
empty, sequences not reset (Django's flush between tests does not reset them either). Django
makes its foreign keys DEFERRABLE INITIALLY DEFERRED, so they are checked at the commit and the
order of the DELETEs does not matter. Only the test settings use this backend; processes a test
starts (servers, workers) run on Django's own.
"""

from django.db.backends.postgresql import base, operations

# Rows Django's post_migrate signal makes after every flush, the same each time: kept, they cost
# it a few SELECTs instead of ~240 INSERTs (~100 ms against ~300 ms a test on a busy machine here).
KEPT = {"django_content_type", "auth_permission"}


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or allow_cascade:
            return super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        emptied = [table for table in tables if table not in KEPT]
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in emptied]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
