"""Reads of the usage app. Every read works on the daily rollups, never on raw events."""

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from audit.selectors import ActivityFilters, filtered_events, recent_activity
from billing.selectors import calendar_month_period, current_billing_period, get_overage_settings
from usage.metrics import COUNTERS, GAUGES, LIMIT_OF_METRIC, LIMITS, METRICS, OVERAGE_RATES, ZERO
from usage.models import DailyUsage
from workspaces.selectors import member_counts

UNIT_PLACES = Decimal("0.000001")


def usage_totals(*, workspace, start_day, end_day):
    """{metric: value} over the days [start_day, end_day): counters summed, gauges at their last
    value reported before `end_day` (a level persists until reported again). Two queries."""
    totals = dict.fromkeys(METRICS, ZERO)
    counter_sums = (
        DailyUsage.objects.filter(workspace=workspace, metric__in=COUNTERS, day__gte=start_day, day__lt=end_day)
        .values_list("metric")
        .annotate(total=Sum("value"))
        .order_by()
    )
    totals.update(dict(counter_sums))
    totals.update(latest_gauges(workspace=workspace, before=end_day))
    return totals


def latest_gauges(*, workspace, before=None):
    """{gauge metric: its newest daily value (before the day `before`)} for the gauges ever reported."""
    rows = DailyUsage.objects.filter(workspace=workspace, metric__in=GAUGES)
    if before is not None:
        rows = rows.filter(day__lt=before)
    newest_day = rows.filter(metric=OuterRef("metric")).order_by("-day").values("day")[:1]
    return dict(rows.filter(day=Subquery(newest_day)).values_list("metric", "value"))


def period_days(period):
    """The UTC days a billing period's usage is counted in: [start day, end day)."""
    return period.start.astimezone(UTC).date(), period.end.astimezone(UTC).date()


# --- Limits and quotas


@dataclass(frozen=True)
class LimitStatus:
    name: str  # the def-2 limit name
    limit: Decimal | None  # in metric units (bytes for storage_gb); None = unlimited
    used: Decimal  # in metric units, summed over the limit's metrics
    percent: Decimal | None

    @property
    def reached(self):
        return self.limit is not None and self.used >= self.limit

    @property
    def exceeded(self):
        return self.limit is not None and self.used > self.limit


def limit_statuses(*, workspace, plan, period, totals=None):
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


def limits_exceeded(*, workspace, plan):
    """The def-2 limit names whose current usage (this billing period's counters, the latest gauge
    values) exceeds `plan`'s limit. Billing asks this before a downgrade."""
    period = current_billing_period(workspace=workspace, now=timezone.now())
    return [status.name for status in limit_statuses(workspace=workspace, plan=plan, period=period) if status.exceeded]


# --- Overage


@dataclass(frozen=True)
class OverageLine:
    metric: str
    units: Decimal  # in the rate's unit (executions, GB, …)
    amount_cents: int
    description: str


def _overage_metric_units(plan, totals):
    """{priced metric: metric units beyond what the plan includes}.

    A limit's allowance is shared by its metrics in order (file storage first, then blob
    storage); a metric `billed_with` another is billed for that one's share past its limit.
    """
    over = {}
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


def overage_estimate(*, plan, totals, spending_cap_cents, period_label=""):
    """Overage lines at `plan`'s rates for `totals`, their total never above the spending cap.

    Lines are capped in registry order; a line the cap brings to zero is left out.
    """
    over = _overage_metric_units(plan, totals)
    lines, billed = [], 0
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


def overage_for_period(*, workspace, period):
    """The overage of `period` (a billing.selectors.BillingPeriod): one line per priced metric,
    at the workspace plan's rates, capped by the spending cap. Whether it is billable (overage
    on, or on at some time in the period) is billing's decision."""
    settings = get_overage_settings(workspace=workspace)
    start_day, end_day = period_days(period)
    totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    return overage_estimate(
        plan=workspace.plan,
        totals=totals,
        spending_cap_cents=settings.spending_cap_cents,
        period_label=f"{start_day:%Y-%m-%d} to {end_day - timedelta(days=1):%Y-%m-%d}",
    )


# --- Quota (may a metric grow?)


@dataclass(frozen=True)
class Quota:
    metric: str
    limit_name: str | None
    allowed: bool
    # WITHIN_LIMIT, UNLIMITED, OVERAGE, QUOTA_EXCEEDED, SPENDING_CAP_REACHED,
    # WORKSPACE_SUSPENDED, WORKSPACE_PENDING_DELETION
    reason: str
    used: Decimal
    limit: Decimal | None


def quotas(*, workspace, period, metrics=None, totals=None, overage=None):
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
        elif status is None or status.limit is None:
            reason, allowed = "UNLIMITED", True
        elif not status.reached:
            reason, allowed = "WITHIN_LIMIT", True
        elif overage.enabled and all(_is_priced(plan, m) for m in limit.metrics):
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


def _is_priced(plan, metric):
    return metric in OVERAGE_RATES and OVERAGE_RATES[metric].rate_of(plan) is not None


def quota_report(*, workspace, period, metric=None):
    """The internal quota endpoint's answer for the workspace (every metric, or just `metric`)."""
    overage = get_overage_settings(workspace=workspace)
    answers = quotas(workspace=workspace, period=period, metrics=[metric] if metric else None, overage=overage)
    return {
        "workspace": workspace.slug,
        "period_start": period.start,
        "period_end": period.end,
        "overage_enabled": overage.enabled,
        "metrics": {answer.metric: asdict(answer) for answer in answers},
    }


# --- Reads behind the endpoints


