"""Helpers of the usage tests: events as platform services report them, and UTC moments."""

import itertools
from datetime import UTC, datetime

from centrali.formats import iso_utc

_ids = itertools.count(1)


def event(workspace, metric, value, at, *, id=None):
    """One usage event as a platform service reports it (`at`: an aware datetime)."""
    return {
        "id": id or f"evt-{next(_ids)}",
        "workspace": workspace.slug,
        "metric": metric,
        "value": value,
        "timestamp": iso_utc(at),
    }


def utc(year, month, day, hour=0, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
