"""Keyset pages for the REST lists (files, groups), with the original API's `from` parameter.

A page is ordered by (datetime, pk) and starts at `from`, inclusive (at or after that moment; at
or before it when descending); core.pagination reads it as one index range scan. The
`next`/`previous` links point at the first row of that page: `from=<its datetime>` plus
`from_id=<its pk>`, which skips the rows of the same microsecond that sort before it, so ties are
neither skipped nor repeated. A client that keeps only `from` (@uploadcare/rest-client rebuilds
the query from known names) still walks every row, seeing a tie across pages twice at worst.
The original API's own links carry `offset` (rows at exactly `from` already seen) instead; it is
accepted too, resolved to a pk among those ties.
"""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from core.pagination import Keyset, Position, take

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1
# Parameters a page link carries over. Anything else is dropped: pyuploadcare's count() sends
# `query_parameters={...}`, which the API must ignore.
CARRIED = ("limit", "ordering", "stored", "removed", "include")


def invalid(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]})


def int_param(params: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, "A valid integer is required.") from None
    if not minimum <= value <= maximum:
        raise invalid(name, f"Ensure this value is between {minimum} and {maximum}.")
    return value


def bool_param(params: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    raw = params.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise invalid(name, "Must be true or false.")


def datetime_param(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if "T" in raw:
        raw = raw.replace(" ", "+")  # an unencoded "+00:00" arrives as " 00:00"
    try:
        value = parse_datetime(raw)
        if value is None and (day := parse_date(raw)) is not None:
            value = datetime.combine(day, time.min)
    except ValueError:
        value = None
    if value is not None:
        try:
            # In UTC: PostgreSQL refuses offsets past +-15:59 that Python parses (e.g. -23:45).
            return value.astimezone(UTC) if timezone.is_aware(value) else value.replace(tzinfo=UTC)
        except OverflowError:  # an offset that moves year 1 or 9999 out of range
            pass
    raise invalid(name, "Must be an ISO 8601 date or datetime, e.g. 2024-01-31T12:00:00Z.")


def iso_param(value: datetime | str) -> str:
    """The `from` of a link; `value` may be ISO text ending in Z (files.info.iso's format)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Cursor:
    """Where a page starts and how it is ordered, read from the query string."""

    key: str
    descending: bool
    limit: int
    start: datetime | None
    start_id: object | None
    offset: int

    @classmethod
    def from_request(cls, request: Request, *, key: str, parse_pk: Callable[[str], object]) -> "Cursor":
        """`ordering` defaults to oldest first, as documented for the original API."""
        params = request.query_params
        ordering = params.get("ordering", "")
        if ordering not in ("", key, f"-{key}"):
            raise invalid("ordering", f"Must be {key} or -{key}.")
        start_id = None
        if params.get("from_id"):
            try:
                start_id = parse_pk(params["from_id"])
            except ValueError:
                raise invalid("from_id", "Not a valid id.") from None
        return cls(
            key=key,
            descending=ordering.startswith("-"),
            limit=int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            start=datetime_param(params, "from"),
            start_id=start_id,
            offset=int_param(params, "offset", 0, 0, MAX_OFFSET),
        )

    @property
    def keyset(self) -> Keyset:
        return Keyset(self.key, self.descending)

    def start_at(self, rows: QuerySet | Callable[[], QuerySet]) -> tuple[Position, bool] | None:
        """The position the page starts from and whether the page includes it; None for the first page.
        `rows` (or a function making them, called only if needed) resolves an `offset` among ties."""
        if self.start is None:
            return None
        first = self.start_id
        if first is None and self.offset:
            rows = rows if isinstance(rows, QuerySet) else rows()
            ties = rows.filter(**{self.key: self.start}).order_by(*self.keyset.order_by())
            first = next(iter(ties.values_list("pk", flat=True)[self.offset : self.offset + 1]), None)
            if first is None:  # the client has seen every row at `from` already
                return Position(self.start), False
        return Position(self.start, first), True


@dataclass
class Page:
    rows: list
    next: str | None
    previous: str | None


def link(request: Request, **cursor: str) -> str:
    params = [(name, request.query_params[name]) for name in CARRIED if name in request.query_params]
    params += list(cursor.items())
    url = request.build_absolute_uri(request.path)
    return f"{url}?{urlencode(params)}" if params else url


def start_link(request: Request, at: datetime | str, pk: object) -> str:
    """The link of the page that starts at the row (at, pk), inclusive."""
    return link(request, **{"from": iso_param(at), "from_id": str(pk)})


def keyset_page(request: Request, rows: QuerySet, cursor: Cursor, values: Callable | None = None) -> Page:
    """One page of `rows` (already scoped and filtered) with absolute next/previous links.

    `values`, if given, turns the page's query into one of tuples that start with the pk and the
    key (a datetime, or its UTC ISO text): a page only read out needs no model instances.
    """
    keyset, start = cursor.keyset, cursor.start_at(rows)
    position, inclusive = start or (None, False)
    query = keyset.seek(rows, position, inclusive=inclusive)
    page = take(values(query) if values else query, cursor.limit)
    next_url = None
    if page.more:  # the next page starts at the row read past this one
        first = page.following
        at, pk = (first[1], first[0]) if values else keyset.position_of(first)
        next_url = start_link(request, at, pk)
    previous_url = None
    if start:
        earlier = keyset.reversed.seek(rows, position, inclusive=not inclusive).values_list(cursor.key, "pk")
        # The previous page starts `limit` rows back: that row and whether any is past it are
        # all the link needs, two rows read instead of the page before.
        edge = list(earlier[cursor.limit - 1 : cursor.limit + 1])
        if len(edge) == 2:
            previous_url = start_link(request, *edge[0])
        elif edge or earlier.exists():
            previous_url = link(request)  # the previous page is the first one
    return Page(page.rows, next_url, previous_url)


@dataclass(frozen=True)
class KeysetSQL:
    """keyset_page's queries as SQL text written once per process (core.rawsql), for a list whose
    page the ORM took longer to build than PostgreSQL to answer: `select` over `source` where
    `where` holds, in the order of the columns `key` then `pk`; `key_text` and `pk_text` are the
    link's text of them. `select` starts with the pk and the key, as keyset_page's `values` does.
    The statements take %(at)s and %(pk)s (the position), %(take)s and %(back)s, and the
    parameters `where` names."""

    select: str
    source: str
    where: str
    key: str
    pk: str
    key_text: str
    pk_text: str

    @functools.cache  # noqa: B019 (a handful of module-level instances, each kept for the process's life)
    def statements(self, keyset: Keyset, *, has_pk: bool, inclusive: bool, started: bool) -> tuple[str, str]:
        """The page's statement followed by the previous link's (sent together, one round trip),
        and the statement that tells whether any row comes before the page at all."""
        page_where = self.where
        if started:
            page_where += f" AND {keyset.after_sql(self.key, self.pk, has_pk=has_pk, inclusive=inclusive)}"
        page = (
            f"SELECT {self.select} FROM {self.source} WHERE {page_where} "
            f"ORDER BY {keyset.order_by_sql(self.key, self.pk)} LIMIT %(take)s"
        )
        if not started:
            return page, ""
        back = keyset.reversed
        earlier = f"{self.where} AND {back.after_sql(self.key, self.pk, has_pk=has_pk, inclusive=not inclusive)}"
        edge = (
            f"SELECT {self.key_text}, {self.pk_text} FROM {self.source} WHERE {earlier} "
            f"ORDER BY {back.order_by_sql(self.key, self.pk)} LIMIT 2 OFFSET %(back)s"
        )
        return f"{page}; {edge}", f"SELECT EXISTS (SELECT 1 FROM {self.source} WHERE {earlier})"


def keyset_page_sql(
    request: Request, sql: KeysetSQL, params: dict, cursor: Cursor, rows: Callable[[], QuerySet]
) -> Page:
    """keyset_page over `sql` with the parameters of its `where`: the same rows and links, with
    the page and its previous link read in one round trip. `rows` makes the same rows as a
    queryset, for the rare `offset` among ties (the original API's links).

    Two statements in one execute need psycopg's client-side binding, Django's default cursor
    (with server_side_binding on, PostgreSQL refuses them)."""
    start = cursor.start_at(rows)
    position, inclusive = start or (None, False)
    page, earlier = sql.statements(
        cursor.keyset, has_pk=position is not None and position.pk is not None, inclusive=inclusive, started=bool(start)
    )
    values = {**params, "take": cursor.limit + 1, "back": cursor.limit - 1}
    if position is not None:
        values |= {"at": position.value, "pk": position.pk}
    with connection.cursor() as db:
        db.execute(page, values)
        found = db.fetchall()
        edge = db.fetchall() if db.nextset() else []
        if start and not edge:
            db.execute(earlier, values)
            edge = [None] if db.fetchone()[0] else []
    next_url = None
    if len(found) > cursor.limit:  # the next page starts at the row read past this one
        next_url = start_link(request, found[cursor.limit][1], found[cursor.limit][0])
    previous_url = None
    if len(edge) == 2:  # the previous page starts `limit` rows back, and a row is past that one
        previous_url = start_link(request, *edge[0])
    elif edge:
        previous_url = link(request)  # the previous page is the first one
    return Page(found[: cursor.limit], next_url, previous_url)
