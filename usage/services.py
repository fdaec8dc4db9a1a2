"""Writes of the usage app: idempotent ingestion with rollups, quota alerts, pruning, reconciliation."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.services import record
from billing.selectors import current_billing_period
from centrali.tasks import publish, publish_on_commit
from usage import middleware, selectors
from usage.metrics import LIMIT_OF_METRIC, METRICS
from usage.models import DailyUsage, QuotaAlert, UsageEvent
from workspaces.selectors import get_workspaces_by_refs

MAX_BATCH_SIZE = 1000
EVENT_ID_MAX_LENGTH = UsageEvent._meta.get_field("event_id").max_length
MAX_VALUE = Decimal(10) ** 21  # what VALUE_DIGITS (28 digits, 6 decimal places) can hold
API_CALLS_FLUSHED_THROUGH_KEY = f"{middleware.KEY_PREFIX}:flushed_through"


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
    workspace: object
    metric: str
    value: Decimal
    occurred_at: datetime

    @property
    def key(self):
        """What identifies an event: ids are the reporter's, unique within a workspace only."""
        return (self.workspace.pk, self.event_id)


class _Invalid(Exception):
    pass


def raw_event_retention_cutoff(now):
    """Raw events older than this (midnight UTC, so whole days) are pruned, and refused on ingest."""
    start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - timedelta(days=settings.USAGE_RAW_EVENT_RETENTION_DAYS)


def ingest_events(*, events, source="", now=None):
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
    valid, seen_keys = [], set()
    for index, raw in enumerate(events):
        try:
            event = _parse(raw, workspaces=workspaces, now=now)
        except _Invalid as invalid:
            event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            result.rejected.append(Rejection(index=index, id=event_id, reason=str(invalid)))
            continue
        if event.key in seen_keys:
            result.duplicates += 1
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
    return result


def _parse(raw, *, workspaces, now):
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


def _parse_value(raw):
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _Invalid("`value` must be a number.")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _Invalid("`value` must be a number.") from None
    if not value.is_finite() or abs(value) >= MAX_VALUE:
        raise _Invalid("`value` is out of range.")
    return value.quantize(Decimal("0.000001"))


def _parse_timestamp(raw):
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


def _insert_new_events(events, *, source, now):
    """Insert the events new to their workspace; return their keys (workspace id, event id). The
    unique constraint decides, so two concurrent batches carrying the same event count it once.
    Sorted inserts avoid deadlocks.

    INSERT … ON CONFLICT DO NOTHING RETURNING, because bulk_create(ignore_conflicts=True) does not
    say which rows it inserted (and only the inserted ones may be rolled up)."""
    if not events:
        return set()
    columns = ["event_id", "workspace", "metric", "value", "occurred_at", "received_at", "source"]
    rows = [
        (event.event_id, event.workspace.pk, event.metric, event.value, event.occurred_at, now, source)
        for event in sorted(events, key=lambda e: (str(e.workspace.pk), e.event_id))
    ]
    workspace_id = UsageEvent._meta.get_field("workspace").target_field
    key_columns = ", ".join(_column(UsageEvent, name) for name in ("workspace", "event_id"))
    inserted = set()
    for chunk in _chunks(rows, MAX_BATCH_SIZE):
        sql, params = _insert_sql(UsageEvent, columns, chunk)
        sql += f" ON CONFLICT ({key_columns}) DO NOTHING RETURNING {key_columns}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted.update((workspace_id.to_python(row[0]), row[1]) for row in cursor.fetchall())
    return inserted


def _fold_into_rollups(events, *, now):
    """Upsert the events into DailyUsage: counters add up, gauges keep the value of the newest event.

    One INSERT … ON CONFLICT DO UPDATE per kind, atomic per row under concurrent batches on
    PostgreSQL. bulk_create(update_conflicts=True) can only overwrite a column with the new value,
    not add to it or keep it when the stored event is newer, hence the SQL."""
    counters, gauges = defaultdict(lambda: [Decimal(0), None]), {}
    for event in events:
        key = (event.workspace.pk, event.metric, event.occurred_at.date())
        if METRICS[event.metric].is_gauge:
            if key not in gauges or event.occurred_at >= gauges[key][1]:
                gauges[key] = [event.value, event.occurred_at]
        else:
            total = counters[key]
            total[0] += event.value
            total[1] = max(total[1], event.occurred_at) if total[1] else event.occurred_at
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


def _upsert_rollups(windows, update_clause, *, now):
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


def _insert_sql(model, field_names, rows):
    fields = [model._meta.get_field(name) for name in field_names]
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


def _column(model, name):
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- This service's own API calls


def flush_api_call_counts(*, now=None):
    """Ingest the api_calls counted by usage.middleware for every closed minute not flushed yet.

    Event ids are the minute and the workspace, so flushing a minute twice counts it once.
    Returns the number of events accepted.
    """
    now = now or timezone.now()
    # One minute of grace for web servers whose clocks run behind.
    last_closed = middleware.minute_of(now) - 2
    flushed_through = cache.get(API_CALLS_FLUSHED_THROUGH_KEY)
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
        at = datetime.fromtimestamp(minute * 60, UTC).isoformat()
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
        accepted += ingest_events(events=events, source="workspace-service", now=now).accepted
        cache.delete_many([middleware.slot_count_key(minute), *slot_keys, *counts])
    cache.set(API_CALLS_FLUSHED_THROUGH_KEY, max(last_closed, flushed_through or 0), None)
    return accepted


