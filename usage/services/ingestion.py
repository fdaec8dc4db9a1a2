"""Idempotent ingestion of the usage events platform services report, folded into the daily rollups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from centrali.metrics import USAGE_EVENTS, bounded
from centrali.tasks import publish_on_commit
from usage.metrics import LIMIT_OF_METRIC, METRICS
from usage.models import EVENT_ID_MAX_LENGTH, VALUE_DECIMAL_PLACES, DailyUsage, UsageEvent
from usage.services.retention import raw_event_retention_cutoff
from workspaces.selectors import get_workspaces_by_refs

if TYPE_CHECKING:
    import uuid

    from workspaces.models import Workspace

    EventKey = tuple[uuid.UUID, str]  # (workspace id, event id)
    RollupKey = tuple[uuid.UUID, str, date]  # (workspace id, metric, day)
    Rollup = tuple[Decimal, datetime]  # (value, newest event time)

MAX_BATCH_SIZE = 1000
# Below what the value columns hold (VALUE_MAX_DIGITS - VALUE_DECIMAL_PLACES = 22 integer digits).
MAX_VALUE = Decimal(10) ** 21
VALUE_QUANTUM = Decimal(1).scaleb(-VALUE_DECIMAL_PLACES)


@dataclass(frozen=True)
class Rejection:
    index: int
    id: str | None
    reason: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class _Event:
    event_id: str
    workspace: Workspace
    metric: str
    value: Decimal
    occurred_at: datetime

    @property
    def key(self) -> EventKey:
        """What identifies an event: ids are the reporter's, unique within a workspace only."""
        return (self.workspace.pk, self.event_id)


class _Invalid(Exception):
    pass


def ingest_events(*, events: Sequence[object], source: str = "", now: datetime | None = None) -> IngestResult:
    """Store a batch of usage events and fold the new ones into the daily rollups, in one transaction.

    `events` are dicts {id, workspace (slug or uuid), metric, value, timestamp}. An event whose id
    was already stored for its workspace is a duplicate and changes nothing; an invalid one is rejected with a reason.
    Refusing events older than the raw-event retention keeps replays idempotent after pruning.
    """
    now = now or timezone.now()
    result = IngestResult()
    workspaces = get_workspaces_by_refs(
        [event["workspace"] for event in events if isinstance(event, dict) and isinstance(event.get("workspace"), str)]
    )
    valid: list[_Event] = []
    seen_keys: set[EventKey] = set()
    duplicate_metrics: list[str] = []
    for index, raw in enumerate(events):
        try:
            event = _parse(raw, workspaces=workspaces, now=now)
        except _Invalid as invalid:
            event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            result.rejected.append(Rejection(index=index, id=event_id, reason=str(invalid)))
            continue
        if event.key in seen_keys:
            result.duplicates += 1
            duplicate_metrics.append(event.metric)
            continue
        seen_keys.add(event.key)
        valid.append(event)

    with transaction.atomic():
        inserted_keys = _insert_new_events(valid, source=source, now=now)
        new_events = [event for event in valid if event.key in inserted_keys]
        _fold_into_rollups(new_events, now=now)
        # Only usage a plan limits can cross a quota threshold.
        touched = sorted({str(event.workspace.pk) for event in new_events if event.metric in LIMIT_OF_METRIC})
        if touched:
            # Not published (broker down): the next ingest for the workspace checks its quotas again.
            publish_on_commit("usage.check_quota_alerts", workspace_ids=touched)
    result.accepted = len(new_events)
    result.duplicates += len(valid) - len(new_events)
    duplicate_metrics += [event.metric for event in valid if event.key not in inserted_keys]
    _count_outcomes(events, new_events=new_events, duplicate_metrics=duplicate_metrics, rejected=result.rejected)
    return result


def _count_outcomes(
    events: Sequence[object], *, new_events: Sequence[_Event], duplicate_metrics: list[str], rejected: list[Rejection]
) -> None:
    """centrali_usage_events_total by metric and outcome; a rejected event's metric not ours counts as `unknown`."""
    for event in new_events:
        USAGE_EVENTS.labels(event.metric, "accepted").inc()
    for metric in duplicate_metrics:
        USAGE_EVENTS.labels(metric, "duplicate").inc()
    for rejection in rejected:
        raw = events[rejection.index]
        named = raw.get("metric") if isinstance(raw, dict) else None
        label = bounded(named if isinstance(named, str) else "", METRICS.keys(), other="unknown")
        USAGE_EVENTS.labels(label, "rejected").inc()


