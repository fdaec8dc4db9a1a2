"""Usage against the plan's limits: how far along each limit is, and whether a metric may grow."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict
from uuid import UUID

from django.utils import timezone

from billing.selectors import (
    billing_terms_of,
    current_billing_period,
    get_overage_settings,
    stripe_livemode,
    with_billing_terms,
)
from centrali.compiled import CompiledQuery
from centrali.formats import parse_uuid
from usage.metrics import LIMIT_OF_METRIC, LIMITS, METRICS, ZERO
from usage.selectors.pricing import is_priced, overage_estimate
from usage.selectors.rollups import period_days, usage_totals
from workspaces.models import Workspace
from workspaces.selectors import workspaces_with_plan

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from billing.models import OverageSettings, Plan
    from billing.selectors import BillingPeriod


@dataclass(frozen=True)
class LimitStatus:
    name: str  # the def-2 limit name
    limit: Decimal | None  # in metric units (bytes for storage_gb); None = unlimited
    used: Decimal  # in metric units, summed over the limit's metrics
    percent: Decimal | None

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.used > self.limit


def limit_statuses(
    *, workspace: Workspace, plan: Plan, period: BillingPeriod, totals: Mapping[str, Decimal] | None = None
) -> list[LimitStatus]:
    """Every def-2 limit of `plan` against the workspace's usage in `period` (or `totals`)."""
    if totals is None:
        start_day, end_day = period_days(period)
        totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    statuses = []
    for limit in LIMITS.values():
        used = sum((totals[metric] for metric in limit.metrics), ZERO)
        plan_limit = limit.limit_of(plan)
        allowance = None if plan_limit is None else Decimal(plan_limit) * limit.unit_size
        percent = None
        if allowance is not None:
            percent = (used * 100 / allowance).quantize(Decimal("0.01")) if allowance else Decimal(100)
        statuses.append(LimitStatus(name=limit.name, limit=allowance, used=used, percent=percent))
    return statuses


def limits_exceeded(*, workspace: Workspace, plan: Plan) -> list[str]:
    """The def-2 limit names whose current usage (this billing period's counters, the latest gauge
    values) exceeds `plan`'s limit. Billing asks this before a downgrade."""
    period = current_billing_period(workspace=workspace, now=timezone.now())
    return [status.name for status in limit_statuses(workspace=workspace, plan=plan, period=period) if status.exceeded]


@dataclass(frozen=True)
class Quota:
    """Whether a metric may grow now."""

    metric: str
    limit_name: str | None
    allowed: bool
    # WITHIN_LIMIT, UNLIMITED, OVERAGE, QUOTA_EXCEEDED, SPENDING_CAP_REACHED,
    # WORKSPACE_SUSPENDED, WORKSPACE_PENDING_DELETION
    reason: str
    used: Decimal
    limit: Decimal | None


def quotas(
    *,
    workspace: Workspace,
    period: BillingPeriod,
    metrics: Iterable[str] | None = None,
    totals: Mapping[str, Decimal] | None = None,
    overage: OverageSettings | None = None,
) -> list[Quota]:
    """Whether each metric may grow now: within its limit, or past it on overage until the cap.
    Nothing may grow in a suspended workspace or one pending deletion, whatever its usage."""
    start_day, end_day = period_days(period)
    if totals is None:
        totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    if overage is None:
        overage = get_overage_settings(workspace=workspace)
    plan = workspace.plan
    statuses = {
        status.name: status for status in limit_statuses(workspace=workspace, plan=plan, period=period, totals=totals)
    }
    cap_reached = False
    if overage.enabled and overage.spending_cap_cents is not None:
        uncapped = overage_estimate(plan=plan, totals=totals, spending_cap_cents=None)
        cap_reached = sum(line.amount_cents for line in uncapped) >= overage.spending_cap_cents

    answers = []
    for metric in metrics or METRICS:
        limit = LIMIT_OF_METRIC.get(metric)
        status = statuses[limit.name] if limit else None
        if workspace.is_suspended:
            reason, allowed = "WORKSPACE_SUSPENDED", False
        elif workspace.is_pending_deletion:
            reason, allowed = "WORKSPACE_PENDING_DELETION", False
        elif limit is None or status is None or status.limit is None:
            reason, allowed = "UNLIMITED", True
        elif not status.reached:
            reason, allowed = "WITHIN_LIMIT", True
        elif overage.enabled and all(is_priced(plan, m) for m in limit.metrics):
            reason = "SPENDING_CAP_REACHED" if cap_reached else "OVERAGE"
            allowed = not cap_reached
        else:
            reason, allowed = "QUOTA_EXCEEDED", False
        answers.append(
            Quota(
                metric=metric,
                limit_name=limit.name if limit else None,
                allowed=allowed,
                reason=reason,
                used=status.used if status else totals[metric],
                limit=status.limit if status else None,
            )
        )
    return answers


class QuotaReport(TypedDict):
    workspace: str
    period_start: datetime
    period_end: datetime
    overage_enabled: bool
    metrics: dict[str, Quota]


def quota_report(*, ref: str, now: datetime, metric: str | None = None) -> QuotaReport | None:
    """The internal quota endpoint's answer for the workspace named by slug or id (every metric, or
    just `metric`); None when no workspace has that name.

    The platform asks this before every write, so it is two queries: the workspace with its plan and
    its billing terms, then its usage over the billing period those terms give."""
    workspace_id = parse_uuid(ref)
    by, value = (_QUOTA_SUBJECT_BY_ID, workspace_id) if workspace_id is not None else (_QUOTA_SUBJECT_BY_SLUG, ref)
    found = by.fetch(variant=stripe_livemode(), limit=1, ref=value)
    if not found:
        return None
    workspace = found[0]
    terms = billing_terms_of(workspace, now=now)
    period, overage = terms.period, terms.overage
    answers = quotas(workspace=workspace, period=period, metrics=[metric] if metric else None, overage=overage)
    return {
        "workspace": workspace.slug,
        "period_start": period.start,
        "period_end": period.end,
        "overage_enabled": overage.enabled,
        "metrics": {answer.metric: answer for answer in answers},
    }


def _quota_subject_rows(*, variant: bool, **lookup: Any) -> QuerySet[Workspace]:
    # At most one row (id and slug are unique): no ORDER BY to compile or sort.
    return with_billing_terms(workspaces_with_plan(**lookup), livemode=variant).order_by()[:1]


# Compiled once (centrali.compiled); the Stripe mode is the variant.
_QUOTA_SUBJECT_BY_ID = CompiledQuery(
    lambda *, ref, variant: _quota_subject_rows(pk=ref, variant=variant),
    placeholders={"ref": (Workspace, "id", UUID(int=0))},
)
_QUOTA_SUBJECT_BY_SLUG = CompiledQuery(
    lambda *, ref, variant: _quota_subject_rows(slug=ref, variant=variant),
    placeholders={"ref": (Workspace, "slug", "\0slug")},
)