def current_usage(*, workspace, period, now):
    """The current billing period: per metric used, limit, percent, quota, overage and projection."""
    start_day, end_day = period_days(period)
    totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    plan = workspace.plan
    overage = get_overage_settings(workspace=workspace)
    statuses = {s.name: s for s in limit_statuses(workspace=workspace, plan=plan, period=period, totals=totals)}
    quota_by_metric = {q.metric: q for q in quotas(workspace=workspace, period=period, totals=totals, overage=overage)}
    over_units = _overage_metric_units(plan, totals)
    lines = (
        overage_estimate(plan=plan, totals=totals, spending_cap_cents=overage.spending_cap_cents)
        if overage.enabled
        else []
    )
    cost_by_metric = {line.metric: line.amount_cents for line in lines}

    elapsed = max(now - period.start, timedelta(hours=1))
    stretch = Decimal((period.end - period.start) / elapsed) if now < period.end else Decimal(1)
    projected = {
        metric: value if METRICS[metric].is_gauge else (value * max(stretch, Decimal(1))).quantize(Decimal("0.01"))
        for metric, value in totals.items()
    }
    projected_lines = (
        overage_estimate(plan=plan, totals=projected, spending_cap_cents=overage.spending_cap_cents)
        if overage.enabled
        else []
    )

    metrics = {}
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
            # beyond the plan, in the unit the overage rate prices (GB for storage)
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


def month_usage(*, workspace, month):
    """A calendar month's (UTC) totals: `month` is its first day."""
    period = calendar_month_period(start_of_day(month))
    start_day, end_day = period_days(period)
    totals = usage_totals(workspace=workspace, start_day=start_day, end_day=end_day)
    return {"period_start": period.start, "period_end": period.end, "totals": totals}


GRANULARITIES = ("day", "week", "month")


def bucket_start(day, granularity):
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_bucket(start, granularity):
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def bucket_count(start, end, granularity):
    """How many buckets cover the days [start, end] (inclusive), aligned to the granularity."""
    if granularity == "day":
        return (end - start).days + 1
    if granularity == "week":
        return (bucket_start(end, "week") - bucket_start(start, "week")).days // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def historical_usage(*, workspace, start, end, granularity):
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
    by_bucket = {}
    for metric, day, value in rows:
        values = by_bucket.setdefault(bucket_start(day, granularity), {})
        values[metric] = value if METRICS[metric].is_gauge else values.get(metric, ZERO) + value

    carried = dict.fromkeys(GAUGES, ZERO) | latest_gauges(workspace=workspace, before=first)
    buckets, cursor = [], first
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


# --- Overview


OVERVIEW_BLOCKS = {
    "structures": ("structures", "structures_created"),
    "records": ("records", "records_created"),
    "storage": ("storage_bytes", "files"),
    "compute": ("functions", "function_invocations", "function_failures"),
    "scheduler": ("scheduler_active_jobs", "scheduler_failures"),
}


def overview_usage(*, workspace, today):
    """The overview's usage blocks; a block is None when none of its metrics was ever reported.
    Two queries: counters today/this week (and which metrics were ever reported), newest gauges."""
    week_start = today - timedelta(days=6)
    # Every metric ever reported, with its sums today and over the last 7 days (read for counters).
    sums = {
        metric: (today_sum or ZERO, week_sum or ZERO)
        for metric, today_sum, week_sum in DailyUsage.objects.filter(workspace=workspace)
        .values_list("metric")
        .annotate(
            today_sum=Sum("value", filter=Q(day=today)),
            week_sum=Sum("value", filter=Q(day__gte=week_start)),
        )
        .order_by()
    }
    gauges = latest_gauges(workspace=workspace)
    reported = set(sums) | set(gauges)

    def gauge(name):
        return gauges.get(name, ZERO)

    def today_of(name):
        return sums.get(name, (ZERO, ZERO))[0]

    blocks = {
        "structures": {
            "total": gauge("structures"),
            "recentlyCreated": sums.get("structures_created", (ZERO, ZERO))[1],
        },
        "records": {"total": gauge("records"), "createdToday": today_of("records_created")},
        "storage": {"usedBytes": gauge("storage_bytes"), "fileCount": gauge("files")},
        "compute": {
            "functionsTotal": gauge("functions"),
            "runsToday": today_of("function_invocations"),
            "failedToday": today_of("function_failures"),
        },
        "scheduler": {"activeJobs": gauge("scheduler_active_jobs"), "failedToday": today_of("scheduler_failures")},
    }
    return {name: block if reported & set(OVERVIEW_BLOCKS[name]) else None for name, block in blocks.items()}


OVERVIEW_RECENT_ACTIVITY = 10


def overview(*, workspace, now):
    """GET /{slug}/overview: usage blocks from the rollups, users from memberships (active = an
    audit-log actor in the last 7 days), and the newest audit events. Six queries."""
    today = now.astimezone(UTC).date()
    active_ids = (
        filtered_events(workspace=workspace, filters=ActivityFilters(date_from=now - timedelta(days=7)))
        .order_by()
        .values_list("actor_id", flat=True)
        .distinct()
    )
    total, active = member_counts(workspace=workspace, active_user_ids=list(active_ids))
    return {
        **overview_usage(workspace=workspace, today=today),
        "users": {"total": total, "activeThisWeek": active},
        "recent_activity": recent_activity(workspace=workspace, limit=OVERVIEW_RECENT_ACTIVITY),
    }


def daily_usage_for_export(workspace):
    return DailyUsage.objects.filter(workspace=workspace).order_by("day", "metric", "pk")


def start_of_day(day):
    return datetime.combine(day, datetime.min.time(), UTC)
