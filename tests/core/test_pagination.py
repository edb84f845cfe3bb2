"""core.pagination: keyset pages over (key, pk) in both orders, and the one cursor format."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import AuditEvent
from core.pagination import InvalidCursor, Keyset, Position, cursor_decode, cursor_encode, take

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "position",
    [
        Position(T0, 42),
        Position(datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC), 1),  # before 1970: negative microseconds
        Position(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 2**63 - 1),
    ],
)
def test_a_cursor_gives_back_its_position(position):
    cursor = cursor_encode(position)
    assert cursor.replace("-", "").replace("_", "").isalnum()  # nothing a query string must escape
    assert cursor_decode(cursor, parse_pk=int) == position


def test_a_cursor_carries_any_pk_its_reader_can_parse():
    position = Position(T0, uuid.uuid4())
    assert cursor_decode(cursor_encode(position), parse_pk=uuid.UUID) == position


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "nonsense",  # base64 of bytes that are not UTF-8
        "a",  # a length base64 cannot have
        "a+b/",
        "²-1",
        "x" * 201,
        _raw("12345"),
        _raw("12345:"),
        _raw("12x45:1"),
        _raw("1:not-a-number"),
        _raw(f"{10**20}:1"),  # past year 9999
        "1767225600000000_0f0e0d0c0b0a09080706050403020100",  # the dashboard's former format
        "1767225600000000-42",  # the audit log's former format
    ],
)
def test_malformed_cursors_are_rejected(cursor):
    with pytest.raises(InvalidCursor, match="Not a valid page cursor"):
        cursor_decode(cursor, parse_pk=int)


@pytest.fixture
def tied_events(team):
    """Seven events, five of them in the same microsecond, in their ascending (created_at, pk) order."""
    times = [T0, T0 + timedelta(seconds=1), *[T0 + timedelta(seconds=2)] * 5]
    events = [AuditEvent.objects.create(action="webhook.updated", project=team.project) for _ in times]
    for event, at in zip(events, times, strict=True):
        AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
    return list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("created_at", "pk"))


@pytest.mark.parametrize("descending", [False, True])
def test_pages_through_ties_are_complete_both_ways(tied_events, descending):
    keyset = Keyset("created_at", descending=descending)
    rows = AuditEvent.objects.filter(pk__in=[e.pk for e in tied_events])
    expected = tied_events[::-1] if descending else tied_events

    pages, cursor = [], None
    while True:
        position = cursor_decode(cursor, parse_pk=int) if cursor else None
        page = take(keyset.seek(rows, position), 2)
        pages.append(page.rows)
        if not page.more:
            break
        cursor = cursor_encode(keyset.position_of(page.rows[-1]))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [e for p in pages for e in p] == expected

    # Back from the last page's first row: the reversed keyset reads what came before it.
    back = take(keyset.reversed.seek(rows, keyset.position_of(pages[-1][0])), 2)
    assert back.rows == pages[-2][::-1] and back.more


def test_an_inclusive_position_starts_at_its_own_row_and_a_bare_value_at_all_its_rows(tied_events):
    keyset, rows = Keyset("created_at"), AuditEvent.objects.filter(pk__in=[e.pk for e in tied_events])
    third = tied_events[3]
    assert list(keyset.seek(rows, keyset.position_of(third), inclusive=True)) == tied_events[3:]
    assert list(keyset.seek(rows, Position(third.created_at), inclusive=True)) == tied_events[2:]
    assert list(keyset.seek(rows, Position(third.created_at))) == []


def test_take_reads_one_row_more_than_it_shows(tied_events, django_assert_num_queries):
    rows = Keyset("created_at").seek(AuditEvent.objects.filter(pk__in=[e.pk for e in tied_events]))
    with django_assert_num_queries(1):
        page = take(rows, 7)
    assert len(page.rows) == 7 and not page.more and page.following is None
    assert take(rows, 6).following == tied_events[6]
