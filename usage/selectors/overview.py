"""GET /{slug}/overview: the workspace at a glance from the rollups, memberships and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict
from uuid import UUID

from django.db.models import DecimalField, Q, Sum, Value

from audit.selectors import member_activity_counts, recent_activity
from centrali.compiled import CompiledQuery
from usage.metrics import COUNTERS, GAUGES, ZERO
from usage.models import DailyUsage
from usage.selectors.rollups import newest_daily_rows

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from audit.models import AuditEvent
    from workspaces.models import Workspace

# Each block and the metrics it shows: a block none of them was ever reported for is None.
OVERVIEW_BLOCKS = {
    "structures": ("structures", "structures_created"),
    "records": ("records", "records_created"),
    "storage": ("storage_bytes", "files"),
    "compute": ("functions", "function_invocations", "function_failures"),
    "scheduler": ("scheduler_active_jobs", "scheduler_failures"),
}
OVERVIEW_RECENT_ACTIVITY = 10

Block = dict[str, Decimal]  # the block's fields as the API names them


class OverviewUsage(TypedDict):
    structures: Block | None
    records: Block | None
    storage: Block | None
    compute: Block | None
    scheduler: Block | None


class UsersBlock(TypedDict):
    total: int
    activeThisWeek: int  # the API's name


class Overview(OverviewUsage):
    users: UsersBlock
    recent_activity: list[AuditEvent]


_BLOCK_METRICS = frozenset(metric for metrics in OVERVIEW_BLOCKS.values() for metric in metrics)
_BLOCK_COUNTERS = _BLOCK_METRICS & COUNTERS


def _overview_usage_rows(
    *, workspace_id: UUID, today: date, week_start: date
) -> QuerySet[DailyUsage, tuple[str, Decimal | None, Decimal | None]]:
    # (counter, its sum today, its sum since week_start) for each of the blocks' counters reported
    # since week_start, then (metric, its newest value, NULL) for each of the blocks' metrics ever
    # reported: a gauge's level, and for a counter only that it was reported. A week of rows and
    # one index probe per metric, whatever the history.
    week_sums = (
        DailyUsage.objects.filter(workspace_id=workspace_id, metric__in=sorted(_BLOCK_COUNTERS), day__gte=week_start)
        .values_list("metric")
        .annotate(today_sum=Sum("value", filter=Q(day=today)), week_sum=Sum("value"))
        .order_by()
    )
    newest = newest_daily_rows(workspace_id=workspace_id, before=date.max, metrics=_BLOCK_METRICS).annotate(
        week_sum=Value(None, output_field=DecimalField())
    )
    return week_sums.union(newest, all=True)


# Read on every overview: compiled once (centrali.compiled).
_OVERVIEW_USAGE = CompiledQuery(
    _overview_usage_rows,
    placeholders={
        "workspace_id": (DailyUsage, "workspace", UUID(int=0)),
        "today": (DailyUsage, "day", date(1, 1, 1)),
        "week_start": (DailyUsage, "day", date(1, 1, 2)),
    },
)


def overview_usage(*, workspace: Workspace, today: date) -> OverviewUsage:
    """The overview's usage blocks; a block is None when none of its metrics was ever reported.
    One query: the counters today and over the last 7 days, the newest value of every metric."""
    week_start = today - timedelta(days=6)
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    gauges: dict[str, Decimal] = {}
    reported = set()
    rows = _OVERVIEW_USAGE.fetch_rows(workspace_id=workspace.pk, today=today, week_start=week_start)
    for metric, first, week_sum in rows:
        reported.add(metric)
        if week_sum is not None:  # a counter's sums (a sum over rows is never NULL)
            sums[metric] = (first or ZERO, week_sum)
        elif metric in GAUGES:
            gauges[metric] = first

    def gauge(name: str) -> Decimal:
        return gauges.get(name, ZERO)

    def today_of(name: str) -> Decimal:
        return sums.get(name, (ZERO, ZERO))[0]

    def this_week_of(name: str) -> Decimal:
        return sums.get(name, (ZERO, ZERO))[1]

    blocks: dict[str, Block] = {
        "structures": {"total": gauge("structures"), "recentlyCreated": this_week_of("structures_created")},
        "records": {"total": gauge("records"), "createdToday": today_of("records_created")},
        "storage": {"usedBytes": gauge("storage_bytes"), "fileCount": gauge("files")},
        "compute": {
            "functionsTotal": gauge("functions"),
            "runsToday": today_of("function_invocations"),
            "failedToday": today_of("function_failures"),
        },
        "scheduler": {"activeJobs": gauge("scheduler_active_jobs"), "failedToday": today_of("scheduler_failures")},
    }

    def shown(name: str) -> Block | None:
        return blocks[name] if reported & set(OVERVIEW_BLOCKS[name]) else None

    return {
        "structures": shown("structures"),
        "records": shown("records"),
        "storage": shown("storage"),
        "compute": shown("compute"),
        "scheduler": shown("scheduler"),
    }


def overview(*, workspace: Workspace, now: datetime) -> Overview:
    """Usage blocks from the rollups, users from memberships (active = an audit-log actor in the
    last 7 days), and the newest audit events. Four queries."""
    today = now.astimezone(UTC).date()
    total, active = member_activity_counts(workspace=workspace, since=now - timedelta(days=7))
    return {
        **overview_usage(workspace=workspace, today=today),
        "users": {"total": total, "activeThisWeek": active},
        "recent_activity": recent_activity(workspace=workspace, limit=OVERVIEW_RECENT_ACTIVITY),
    }
