"""Hand-written SELECTs for the hottest lookups, loaded into model instances as the ORM loads them.

Building a query through the ORM costs more CPU than PostgreSQL spends answering it when the
query is one row by a unique key (about 0.4 ms of CPU against 0.06 ms for the same SELECT sent
as text). The few lookups every request makes (the CDN's file, the Upload API's project, the
REST API's key) write their SQL once per process from the models' own columns and turn each row
back into instances with the converters Django applies (JSON, SQLite's dates and UUIDs,
encrypted text), so what the caller gets is what `Model.objects.get` would have returned.
"""

import functools

from django.db import connection, models


class Columns:
    """A model's concrete columns as a SELECT list under a table alias, and how to load them."""

    def __init__(self, model: type[models.Model], alias: str):
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        self.model = model
        self.attnames = [field.attname for field in fields]
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
        self.converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            found = column.get_db_converters(connection) + connection.ops.get_db_converters(column)
            if found:
                self.converters.append((index, found))

    def __len__(self) -> int:
        return len(self.attnames)

    def load(self, values) -> models.Model:
        """An instance from this model's slice of a row, in the order of `sql`."""
        values = list(values)
        for index, converters in self.converters:
            for convert in converters:
                values[index] = convert(values[index], None, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@functools.cache
def columns(model: type[models.Model], alias: str) -> Columns:
    """`Columns` of `model` under `alias`, worked out once per process."""
    return Columns(model, alias)


def column(model: type[models.Model], name: str, alias: str) -> str:
    """The column of `model`'s field `name` under the table alias `alias`, quoted."""
    return f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}"


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)