# --- Quota alerts


def raise_quota_alerts(*, workspace, now=None):
    """Record (once per limit, period and threshold) that usage crossed 80% or 100% of a plan limit.

    Each new alert emails the owner after commit; reaching 100% is also an audit event.
    Returns the alerts created.
    """
    now = now or timezone.now()
    period = current_billing_period(workspace=workspace, now=now)
    already = set(
        QuotaAlert.objects.filter(workspace=workspace, period_start=period.start).values_list("limit", "threshold")
    )
    crossed = [
        (status, threshold)
        for status in selectors.limit_statuses(workspace=workspace, plan=workspace.plan, period=period)
        if status.percent is not None
        for threshold in QuotaAlert.Threshold
        if status.percent >= threshold and (status.name, threshold) not in already
    ]
    created = []
    for status, threshold in crossed:
        with transaction.atomic():
            alert, is_new = QuotaAlert.objects.get_or_create(
                workspace=workspace,
                limit=status.name,
                period_start=period.start,
                threshold=threshold,
                defaults={"used": status.used, "limit_value": status.limit},
            )
            if not is_new:
                continue  # a concurrent check raised it first
            if threshold == QuotaAlert.Threshold.REACHED:
                record(
                    workspace=workspace,
                    event_type="quota.reached",
                    resource_type="quota",
                    resource_id=status.name,
                    summary=f"Plan limit '{status.name}' reached ({_plain(status.used)} of {_plain(status.limit)})",
                    metadata={
                        "limit": status.name,
                        "used": _plain(status.used),
                        "limit_value": _plain(status.limit),
                        "period_start": period.start.isoformat(),
                    },
                )

            # Not published (broker down): resend_unsent_quota_alerts publishes it again later.
            publish_on_commit("usage.send_quota_alert_email", alert_id=alert.pk)
        created.append(alert)
    return created


def _plain(value):
    return f"{value.normalize():f}"


def mark_alert_emailed(*, alert, now=None):
    QuotaAlert.objects.filter(pk=alert.pk, emailed_at__isnull=True).update(emailed_at=now or timezone.now())


# An alert's email is published again if it is still unsent this long after the alert was raised
# (its publish failed, or its task gave up); after the window it is stale and left alone.
UNSENT_ALERT_GRACE = timedelta(minutes=1)
UNSENT_ALERT_WINDOW = timedelta(days=2)


def resend_unsent_quota_alerts(*, now=None):
    """Publish the email task again for each alert not emailed yet; returns how many were published."""

    now = now or timezone.now()
    unsent = QuotaAlert.objects.filter(
        emailed_at__isnull=True,
        created_at__lt=now - UNSENT_ALERT_GRACE,
        created_at__gte=now - UNSENT_ALERT_WINDOW,
    ).values_list("pk", flat=True)
    published = 0
    for alert_id in unsent.iterator():
        if not publish("usage.send_quota_alert_email", alert_id=alert_id):
            break  # the broker is still down: the next sweep tries again
        published += 1
    return published


# --- Retention and reconciliation


def prune_raw_events(*, now=None, batch_size=5000):
    """Delete raw events older than the retention window (they are in the rollups already)."""
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
    day: object
    stored: Decimal | None
    rebuilt: Decimal | None


def reconcile_rollups(*, since, workspace=None, apply=True, now=None):
    """Rebuild the daily rollups of days >= `since` from the raw events; return the differences found.

    With `apply`, the stored rollups are corrected in one transaction (rows with no raw event left
    behind them are deleted). Days before the retention cutoff are refused: their raw events are gone.
    """
    now = now or timezone.now()
    cutoff = raw_event_retention_cutoff(now).date()
    if since < cutoff:
        raise ValueError(f"Raw events before {cutoff} are pruned; reconcile from {cutoff} or later.")
    events = UsageEvent.objects.filter(occurred_at__gte=datetime.combine(since, datetime.min.time(), UTC))
    stored_rows = DailyUsage.objects.filter(day__gte=since)
    if workspace is not None:
        events, stored_rows = events.filter(workspace=workspace), stored_rows.filter(workspace=workspace)

    with transaction.atomic():
        # Lock the stored rollups before reading the raw events: an ingest that would change one
        # of them waits for this rebuild, and one that committed earlier is in the events read next.
        locked_rows = stored_rows.select_for_update() if apply else stored_rows
        stored = {(row.workspace_id, row.metric, row.day): row for row in locked_rows.iterator()}
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
                row.delete()
            else:
                DailyUsage.objects.update_or_create(
                    workspace_id=key[0],
                    metric=key[1],
                    day=key[2],
                    defaults={"value": fresh[0], "last_event_at": fresh[1], "updated_at": now},
                )
    return differences


def _rollups_from_raw_events(events):
    """{(workspace id, metric, day): (value, newest event time)} folded as ingestion folds them."""
    rebuilt = {}
    for workspace_id, metric, value, occurred_at in (
        events.order_by("occurred_at", "pk")
        .values_list("workspace_id", "metric", "value", "occurred_at")
        .iterator(chunk_size=5000)
    ):
        key = (workspace_id, metric, occurred_at.astimezone(UTC).date())
        if METRICS[metric].is_gauge:
            rebuilt[key] = (value, occurred_at)
        else:
            total, _ = rebuilt.get(key, (Decimal(0), None))
            rebuilt[key] = (total + value, occurred_at)
    return rebuilt
