"""Usage read from the daily rollups: totals over days, the latest gauges, months and buckets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, TypedDict
from uuid import UUID

from django.db.models import DecimalField, Q, QuerySet, Subquery, Sum, Value

from billing.selectors import calendar_month_period
from centrali.compiled import CompiledQuery
from usage.metrics import COUNTERS, GAUGES, METRICS, ZERO
from usage.models import DailyUsage

if TYPE_CHECKING:
    from billing.selectors import BillingPeriod
    from workspaces.models import Workspace

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")


class MonthUsage(TypedDict):
    period_start: datetime
    period_end: datetime
    totals: dict[str, Decimal]


# (first day, following bucket's first day, {metric: value})
Bucket = tuple[date, date, dict[str, Decimal]]


def _totals_rows(
    *, workspace_id: UUID, start_day: date, end_day: date, recent_from: date
) -> QuerySet[DailyUsage, tuple[str, Decimal, Decimal | None]]:
    # (metric, total over [start_day, end_day), total over [recent_from, end_day)); gauges carry
    # their latest value as the total. Counters and gauges are distinct metrics, so one UNION ALL.
    counter_sums = (
        DailyUsage.objects.filter(
            workspace_id=workspace_id, metric__in=sorted(COUNTERS), day__gte=start_day, day__lt=end_day
        )
        .values_list("metric")
        .annotate(total=Sum("value"), recent=Sum("value", filter=Q(day__gte=recent_from)))
        .order_by()
    )
    gauge_rows = _latest_gauge_rows(workspace_id=workspace_id, before=end_day).annotate(
        recent=Value(ZERO, output_field=DecimalField())
    )
    return counter_sums.union(gauge_rows, all=True)


# Behind every usage and quota read: compiled once (centrali.compiled).
_TOTALS = CompiledQuery(
    _totals_rows,
    placeholders={
        "workspace_id": (DailyUsage, "workspace", UUID(int=0)),
        "start_day": (DailyUsage, "day", date(1, 1, 1)),
        "end_day": (DailyUsage, "day", date(1, 1, 2)),
        "recent_from": (DailyUsage, "day", date(1, 1, 3)),
    },
)


def usage_totals(*, workspace: Workspace, start_day: date, end_day: date) -> dict[str, Decimal]:
    """{metric: value} over the days [start_day, end_day): counters summed, gauges at their last
    value reported before `end_day` (a level persists until reported again). One query."""
    return usage_totals_with_recent(workspace=workspace, start_day=start_day, end_day=end_day, recent_from=end_day)[0]


def usage_totals_with_recent(
    *, workspace: Workspace, start_day: date, end_day: date, recent_from: date
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """`usage_totals` over [start_day, end_day), and beside it each counter summed over the days
    [recent_from, end_day) only (gauges there as in the totals). One query, the same one whatever
    `recent_from` is, so a page that shows both costs what `usage_totals` does."""
    totals = dict.fromkeys(METRICS, ZERO)
    recent = dict.fromkeys(METRICS, ZERO)
    rows = _TOTALS.fetch_rows(workspace_id=workspace.pk, start_day=start_day, end_day=end_day, recent_from=recent_from)
    for metric, total, recent_total in rows:
        totals[metric] = total
        recent[metric] = total if metric in GAUGES else (recent_total or ZERO)
    return totals, recent


def latest_gauges(*, workspace: Workspace, before: date | None = None) -> dict[str, Decimal]:
    """{gauge metric: its newest daily value (before the day `before`)} for the gauges ever reported."""
    return dict(_LATEST_GAUGES.fetch_rows(workspace_id=workspace.pk, before=before or date.max))


def _latest_gauge_rows(*, workspace_id: UUID, before: date) -> QuerySet[DailyUsage, tuple[str, Decimal]]:
    return newest_daily_rows(workspace_id=workspace_id, before=before, metrics=GAUGES)


def newest_daily_rows(
    *, workspace_id: UUID, before: date, metrics: Iterable[str]
) -> QuerySet[DailyUsage, tuple[str, Decimal]]:
    """(metric, value) of each of `metrics`' newest row before the day `before`, for those ever
    reported: one probe of the (workspace, metric, day) index per metric, so the cost stays flat
    however many days of history the workspace has (a newest-day subquery correlated with every
    reported row grew with the history: 31 ms at two years)."""
    newest = [
        Subquery(
            DailyUsage.objects.filter(workspace_id=workspace_id, metric=metric, day__lt=before)
            .order_by("-day")
            .values("pk")[:1]
        )
        for metric in sorted(metrics)
    ]
    return DailyUsage.objects.filter(pk__in=newest).values_list("metric", "value").order_by()


_LATEST_GAUGES = CompiledQuery(
    _latest_gauge_rows,
    placeholders={
        "workspace_id": (DailyUsage, "workspace", UUID(int=0)),
        "before": (DailyUsage, "day", date(1, 1, 2)),
    },
)


def period_days(period: BillingPeriod) -> tuple[date, date]:
    """The UTC days a billing period's usage is counted in: [start day, end day)."""
    return period.start.astimezone(UTC).date(), period.end.astimezone(UTC).date()


