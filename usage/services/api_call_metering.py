"""This service's own API calls: the per-minute counters usage.middleware keeps in the cache,
flushed into `api_calls` usage events."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

from centrali.formats import iso_utc
from usage import middleware
from usage.services.ingestion import ingest_events

API_CALLS_FLUSHED_THROUGH_KEY = f"{middleware.KEY_PREFIX}:flushed_through"
SOURCE = "workspace-service"  # the `source` of the usage events this service reports itself


def flush_api_call_counts(*, now: datetime | None = None) -> int:
    """Ingest the api_calls counted by usage.middleware for every closed minute not flushed yet.

    Event ids are the minute and the workspace, so flushing a minute twice counts it once.
    Returns the number of events accepted.
    """
    now = now or timezone.now()
    # One minute of grace for web servers whose clocks run behind.
    last_closed = middleware.minute_of(now) - 2
    flushed_through: int | None = cache.get(API_CALLS_FLUSHED_THROUGH_KEY)
    first = last_closed - middleware.KEY_TIMEOUT_SECONDS // 60 if flushed_through is None else flushed_through + 1
    minutes = range(first, last_closed + 1)
    slot_counts = cache.get_many([middleware.slot_count_key(minute) for minute in minutes])
    accepted = 0
    for minute in minutes:
        slots = slot_counts.get(middleware.slot_count_key(minute))
        if not slots:
            continue
        slot_keys = [middleware.slot_key(minute, number) for number in range(1, slots + 1)]
        workspace_ids = list(cache.get_many(slot_keys).values())
        counts = cache.get_many([middleware.count_key(minute, workspace_id) for workspace_id in workspace_ids])
        at = iso_utc(datetime.fromtimestamp(minute * 60, UTC))
        events = [
            {
                "id": f"api_calls:{minute}:{workspace_id}",
                "workspace": workspace_id,
                "metric": "api_calls",
                "value": count,
                "timestamp": at,
            }
            for workspace_id in workspace_ids
            if (count := counts.get(middleware.count_key(minute, workspace_id)))
        ]
        accepted += ingest_events(events=events, source=SOURCE, now=now).accepted
        cache.delete_many([middleware.slot_count_key(minute), *slot_keys, *counts])
    cache.set(API_CALLS_FLUSHED_THROUGH_KEY, max(last_closed, flushed_through or 0), None)
    return accepted
