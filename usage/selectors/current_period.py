"""The current billing period at a glance: per metric used, limit, quota, overage and projection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from usage.metrics import LIMIT_OF_METRIC, METRICS, OVERAGE_RATES, ZERO
from usage.selectors.limits import limit_statuses, quotas
from usage.selectors.pricing import UNIT_PLACES, overage_estimate, overage_metric_units
from usage.selectors.rollups import period_days, start_of_day, usage_totals_with_recent

if TYPE_CHECKING:
    from billing.selectors import BillingPeriod, BillingTerms
    from workspaces.models import Workspace

# The projection extends the counters' daily rate over this many trailing days (see `projection`).
RATE_WINDOW_DAYS = 7


class MetricUsage(TypedDict):
    kind: str
    unit: str
    used: Decimal
    limit_name: str | None
    limit: Decimal | None
    percent: Decimal | None
    over_quota: bool
    quota_reason: str
    overage_units: Decimal  # beyond the plan, in the unit the overage rate prices (GB for storage)
    estimated_overage_cents: int
    projected: Decimal


class CurrentUsage(TypedDict):
    totals: dict[str, Decimal]
    metrics: dict[str, MetricUsage]
    overage_enabled: bool
    spending_cap_cents: int | None
    estimated_overage_cents: int
    projected_overage_cents: int
    currency: str


def current_usage(*, workspace: Workspace, terms: BillingTerms, now: datetime) -> CurrentUsage:
    """The current billing period: per metric used, limit, percent, quota, overage and projection."""
    period, overage = terms.period, terms.overage
    start_day, end_day = period_days(period)
    window_start_day = rate_window_start(workspace=workspace, period=period, now=now)
    totals, recent = usage_totals_with_recent(
        workspace=workspace, start_day=start_day, end_day=end_day, recent_from=window_start_day
    )
    plan = workspace.plan
    statuses = {s.name: s for s in limit_statuses(workspace=workspace, plan=plan, period=period, totals=totals)}
    quota_by_metric = {q.metric: q for q in quotas(workspace=workspace, period=period, totals=totals, overage=overage)}
    over_units = overage_metric_units(plan, totals)
    lines = (
        overage_estimate(plan=plan, totals=totals, spending_cap_cents=overage.spending_cap_cents)
        if overage.enabled
        else []
    )
    cost_by_metric = {line.metric: line.amount_cents for line in lines}

    projected = projection(period=period, now=now, totals=totals, recent=recent, window_start_day=window_start_day)
    projected_lines = (
        overage_estimate(plan=plan, totals=projected, spending_cap_cents=overage.spending_cap_cents)
        if overage.enabled
        else []
    )

    metrics: dict[str, MetricUsage] = {}
    for name, metric in METRICS.items():
        limit = LIMIT_OF_METRIC.get(name)
        status = statuses[limit.name] if limit else None
        unit_size = OVERAGE_RATES[name].unit_size if name in OVERAGE_RATES else 1
        metrics[name] = {
            "kind": metric.kind,
            "unit": metric.unit,
            "used": totals[name],
            "limit_name": limit.name if limit else None,
            "limit": status.limit if status else None,
            "percent": status.percent if status else None,
            "over_quota": not quota_by_metric[name].allowed,
            "quota_reason": quota_by_metric[name].reason,
            "overage_units": (over_units.get(name, ZERO) / unit_size).quantize(UNIT_PLACES),
            "estimated_overage_cents": cost_by_metric.get(name, 0),
            "projected": projected[name],
        }
    return {
        "totals": totals,
        "metrics": metrics,
        "overage_enabled": overage.enabled,
        "spending_cap_cents": overage.spending_cap_cents,
        "estimated_overage_cents": sum(cost_by_metric.values()),
        "projected_overage_cents": sum(line.amount_cents for line in projected_lines),
        "currency": plan.currency,
    }


def rate_window_start(*, workspace: Workspace, period: BillingPeriod, now: datetime) -> date:
    """The first UTC day of the window the projection measures counters' rate over: the trailing
    RATE_WINDOW_DAYS before today, or the period's or the workspace's first day when more recent."""
    today = now.astimezone(UTC).date()
    period_start_day, _ = period_days(period)
    return max(today - timedelta(days=RATE_WINDOW_DAYS), period_start_day, workspace.created_at.astimezone(UTC).date())


def projection(
    *,
    period: BillingPeriod,
    now: datetime,
    totals: dict[str, Decimal],
    recent: dict[str, Decimal],
    window_start_day: date,
) -> dict[str, Decimal]:
    """{metric: its value at the period's end} if usage goes on at the workspace's recent rate.

    `recent` holds each counter summed from `window_start_day` (see `rate_window_start`) to now.
    A window shorter than a day counts as one day, so a busy first hour is read as a busy day,
    not as a month of busy hours. Projected = used so far + rate x time left, never below what
    is used. Gauges stay at their level.
    """
    if now >= period.end:
        return dict(totals)
    window = max(now - start_of_day(window_start_day), timedelta(days=1))
    time_left = Decimal((period.end - now) / window)  # in windows
    projected = {}
    for metric, used in totals.items():
        if METRICS[metric].is_gauge:
            projected[metric] = used
        else:
            projected[metric] = max(used, used + recent[metric] * time_left).quantize(Decimal("0.01"))
    return projected
