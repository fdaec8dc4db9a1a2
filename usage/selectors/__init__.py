"""Reads of the usage app, one module per subject. Every read works on the daily rollups, never
on raw events.

- rollups: totals over days, the latest gauges, calendar months and historical buckets;
- limits: usage against the plan's limits, and whether each metric may grow (quotas);
- pricing: what usage past the limits costs at the plan's overage rates;
- current_period: the current billing period at a glance;
- overview: the workspace overview's usage, users and recent activity.
"""

from usage.selectors.current_period import CurrentUsage, MetricUsage, current_usage
from usage.selectors.limits import (
    LimitStatus,
    Quota,
    QuotaReport,
    limit_statuses,
    limits_exceeded,
    quota_report,
    quotas,
)
from usage.selectors.overview import Overview, overview, overview_usage
from usage.selectors.pricing import OverageLine, overage_estimate, overage_for_period
from usage.selectors.rollups import (
    GRANULARITIES,
    Granularity,
    MonthUsage,
    bucket_count,
    bucket_start,
    daily_usage_for_export,
    historical_usage,
    latest_gauges,
    month_usage,
    next_bucket,
    period_days,
    start_of_day,
    usage_totals,
)

__all__ = [
    "GRANULARITIES",
    "CurrentUsage",
    "Granularity",
    "LimitStatus",
    "MetricUsage",
    "MonthUsage",
    "OverageLine",
    "Overview",
    "Quota",
    "QuotaReport",
    "bucket_count",
    "bucket_start",
    "current_usage",
    "daily_usage_for_export",
    "historical_usage",
    "latest_gauges",
    "limit_statuses",
    "limits_exceeded",
    "month_usage",
    "next_bucket",
    "overage_estimate",
    "overage_for_period",
    "overview",
    "overview_usage",
    "period_days",
    "quota_report",
    "quotas",
    "start_of_day",
    "usage_totals",
]