def start_of_day(day: date) -> datetime:
    """Midnight UTC of `day`."""
    return datetime.combine(day, datetime.min.time(), UTC)


def month_usage(*, workspace: Workspace, month: date) -> MonthUsage:
    """A calendar month's (UTC) totals: `month` is its first day."""
    period = calendar_month_period(start_of_day(month))
    start_day, end_day = period_days(period)
    totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    return {"period_start": period.start, "period_end": period.end, "totals": totals}


def bucket_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, granularity: Granularity) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def bucket_count(start: date, end: date, granularity: Granularity) -> int:
    """How many buckets cover the days [start, end] (inclusive), aligned to the granularity."""
    if granularity == "day":
        return (end - start).days + 1
    if granularity == "week":
        return (bucket_start(end, "week") - bucket_start(start, "week")).days // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def historical_usage(*, workspace: Workspace, start: date, end: date, granularity: Granularity) -> list[Bucket]:
    """Buckets covering the days [start, end], aligned (ISO weeks from Monday, months from the 1st):
    [(bucket start day, bucket end day exclusive, {metric: value})]. Counters are summed; a gauge
    shows its last value in the bucket, carried forward from earlier buckets when unreported.
    Two queries."""
    first = bucket_start(start, granularity)
    last_end = next_bucket(bucket_start(end, granularity), granularity)
    rows = (
        DailyUsage.objects.filter(workspace=workspace, day__gte=first, day__lt=last_end)
        .order_by("day")
        .values_list("metric", "day", "value")
    )
    by_bucket: dict[date, dict[str, Decimal]] = {}
    for metric, day, value in rows:
        values = by_bucket.setdefault(bucket_start(day, granularity), {})
        values[metric] = value if METRICS[metric].is_gauge else values.get(metric, ZERO) + value

    carried = dict.fromkeys(GAUGES, ZERO) | latest_gauges(workspace=workspace, before=first)
    buckets: list[Bucket] = []
    cursor = first
    while cursor < last_end:
        following = next_bucket(cursor, granularity)
        reported = by_bucket.get(cursor, {})
        values = {metric: reported.get(metric, ZERO) for metric in COUNTERS}
        for metric in GAUGES:
            carried[metric] = reported.get(metric, carried[metric])
            values[metric] = carried[metric]
        buckets.append((cursor, following, {name: values[name] for name in METRICS}))
        cursor = following
    return buckets


def daily_usage_for_export(workspace: Workspace) -> QuerySet[DailyUsage]:
    """The workspace's rollups in the export archive's order."""
    return DailyUsage.objects.filter(workspace=workspace).order_by("day", "metric", "pk")
