"""Streamed exports (CSV, JSON Lines) of a query of any size in constant memory: rows are read in
keyset batches (one range scan each, `core.pagination`) and written as the response is sent."""

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core.pagination import Keyset, take

BATCH = 1000
# A spreadsheet runs a cell that starts with one of these as a formula; a quote makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def keyset_walk(query: QuerySet, keyset: Keyset, *, batch: int = BATCH) -> Iterator[Any]:
    """Every row of `query` in `keyset`'s order, `batch` rows per query."""
    position = None
    while True:
        page = take(keyset.seek(query, position), batch)
        yield from page.rows
        if not page.more:
            return
        position = keyset.position_of(page.rows[-1])


class _Line:
    """csv.writer's file: hands back each written line instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    writer = csv.writer(_Line())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    return _attachment(StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8"), filename)


def jsonl_response(filename: str, records: Iterable[dict]) -> StreamingHttpResponse:
    lines = (json.dumps(record, separators=(",", ":"), default=str) + "\n" for record in records)
    return _attachment(StreamingHttpResponse(lines, content_type="application/x-ndjson"), filename)


def export_response(fmt: str, name: str, fields: list[str], records: Iterable[dict]) -> StreamingHttpResponse:
    """`records` as `{name}.csv` (a column per field) or `{name}.jsonl`."""
    if fmt == "csv":
        return csv_response(f"{name}.csv", fields, ([record[f] for f in fields] for record in records))
    return jsonl_response(f"{name}.jsonl", records)


def _attachment(response: StreamingHttpResponse, filename: str) -> StreamingHttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
