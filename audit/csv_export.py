"""The audit log as CSV, produced in chunks of rows for a StreamingHttpResponse.

On PostgreSQL the rows come from `COPY (SELECT …) TO STDOUT WITH (FORMAT csv)`: the database
formats and quotes every cell, so a million-row export streams at half or more of a plain COPY's
rate (bench/audit_csv_stream.py), in one query, with flat memory. Elsewhere (SQLite) csv.writer writes the same bytes. A cell
is what the event holds, except:

- a cell that a spreadsheet would evaluate as a formula gets an apostrophe first (`neutralise`);
- `created_at` is ISO 8601 in UTC with a `Z` (microseconds only when there are some);
- `metadata` is the event's JSON as PostgreSQL's jsonb writes it: keys ordered shorter first, then
  bytewise, `", "` and `": "` as separators, non-ASCII characters as they are.

Rows end with CRLF (RFC 4180), like csv.writer's.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from django.db import connections
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import F, Func, QuerySet, TextField

from audit.models import AuditEvent
from centrali.formats import iso_utc

HEADER = [
    "id",
    "created_at",
    "type",
    "resource_type",
    "resource_id",
    "actor_type",
    "actor_id",
    "summary",
    "metadata",
    "ip_address",
    "user_agent",
    "request_id",
    "entry_hash",
]
# Each column is the model field of its name.
_FIELDS = HEADER
# Free-text columns: neutralised (the others are numbers, times, JSON objects and addresses).
_TEXT_FIELDS = frozenset(
    {
        "type",
        "resource_type",
        "resource_id",
        "actor_type",
        "actor_id",
        "summary",
        "user_agent",
        "request_id",
        "entry_hash",
    }
)
# A chunk handed to the response is at least this many bytes (one write per chunk, not per row).
CHUNK_BYTES = 256 * 1024

# A spreadsheet evaluates a cell starting with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Prefix a would-be formula with an apostrophe so spreadsheets show it as text (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _NeutralisedCell(Func):
    """neutralise() in SQL; '' becomes NULL, which COPY writes unquoted as csv.writer writes '' (COPY quotes '')."""

    template = (
        "NULLIF(CASE WHEN ascii(%(expressions)s) IN ("
        + ", ".join(str(ord(prefix)) for prefix in _FORMULA_PREFIXES)
        + ") THEN '''' || %(expressions)s ELSE %(expressions)s END, '')"
    )
    output_field = TextField()


class _IsoUtc(Func):
    """iso_utc() in SQL."""

    template = (
        "replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
    )
    output_field = TextField()


def _sql_cell(field: str) -> Any:
    if field in _TEXT_FIELDS:
        return _NeutralisedCell(F(field))
    if field == "created_at":
        return _IsoUtc(F(field))
    return F(field)


def _jsonb_order(value: Any) -> Any:
    """`value` with every object's keys in jsonb's order (by UTF-8 length, then bytewise)."""
    if isinstance(value, dict):
        return {
            key: _jsonb_order(value[key]) for key in sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        }
    if isinstance(value, list):
        return [_jsonb_order(item) for item in value]
    return value


def jsonb_text(value: Any) -> str:
    """A JSON value written as PostgreSQL writes jsonb as text."""
    return json.dumps(_jsonb_order(value), ensure_ascii=False)


class _Lines:
    """The file csv.writer writes into: it collects the lines of one chunk."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


def csv_chunks(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    """The header row, then one row per event of `events` (ordered), as UTF-8 chunks of CHUNK_BYTES or so.
    One query, streamed: memory does not grow with the number of rows."""
    lines = _Lines()
    csv.writer(lines).writerow(HEADER)
    yield "".join(lines.lines).encode()
    if connections[events.db].vendor == "postgresql":
        yield from _copied_rows(events)
    else:
        yield from _written_rows(events)


def _copied_rows(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    sql, params = events.values_list(*(_sql_cell(field) for field in _FIELDS)).query.sql_with_params()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    connection = connections[events.db]
    with connection.cursor() as cursor:
        # The query shows in connection.queries (and query-count assertions) like any other.
        logged = cursor.debug_sql(statement, params) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged, connection.wrap_database_errors, cursor.cursor.copy(statement, params) as copy:
            # Each read is one row ending in "\n" (a COPY data message); the row ends in CRLF instead.
            rows: list[Any] = []
            size = 0
            for row in copy:
                rows.append(row[:-1])
                size += len(row)
                if size >= CHUNK_BYTES:
                    rows.append(b"")
                    yield b"\r\n".join(rows)
                    rows, size = [], 0
            if rows:
                rows.append(b"")
                yield b"\r\n".join(rows)


def _written_rows(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines)
    size = 0
    for row in events.values_list(*_FIELDS).iterator(chunk_size=2000):
        writer.writerow(
            [
                row[0],
                iso_utc(row[1]),
                *(neutralise(value) for value in row[2:8]),
                jsonb_text(row[8]),
                neutralise(row[9]),
                *(neutralise(value) for value in row[10:]),
            ]
        )
        size += len(lines.lines[-1])
        if size >= CHUNK_BYTES:
            yield "".join(lines.lines).encode()
            lines.lines.clear()
            size = 0
    if lines.lines:
        yield "".join(lines.lines).encode()
