"""What usage past a plan's limits costs at the plan's overage rates. Usage prices the overage;
billing decides whether a period's overage is charged, and charges it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from billing.selectors import get_overage_settings
from usage.metrics import LIMITS, OVERAGE_RATES, ZERO
from usage.selectors.rollups import period_days, usage_totals

if TYPE_CHECKING:
    from billing.models import Plan
    from billing.selectors import BillingPeriod
    from workspaces.models import Workspace

UNIT_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class OverageLine:
    metric: str
    units: Decimal  # in the rate's unit (executions, GB, …)
    amount_cents: int
    description: str


def is_priced(plan: Plan, metric: str) -> bool:
    """Whether `plan` has an overage rate for `metric`."""
    return metric in OVERAGE_RATES and OVERAGE_RATES[metric].rate_of(plan) is not None


def overage_metric_units(plan: Plan, totals: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """{priced metric: metric units beyond what the plan includes}.

    A limit's allowance is shared by its metrics in order (file storage first, then blob
    storage); a metric `billed_with` another is billed for that one's share past its limit.
    """
    over: dict[str, Decimal] = {}
    for limit in LIMITS.values():
        plan_limit = limit.limit_of(plan)
        remaining = None if plan_limit is None else Decimal(plan_limit) * limit.unit_size
        for metric in limit.metrics:
            used = totals[metric]
            if remaining is None:
                over[metric] = ZERO
                continue
            over[metric] = max(ZERO, used - remaining)
            remaining = max(ZERO, remaining - used)
    for rate in OVERAGE_RATES.values():
        if rate.billed_with:
            basis = totals[rate.billed_with]
            over[rate.metric] = totals[rate.metric] * over[rate.billed_with] / basis if basis else ZERO
    return over


def overage_estimate(
    *, plan: Plan, totals: Mapping[str, Decimal], spending_cap_cents: int | None, period_label: str = ""
) -> list[OverageLine]:
    """Overage lines at `plan`'s rates for `totals`, their total never above the spending cap.

    Lines are capped in registry order; a line the cap brings to zero is left out.
    """
    over = overage_metric_units(plan, totals)
    lines: list[OverageLine] = []
    billed = 0
    for metric, rate in OVERAGE_RATES.items():
        price = rate.rate_of(plan)
        units = (over.get(metric, ZERO) / rate.unit_size).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
        if price is None or units <= 0:
            continue
        amount = int((units * price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if spending_cap_cents is not None:
            amount = min(amount, spending_cap_cents - billed)
        if amount <= 0:
            continue
        billed += amount
        lines.append(
            OverageLine(
                metric=metric,
                units=units,
                amount_cents=amount,
                description=(
                    f"Overage{f' {period_label}' if period_label else ''}: {units.normalize():,f} {rate.unit_label} "
                    f"at {price.normalize():f} {plan.currency.upper()} each"
                ),
            )
        )
    return lines


def overage_for_period(*, workspace: Workspace, period: BillingPeriod) -> list[OverageLine]:
    """The overage of `period`: one line per priced metric, at the workspace plan's rates, capped
    by the spending cap. Whether it is billable (overage on, or on at some time in the period) is
    billing's decision."""
    overage = get_overage_settings(workspace=workspace)
    start_day, end_day = period_days(period)
    totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    return overage_estimate(
        plan=workspace.plan,
        totals=totals,
        spending_cap_cents=overage.spending_cap_cents,
        period_label=f"{start_day:%Y-%m-%d} to {end_day - timedelta(days=1):%Y-%m-%d}",
    )