def _parse(raw: object, *, workspaces: Mapping[str, Workspace], now: datetime) -> _Event:
    if not isinstance(raw, dict):
        raise _Invalid("An event must be an object.")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise _Invalid("`id` is required: a non-empty string.")
    if len(event_id) > EVENT_ID_MAX_LENGTH:
        raise _Invalid(f"`id` is longer than {EVENT_ID_MAX_LENGTH} characters.")
    workspace_ref = raw.get("workspace")
    if not isinstance(workspace_ref, str) or workspace_ref not in workspaces:
        raise _Invalid(f"Unknown workspace {workspace_ref!r}.")
    metric = raw.get("metric")
    if not isinstance(metric, str) or metric not in METRICS:
        raise _Invalid(f"Unknown metric {metric!r}.")
    value = _parse_value(raw.get("value"))
    if value < 0:
        raise _Invalid(f"`value` of the {METRICS[metric].kind} {metric!r} must not be negative.")
    occurred_at = _parse_timestamp(raw.get("timestamp"))
    if occurred_at > now + timedelta(seconds=settings.USAGE_EVENT_MAX_FUTURE_SKEW_SECONDS):
        raise _Invalid("`timestamp` is in the future.")
    if occurred_at < raw_event_retention_cutoff(now):
        days = settings.USAGE_RAW_EVENT_RETENTION_DAYS
        raise _Invalid(f"`timestamp` is older than the {days}-day window late events may arrive in.")
    return _Event(event_id, workspaces[workspace_ref], metric, value, occurred_at)


