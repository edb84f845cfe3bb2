"""Keyset pagination: pages of a queryset ordered by (a key column, the pk), read from a position.

Each page is one range scan of a (key, pk) index however deep it is: no OFFSET, no COUNT. A page
fetches one row more than it shows, to learn whether another page follows. Between requests a
position travels as an opaque cursor (`cursor_encode`, `cursor_decode`). How a position appears on
the wire (the REST API's `from`, the dashboard's page links) is up to the modules that serve it.
"""

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# base64url without padding, and far longer than any cursor written here.
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")
CONTENT = re.compile(r"(-?[0-9]+):(.+)", re.DOTALL)


class InvalidCursor(ValueError):
    """A cursor this module did not write: edited, truncated or from another page's format."""

    def __init__(self, message: str = "Not a valid page cursor."):
        super().__init__(message)


class Position(NamedTuple):
    """A place in a keyset order: the key's value and the pk of a row that has it.

    Without a pk the position stands for the value alone: all rows with it fall on the same side.
    """

    value: Any
    pk: Any = None


@dataclass(frozen=True)
class Keyset:
    """An order of rows by `key`, ties broken by the pk, ascending or descending."""

    key: str
    descending: bool = False

    @property
    def reversed(self) -> "Keyset":
        return Keyset(self.key, not self.descending)

    def order_by(self) -> tuple[str, str]:
        return (f"-{self.key}", "-pk") if self.descending else (self.key, "pk")

    def position_of(self, row: Any) -> Position:
        return Position(getattr(row, self.key), row.pk)

    def after(self, position: Position, *, inclusive: bool = False) -> Q:
        """The rows that come after `position` in this order; with `inclusive`, its own row (or
        every row at its value, when it has no pk) too."""
        past, at = f"{self.key}__{'lt' if self.descending else 'gt'}", position.value
        if position.pk is None:
            return Q(**{f"{past}{'e' if inclusive else ''}": at})
        pk_past = f"pk__{'lt' if self.descending else 'gt'}{'e' if inclusive else ''}"
        # The bound on the key alone is redundant, but without it PostgreSQL reads the index from
        # its start and filters its way to the position instead of starting the scan there.
        return (Q(**{past: at}) | Q(**{self.key: at, pk_past: position.pk})) & Q(**{f"{past}e": at})

    def after_sql(self, key: str, pk: str, *, has_pk: bool, inclusive: bool = False) -> str:
        """`after` as SQL text over the columns `key` and `pk`, for statements written once per
        process (core.rawsql): the position's value is the parameter %(at)s, its pk %(pk)s."""
        past = "<" if self.descending else ">"
        if not has_pk:
            return f"{key} {past}{'=' if inclusive else ''} %(at)s"
        pk_past = f"{past}{'=' if inclusive else ''}"
        # The redundant bound on the key alone starts the index scan at the position, as in `after`.
        return f"({key} {past} %(at)s OR ({key} = %(at)s AND {pk} {pk_past} %(pk)s)) AND {key} {past}= %(at)s"

    def order_by_sql(self, key: str, pk: str) -> str:
        direction = "DESC" if self.descending else "ASC"
        return f"{key} {direction}, {pk} {direction}"

    def seek(self, rows: QuerySet, position: Position | None = None, *, inclusive: bool = False) -> QuerySet:
        """`rows` in this order, starting after `position` (at it, with `inclusive`); all of them without one."""
        if position is not None:
            rows = rows.filter(self.after(position, inclusive=inclusive))
        return rows.order_by(*self.order_by())


@dataclass(frozen=True)
class Slice:
    """The first rows of an ordered query, and the row after them if there is one."""

    rows: list
    following: Any = None

    @property
    def more(self) -> bool:
        return self.following is not None


def take(query: QuerySet, limit: int) -> Slice:
    """The first `limit` rows of `query` (ordered, e.g. by `Keyset.seek`) in one query of `limit + 1`."""
    rows = list(query[: limit + 1])
    return Slice(rows[:limit], rows[limit] if len(rows) > limit else None)


def cursor_encode(position: Position) -> str:
    """A URL-safe cursor for a position whose value is an aware datetime and whose pk is set."""
    text = f"{(position.value - EPOCH) // MICROSECOND}:{position.pk}"
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def cursor_decode(cursor: str, *, parse_pk: Callable[[str], Any]) -> Position:
    """The position a cursor of `cursor_encode` holds, its pk read by `parse_pk` (which raises
    ValueError on a bad one). Raises InvalidCursor for anything else."""
    if not CURSOR.fullmatch(cursor):
        raise InvalidCursor()
    # binascii.Error (bad padding) and UnicodeDecodeError are ValueErrors; a time past year 9999 overflows.
    try:
        content = CONTENT.fullmatch(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if content is None:
            raise InvalidCursor()
        return Position(EPOCH + int(content[1]) * MICROSECOND, parse_pk(content[2]))
    except (ValueError, OverflowError):
        raise InvalidCursor() from None
