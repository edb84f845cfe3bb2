"""Hand-written SELECTs for the hottest lookups, loaded into model instances as the ORM loads them,
and the INSERTs of an upload's rows.

Building a query through the ORM costs more CPU than PostgreSQL spends answering it when the
query is one row by a unique key (about 0.4 ms of CPU against 0.06 ms for the same SELECT sent
as text). The few lookups every request makes (the CDN's file, the Upload API's project, the
REST API's key) write their SQL once per process from the models' own columns and turn each row
back into instances with the converters Django applies (JSON, SQLite's dates and UUIDs,
encrypted text), so what the caller gets is what `Model.objects.get` would have returned.
An upload's rows (its file, tags and events) are written the same way (`insert_rows`).
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


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
        return self.instance(self.convert(values))

    def convert(self, values) -> list:
        """The slice's values as the model's fields hold them (decrypted, parsed): what `instance`
        takes, so values kept between requests are converted once."""
        values = list(values)
        for index, converters in self.converters:
            for convert in converters:
                values[index] = convert(values[index], None, connection)
        return values

    def instance(self, values: list) -> models.Model:
        """A new instance of converted `values` (each call its own, sharing only the values)."""
        return self.model.from_db(connection.alias, self.attnames, list(values))


@functools.cache
def columns(model: type[models.Model], alias: str) -> Columns:
    """`Columns` of `model` under `alias`, worked out once per process."""
    return Columns(model, alias)


def column(model: type[models.Model], name: str, alias: str) -> str:
    """The column of `model`'s field `name` under the table alias `alias`, quoted."""
    return f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}"


def param(model: type[models.Model], name: str, value):
    """`value` as a parameter for `model`'s field `name`, prepared as the ORM prepares it: SQLite
    (the embedded run) keeps UUIDs as hex text and datetimes as naive UTC text, and binds neither
    a UUID nor an aware datetime as the columns hold them."""
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class Insert:
    """A model's INSERT of one or more rows, as text written once per process: the ORM's compiler
    spent more CPU writing an upload's two INSERTs than PostgreSQL spent on them, and its bulk
    INSERT on PostgreSQL sends each column as an array whose JSON elements psycopg escapes one
    quote at a time. Each value is prepared as the ORM prepares it (the field's `pre_save`, then
    `get_db_prep_save`), so the row written is the one `Model.save` or `bulk_create` would write.
    An auto-increment primary key is left to the database and not read back."""

    def __init__(self, model: type[models.Model]):
        meta = model._meta
        self.fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        unsupported = [field.name for field in self.fields if field.generated or hasattr(field, "get_placeholder")]
        if unsupported:  # the ORM writes these with SQL of their own
            raise TypeError(f"{model.__name__}: fields {unsupported} need the ORM's INSERT")
        quote = connection.ops.quote_name
        self.head = f"INSERT INTO {table(model)} ({', '.join(quote(field.column) for field in self.fields)}) VALUES "
        self.row = f"({', '.join(['%s'] * len(self.fields))})"

    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.row] * rows)

    def params(self, objs: list[models.Model]) -> list:
        # The connection itself, not django.db.connection: each of the proxy's attribute reads
        # (the fields' preparation makes a dozen) looks the connection up again.
        db = connections[DEFAULT_DB_ALIAS]
        return [field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in self.fields]

    def statement(self, objs: list[models.Model]) -> tuple[str, list]:
        return self.sql(len(objs)), self.params(objs)


class Alike:
    """Rows of one model alike but for one field: `template`'s values, `field` taking each of
    `values` in turn, in that order (an upload's events: one file, its info and initiator, a type
    each). Each shared value is prepared and sent once, not once a row."""

    def __init__(self, template: models.Model, field: str, values: list):
        self.template, self.field, self.values = template, template._meta.get_field(field), values

    def __bool__(self) -> bool:
        return bool(self.values)

    def statement(self) -> tuple[str, list]:
        statement, db = insert(type(self.template)), connections[DEFAULT_DB_ALIAS]
        # A VALUES list yields its rows in order (as a multi-row INSERT's does), its one column
        # named column1 on PostgreSQL and SQLite alike.
        columns = ", ".join("v.column1" if field is self.field else "%s" for field in statement.fields)
        shared = [field for field in statement.fields if field is not self.field]
        sql = (
            f"{statement.head.removesuffix('VALUES ')}SELECT {columns} "
            f"FROM (VALUES {', '.join(['(%s)'] * len(self.values))}) AS v"
        )
        params = [field.get_db_prep_save(field.pre_save(self.template, True), db) for field in shared]
        return sql, params + [self.field.get_db_prep_save(value, db) for value in self.values]


@functools.cache
def insert(model: type[models.Model]) -> Insert:
    """`Insert` of `model`, written once per process."""
    return Insert(model)


# On PostgreSQL the INSERTs go as one statement (the first ones as data-modifying CTEs, which
# always run): one round trip, and a transaction of its own where the connection autocommits.
ONE_STATEMENT = connection.vendor == "postgresql"


def insert_rows(*batches: list[models.Model] | Alike) -> None:
    """Inserts each batch, a list of instances (of one model; marked saved as `Model.save` marks
    them) or `Alike` rows, in order; empty ones are skipped. With ONE_STATEMENT, as one statement."""
    statements = [
        batch.statement() if isinstance(batch, Alike) else insert(type(batch[0])).statement(batch)
        for batch in batches
        if batch
    ]
    with connection.cursor() as cursor:
        if ONE_STATEMENT and len(statements) > 1:
            *first, (last, params) = statements
            ctes = ", ".join(f"w{index} AS ({sql})" for index, (sql, _) in enumerate(first))
            cursor.execute(f"WITH {ctes} {last}", [param for _, values in statements for param in values])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
    for batch in batches:
        if not isinstance(batch, Alike):
            for obj in batch:
                obj._state.adding, obj._state.db = False, connection.alias
