"""Reads of the staff console about usage: quota alerts for the dashboard, and the usage charts of the
customer page (the last 30 days of each plan limit, drawn as inline SVG by the template)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from usage.metrics import LIMITS, METRICS
from usage.models import QuotaAlert
from usage.selectors import historical_usage

if TYPE_CHECKING:
    from workspaces.models import Workspace

USAGE_CHART_DAYS = 30
_CHART_WIDTH, _CHART_HEIGHT, _CHART_MARGIN = 300, 80, 6
# The limit line is left out (and said so) when the limit is more than this many times the peak usage.
LIMIT_OFF_SCALE_FACTOR = 4


@dataclass(frozen=True)
class UsageChart:
    """One plan limit over the last days: its usage line and its limit line, in SVG coordinates."""

    name: str
    unit: str
    cumulative: bool  # counters (limits per month) as a running total over the days, gauges as daily levels
    values: list[Decimal]
    limit: Decimal | None  # None: unlimited
    first_day: date
    last_day: date
    width: int = _CHART_WIDTH
    height: int = _CHART_HEIGHT

    @property
    def limit_on_scale(self) -> bool:
        """Whether the limit line is drawn: not when usage is so far below it that the line would flatten usage."""
        return self.limit is not None and self.limit <= max([*self.values, Decimal(0)]) * LIMIT_OFF_SCALE_FACTOR

    @property
    def _top(self) -> Decimal:
        highest = max([*self.values, Decimal(1)])
        if self.limit_on_scale and self.limit is not None:
            highest = max(highest, self.limit)
        return highest * Decimal("1.1")

    def _y(self, value: Decimal) -> float:
        usable = self.height - 2 * _CHART_MARGIN
        return round(float(self.height - _CHART_MARGIN - value / self._top * usable), 1)

    @property
    def points(self) -> str:
        step = self.width / max(len(self.values) - 1, 1)
        return " ".join(f"{round(index * step, 1)},{self._y(value)}" for index, value in enumerate(self.values))

    @property
    def limit_y(self) -> float | None:
        return self._y(self.limit) if self.limit_on_scale and self.limit is not None else None

    @property
    def latest(self) -> Decimal:
        return self.values[-1] if self.values else Decimal(0)

    @property
    def percent(self) -> Decimal | None:
        if not self.limit:
            return None
        return (self.latest * 100 / self.limit).quantize(Decimal(1))

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.latest > self.limit


def usage_charts(*, workspace: Workspace, today: date, days: int = USAGE_CHART_DAYS) -> list[UsageChart]:
    """Per plan limit, the last `days` days (two queries)."""
    first_day = today - timedelta(days=days - 1)
    buckets = historical_usage(workspace=workspace, start=first_day, end=today, granularity="day")
    charts = []
    for limit in LIMITS.values():
        daily = [sum((values[metric] for metric in limit.metrics), Decimal(0)) for _start, _end, values in buckets]
        cumulative = not all(METRICS[metric].is_gauge for metric in limit.metrics)
        if cumulative:
            running, total = [], Decimal(0)
            for value in daily:
                total += value
                running.append(total)
            daily = running
        plan_limit = limit.limit_of(workspace.plan)
        scale = Decimal(limit.unit_size)
        charts.append(
            UsageChart(
                name=limit.name,
                unit="GB" if limit.unit_size > 1 else METRICS[limit.metrics[0]].unit,
                cumulative=cumulative,
                values=[(value / scale).quantize(Decimal("0.01")) for value in daily],
                limit=None if plan_limit is None else Decimal(plan_limit),
                first_day=first_day,
                last_day=today,
            )
        )
    return charts


def quota_alerts_since(*, since: datetime) -> int:
    return QuotaAlert.objects.filter(created_at__gte=since).count()
