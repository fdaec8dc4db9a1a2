"""How long raw usage events are kept, pruning them, and rebuilding the rollups from those kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from centrali.errors import InvalidInput
from usage.metrics import METRICS
from usage.models import DailyUsage, UsageEvent

if TYPE_CHECKING:
    import uuid

    from workspaces.models import Workspace

    RollupKey = tuple[uuid.UUID, str, date]  # (workspace id, metric, day)


def raw_event_retention_cutoff(now: datetime) -> datetime:
    """Raw events older than this (midnight UTC, so whole days) are pruned, and refused on ingest."""
    start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - timedelta(days=settings.USAGE_RAW_EVENT_RETENTION_DAYS)


def prune_raw_events(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete raw events older than the retention window (they are in the rollups already);
    returns how many were deleted."""
    cutoff = raw_event_retention_cutoff(now or timezone.now())
    deleted = 0
    while True:
        ids = list(UsageEvent.objects.filter(occurred_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += UsageEvent.objects.filter(pk__in=ids).delete()[0]


@dataclass(frozen=True)
class RollupDifference:
    workspace_id: str
    metric: str
    day: date
    stored: Decimal | None
    rebuilt: Decimal | None


def reconcile_rollups(
    *, since: date, workspace: Workspace | None = None, apply: bool = True, now: datetime | None = None
) -> list[RollupDifference]:
    """Rebuild the daily rollups of days >= `since` from the raw events; return the differences found.

    With `apply`, the stored rollups are corrected in one transaction (rows with no raw event left
    behind them are deleted). Days before the retention cutoff are refused: their raw events are gone.
    """
    now = now or timezone.now()
    cutoff = raw_event_retention_cutoff(now).date()
    if since < cutoff:
        raise InvalidInput.for_field(
            "since",
            f"Raw events before {cutoff} are pruned; reconcile from {cutoff} or later.",
            code="BEFORE_RETENTION_CUTOFF",
        )
    events = UsageEvent.objects.filter(occurred_at__gte=datetime.combine(since, datetime.min.time(), UTC))
    stored_rows = DailyUsage.objects.filter(day__gte=since)
    if workspace is not None:
        events, stored_rows = events.filter(workspace=workspace), stored_rows.filter(workspace=workspace)

    with transaction.atomic():
        # Lock the stored rollups before reading the raw events: an ingest that would change one
        # of them waits for this rebuild, and one that committed earlier is in the events read next.
        locked_rows = stored_rows.select_for_update() if apply else stored_rows
        stored: dict[RollupKey, DailyUsage] = {
            (row.workspace_id, row.metric, row.day): row for row in locked_rows.iterator()
        }
        rebuilt = _rollups_from_raw_events(events)
        differences = []
        for key in sorted(set(stored) | set(rebuilt), key=str):
            row, fresh = stored.get(key), rebuilt.get(key)
            if row is not None and fresh is not None and row.value == fresh[0]:
                continue
            differences.append(
                RollupDifference(
                    workspace_id=str(key[0]),
                    metric=key[1],
                    day=key[2],
                    stored=row.value if row else None,
                    rebuilt=fresh[0] if fresh else None,
                )
            )
            if not apply:
                continue
            if fresh is None:
                if row is not None:
                    row.delete()
            else:
                DailyUsage.objects.update_or_create(
                    workspace_id=key[0],
                    metric=key[1],
                    day=key[2],
                    defaults={"value": fresh[0], "last_event_at": fresh[1], "updated_at": now},
                )
    return differences


def _rollups_from_raw_events(events: QuerySet[UsageEvent]) -> dict[RollupKey, tuple[Decimal, datetime]]:
    """{(workspace id, metric, day): (value, newest event time)} folded as ingestion folds them."""
    rebuilt: dict[RollupKey, tuple[Decimal, datetime]] = {}
    for workspace_id, metric, value, occurred_at in (
        events.order_by("occurred_at", "pk")
        .values_list("workspace_id", "metric", "value", "occurred_at")
        .iterator(chunk_size=5000)
    ):
        key = (workspace_id, metric, occurred_at.astimezone(UTC).date())
        if METRICS[metric].is_gauge:
            rebuilt[key] = (value, occurred_at)
        else:
            total = rebuilt[key][0] if key in rebuilt else Decimal(0)
            rebuilt[key] = (total + value, occurred_at)
    return rebuilt
