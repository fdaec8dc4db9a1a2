"""Small conversions every app needs the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def iso_utc(moment: datetime | None) -> str | None:
    """A moment as the API writes it: ISO 8601 in UTC with a `Z` (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_utc_of_timestamp(seconds: float | None) -> str | None:
    """A Unix timestamp (Stripe's) as the API writes moments: `iso_utc(djstripe.utils.convert_tstamp(...))`
    without its settings lookups, which a page of invoices made three times a row."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def parse_uuid(value: object) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one (a slug, a malformed id)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