def _parse_value(raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _Invalid("`value` must be a number.")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _Invalid("`value` must be a number.") from None
    if not value.is_finite() or abs(value) >= MAX_VALUE:
        raise _Invalid("`value` is out of range.")
    return value.quantize(VALUE_QUANTUM)


def _parse_timestamp(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise _Invalid("`timestamp` is required: an ISO 8601 date-time.")
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise _Invalid("`timestamp` must be an ISO 8601 date-time.")
    if timezone.is_naive(moment):
        raise _Invalid("`timestamp` must carry a timezone (e.g. a trailing Z).")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00
        raise _Invalid("`timestamp` is out of range.") from None


def _insert_new_events(events: Sequence[_Event], *, source: str, now: datetime) -> set[EventKey]:
    """Insert the events new to their workspace; return their keys (workspace id, event id).
    Sorted inserts avoid deadlocks.

    A plain table (SQLite, or PostgreSQL before migration 0003) has the unique (workspace, event id)
    constraint: it decides, so two concurrent batches carrying the same event count it once. The
    day-partitioned table's unique constraint must hold the timestamp, so it only refuses a replay
    with the same timestamp; `_drop_replays_across_days` then removes the rows whose id the
    workspace already had on another day.

    INSERT … ON CONFLICT DO NOTHING RETURNING, because bulk_create(ignore_conflicts=True) does not
    say which rows it inserted (and only the inserted ones may be rolled up)."""
    if not events:
        return set()
    columns = ["event_id", "workspace", "metric", "value", "occurred_at", "received_at", "source"]
    rows = [
        (event.event_id, event.workspace.pk, event.metric, event.value, event.occurred_at, now, source)
        for event in sorted(events, key=lambda e: (str(e.workspace.pk), e.event_id))
    ]
    workspace_id = UsageEvent.workspace.field.target_field
    table = UsageEvent._meta.db_table
    returning = ", ".join(_column(UsageEvent, name) for name in ("workspace", "event_id", "id"))
    if connection.vendor == "postgresql":
        returning += ", tableoid::regclass::text"  # the partition that took the row
    inserted: dict[EventKey, int] = {}
    in_partitions = False
    for chunk in _chunks(rows, MAX_BATCH_SIZE):
        sql, params = _insert_sql(UsageEvent, columns, chunk)
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT DO NOTHING RETURNING {returning}", params)
            for row in cursor.fetchall():
                inserted[(workspace_id.to_python(row[0]), row[1])] = row[2]
                in_partitions = in_partitions or (len(row) > 3 and row[3] != table)
    if in_partitions:
        for key in _drop_replays_across_days(inserted):
            del inserted[key]
    return set(inserted)


def _drop_replays_across_days(inserted: Mapping[EventKey, int]) -> list[EventKey]:
    """Delete the rows just inserted whose (workspace, event id) another row already has; return their keys.

    The ingests of a workspace take turns here (a transaction-level advisory lock per workspace,
    in sorted order, held until commit), so each sees what the previous one committed: of two
    concurrent batches with one event id on different days, the second finds the first's row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('usage.ingest:' || ref, 0)) FROM unnest(%s::text[]) AS ref",
            [sorted({str(workspace_id) for workspace_id, _ in inserted})],
        )
        table = connection.ops.quote_name(UsageEvent._meta.db_table)
        workspace, event_id = _column(UsageEvent, "workspace"), _column(UsageEvent, "event_id")
        # Identifiers are quoted by the backend and every value is a parameter.
        cursor.execute(
            f"DELETE FROM {table} AS mine WHERE mine.id = ANY(%s) AND EXISTS ("  # noqa: S608
            f"SELECT 1 FROM {table} AS other WHERE other.{workspace} = mine.{workspace} "
            f"AND other.{event_id} = mine.{event_id} AND other.id <> mine.id) "
            f"RETURNING mine.{workspace}, mine.{event_id}",
            [list(inserted.values())],
        )
        workspace_field = UsageEvent.workspace.field.target_field
        return [(workspace_field.to_python(row[0]), row[1]) for row in cursor.fetchall()]


def _fold_into_rollups(events: Sequence[_Event], *, now: datetime) -> None:
    """Upsert the events into DailyUsage: counters add up, gauges keep the value of the newest event.

    One INSERT … ON CONFLICT DO UPDATE per kind, atomic per row under concurrent batches on
    PostgreSQL. bulk_create(update_conflicts=True) can only overwrite a column with the new value,
    not add to it or keep it when the stored event is newer, hence the SQL."""
    counters: dict[RollupKey, Rollup] = {}
    gauges: dict[RollupKey, Rollup] = {}
    for event in events:
        key = (event.workspace.pk, event.metric, event.occurred_at.date())
        if METRICS[event.metric].is_gauge:
            if key not in gauges or event.occurred_at >= gauges[key][1]:
                gauges[key] = (event.value, event.occurred_at)
        elif key in counters:
            total, newest = counters[key]
            counters[key] = (total + event.value, max(newest, event.occurred_at))
        else:
            counters[key] = (event.value, event.occurred_at)
    table = connection.ops.quote_name(DailyUsage._meta.db_table)
    newer = f"EXCLUDED.{_column(DailyUsage, 'last_event_at')} >= {table}.{_column(DailyUsage, 'last_event_at')}"
    value, last_event_at = _column(DailyUsage, "value"), _column(DailyUsage, "last_event_at")
    updated_at = _column(DailyUsage, "updated_at")
    counter_update = (
        f"{value} = {table}.{value} + EXCLUDED.{value}, "
        f"{last_event_at} = CASE WHEN {newer} THEN EXCLUDED.{last_event_at} ELSE {table}.{last_event_at} END, "
        f"{updated_at} = EXCLUDED.{updated_at}"
    )
    gauge_update = (
        f"{value} = CASE WHEN {newer} THEN EXCLUDED.{value} ELSE {table}.{value} END, "
        f"{last_event_at} = CASE WHEN {newer} THEN EXCLUDED.{last_event_at} ELSE {table}.{last_event_at} END, "
        f"{updated_at} = EXCLUDED.{updated_at}"
    )
    _upsert_rollups(counters, counter_update, now=now)
    _upsert_rollups(gauges, gauge_update, now=now)


def _upsert_rollups(windows: Mapping[RollupKey, Rollup], update_clause: str, *, now: datetime) -> None:
    if not windows:
        return
    columns = ["workspace", "metric", "day", "value", "last_event_at", "updated_at"]
    # Sorted by the unique key, so concurrent batches lock rollup rows in the same order.
    rows = [(*key, value, last_at, now) for key, (value, last_at) in sorted(windows.items(), key=lambda kv: str(kv[0]))]
    conflict = ", ".join(_column(DailyUsage, name) for name in ("workspace", "metric", "day"))
    for chunk in _chunks(rows, MAX_BATCH_SIZE):
        sql, params = _insert_sql(DailyUsage, columns, chunk)
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT ({conflict}) DO UPDATE SET {update_clause}", params)


def _insert_sql(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[object]]
) -> tuple[str, list[Any]]:
    fields = [_field(model, name) for name in field_names]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        model_field.get_db_prep_save(value, connection)
        for row in rows
        for model_field, value in zip(fields, row, strict=True)
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Identifiers are quoted by the backend and every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(rows))}"  # noqa: S608
    return sql, params


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """A concrete field of `model` (one with a column)."""
    model_field = model._meta.get_field(name)
    if not isinstance(model_field, models.Field):
        raise TypeError(f"{model.__name__}.{name} has no column.")
    return model_field


def _column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(_field(model, name).column)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
