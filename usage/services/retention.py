"""How long raw usage events are kept, pruning them, and rebuilding the rollups from those kept.

On PostgreSQL the raw events are in one partition per UTC day (usage migration 0003): the beat task
`usage.maintain_raw_event_partitions` creates the coming days' partitions ahead, and pruning drops
the partitions past the retention window whole, at a cost that does not grow with their rows.
A plain table (SQLite; a database built without migrations) is pruned by batched DELETEs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from centrali.errors import InvalidInput
from usage.metrics import METRICS
from usage.models import DailyUsage, UsageEvent

if TYPE_CHECKING:
    import uuid

    from workspaces.models import Workspace

    RollupKey = tuple[uuid.UUID, str, date]  # (workspace id, metric, day)

logger = structlog.get_logger(__name__)

RAW_EVENT_TABLE = UsageEvent._meta.db_table
DEFAULT_PARTITION = f"{RAW_EVENT_TABLE}_default"
# Day partitions are named <table>_pYYYYMMDD and hold [that midnight UTC, the next one).
_DAY_PARTITION = re.compile(rf"^{RAW_EVENT_TABLE}_p(\d{{8}})$")
PARTITION_DAYS_AHEAD = 7


def raw_event_retention_cutoff(now: datetime) -> datetime:
    """Raw events older than this (midnight UTC, so whole days) are pruned, and refused on ingest."""
    start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - timedelta(days=settings.USAGE_RAW_EVENT_RETENTION_DAYS)


def raw_events_are_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [RAW_EVENT_TABLE]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _day_partitions() -> dict[date, str]:
    """{day: partition name} of the raw events' day partitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(%s)",
            [RAW_EVENT_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {
        datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC).date(): name
        for name in names
        if (match := _DAY_PARTITION.match(name))
    }


def maintain_raw_event_partitions(*, now: datetime | None = None, days_ahead: int = PARTITION_DAYS_AHEAD) -> list[str]:
    """Create the day partitions of the retention window and of the next `days_ahead` days that
    are missing; returns their names. Rows the default partition took for such a day (beat was
    down) move into it. Nothing on a plain table."""
    if not raw_events_are_partitioned():
        return []
    now = now or timezone.now()
    first = raw_event_retention_cutoff(now).date()
    last = now.astimezone(UTC).date() + timedelta(days=days_ahead)
    existing = _day_partitions()
    created = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day not in existing:
            created.append(_create_day_partition(day))
    if created:
        logger.info("usage.raw_event_partitions_created", partitions=created)
    return created


def _create_day_partition(day: date) -> str:
    name = f"{RAW_EVENT_TABLE}_p{day:%Y%m%d}"
    start = datetime.combine(day, datetime.min.time(), UTC)
    bounds = [start, start + timedelta(days=1)]
    table, partition, default = (connection.ops.quote_name(n) for n in (RAW_EVENT_TABLE, name, DEFAULT_PARTITION))
    # Identifiers are quoted by the backend and the bounds are parameters, but for ATTACH: DDL takes
    # no parameters when they are bound server-side (settings DATABASE_PREPARE_THRESHOLD), so its
    # bounds are literals made from these two datetimes.
    lower, upper = (f"'{moment.isoformat()}'::timestamptz" for moment in bounds)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {partition} (LIKE {table} INCLUDING DEFAULTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "  # noqa: S608
            f"INSERT INTO {partition} SELECT * FROM moved",
            bounds,
        )
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {partition} FOR VALUES FROM ({lower}) TO ({upper})")
    return name


def prune_raw_events(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Remove raw events older than the retention window (they are in the rollups already);
    returns how many were removed (for a dropped partition, PostgreSQL's estimate of its rows).

    Partitioned: the day partitions wholly past the cutoff are dropped; the default partition's
    old rows (normally none) are deleted like a plain table's, in batches."""
    cutoff = raw_event_retention_cutoff(now or timezone.now())
    deleted = _drop_day_partitions_before(cutoff.date()) if raw_events_are_partitioned() else 0
    while True:
        ids = list(UsageEvent.objects.filter(occurred_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += UsageEvent.objects.filter(pk__in=ids).delete()[0]


def _drop_day_partitions_before(cutoff: date) -> int:
    expired = sorted((day, name) for day, name in _day_partitions().items() if day < cutoff)
    if not expired:
        return 0
    names = [name for _, name in expired]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(GREATEST(reltuples, 0)), 0) FROM pg_class WHERE relname = ANY(%s)", [names])
        row = cursor.fetchone()
        for name in names:
            cursor.execute(f"DROP TABLE {connection.ops.quote_name(name)}")
    logger.info("usage.raw_event_partitions_dropped", partitions=names)
    return int(row[0]) if row else 0


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
