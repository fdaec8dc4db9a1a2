"""Query parameters of the audit reads -> ActivityFilters; anything malformed is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

from django.utils.dateparse import parse_date, parse_datetime

from audit.selectors import ActivityFilters
from centrali.errors import InvalidInput

MAX_FILTER_LENGTH = 200
# Dates outside this UTC range are refused (the same years as usage's historical range): at the
# edges of what datetime holds, a day added or a conversion to UTC overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def checked_text(name: str, value: str) -> str:
    """`value` if the database can compare it: not too long, no NUL character; else a 400 naming `name`."""
    if len(value) > MAX_FILTER_LENGTH:
        raise InvalidInput.for_field(
            name, f"`{name}` is longer than {MAX_FILTER_LENGTH} characters.", code="INVALID_FILTER"
        )
    if "\x00" in value:
        raise InvalidInput.for_field(name, f"`{name}` may not contain NUL characters.", code="INVALID_FILTER")
    return value


def _text(query_params: Mapping[str, str], name: str) -> str | None:
    return checked_text(name, query_params.get(name, "").strip()) or None


def _instant(query_params: Mapping[str, str], name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 date-time (naive = UTC) or a date, in UTC. Bounds are inclusive: `dateTo=2026-11-30`
    includes that whole day; the returned upper bound is exclusive."""
    if name not in query_params:
        return None
    raw = query_params[name].strip()  # an empty value is no date: refused below like any other
    parsed: datetime | None
    try:
        day = parse_date(raw)
        if day is not None:
            parsed = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
        else:
            parsed = parse_datetime(raw)
            if parsed is None:
                raise ValueError
            if end_of_day:
                parsed += timedelta(microseconds=1)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except ValueError:
        raise InvalidInput.for_field(
            name, f"`{name}` must be an ISO 8601 date or date-time.", code="INVALID_FILTER"
        ) from None
    except OverflowError:  # e.g. 9999-12-31 (the day after it), 0001-01-01T00:00:00+05:00 (in UTC)
        parsed = None
    if parsed is None or not EARLIEST <= parsed <= LATEST:
        raise InvalidInput.for_field(
            name,
            f"`{name}` must be between {EARLIEST:%Y-%m-%d} and {LATEST - timedelta(days=1):%Y-%m-%d} (UTC).",
            code="INVALID_FILTER",
        )
    return parsed


def parse_activity_filters(query_params: Mapping[str, str]) -> ActivityFilters:
    filters = ActivityFilters(
        resource_type=_text(query_params, "resourceType"),
        type=_text(query_params, "type"),
        actor_id=_text(query_params, "actorId"),
        date_from=_instant(query_params, "dateFrom", end_of_day=False),
        date_to=_instant(query_params, "dateTo", end_of_day=True),
        search=_text(query_params, "search"),
    )
    if filters.date_from and filters.date_to and filters.date_from >= filters.date_to:
        raise InvalidInput.for_field("dateTo", "`dateTo` must be after `dateFrom`.", code="INVALID_FILTER")
    return filters
