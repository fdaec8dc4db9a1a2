"""The audit log as CSV, produced row by row for a StreamingHttpResponse."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

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

# A spreadsheet evaluates a cell starting with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Prefix a would-be formula with an apostrophe so spreadsheets show it as text (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer into a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for event in events:
        yield writer.writerow(
            [
                neutralise(value)
                for value in (
                    event.pk,
                    iso_utc(event.created_at),
                    event.type,
                    event.resource_type,
                    event.resource_id,
                    event.actor_type,
                    event.actor_id,
                    event.summary,
                    json.dumps(event.metadata, sort_keys=True),
                    event.ip_address,
                    event.user_agent,
                    event.request_id,
                    event.entry_hash,
                )
            ]
        )
