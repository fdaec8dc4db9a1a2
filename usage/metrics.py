"""The registry of usage metrics. Adding a metric is one entry in METRICS.

A counter is summed over a window (invocations, API calls); a gauge is a level whose
value in a window is the last one reported (records stored, bytes stored).

LIMITS ties the def-2 plan limits to the metrics they govern, and OVERAGE_RATES the
plan's overage rates to the metric they price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from billing.models import Plan

GB = 1024**3


class Kind(models.TextChoices):
    COUNTER = "counter", "Counter (summed)"
    GAUGE = "gauge", "Gauge (last value)"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    unit: str
    description: str

    @property
    def is_gauge(self) -> bool:
        return self.kind == Kind.GAUGE


METRICS = {
    metric.name: metric
    for metric in [
        Metric("records", Kind.GAUGE, "records", "Records stored"),
        Metric("structures", Kind.GAUGE, "structures", "Structures defined"),
        Metric("records_created", Kind.COUNTER, "records", "Records created"),
        Metric("structures_created", Kind.COUNTER, "structures", "Structures created"),
        Metric("storage_bytes", Kind.GAUGE, "bytes", "File storage used"),
        Metric("files", Kind.GAUGE, "files", "Files stored"),
        Metric("blob_storage_bytes", Kind.GAUGE, "bytes", "Blob storage used"),
        Metric("functions", Kind.GAUGE, "functions", "Functions deployed"),
        Metric("function_invocations", Kind.COUNTER, "invocations", "Function invocations"),
        Metric("function_failures", Kind.COUNTER, "invocations", "Failed function invocations"),
        Metric("cpu_seconds", Kind.COUNTER, "seconds", "CPU time of functions"),
        Metric("memory_gb_seconds", Kind.COUNTER, "GB-seconds", "Memory of functions over time"),
        Metric("smart_queries", Kind.COUNTER, "queries", "Smart queries run"),
        Metric("api_calls", Kind.COUNTER, "calls", "API calls"),
        Metric("scheduler_active_jobs", Kind.GAUGE, "jobs", "Active scheduled jobs"),
        Metric("scheduler_failures", Kind.COUNTER, "runs", "Failed scheduled runs"),
    ]
}

COUNTERS = frozenset(name for name, metric in METRICS.items() if not metric.is_gauge)
GAUGES = frozenset(name for name, metric in METRICS.items() if metric.is_gauge)


@dataclass(frozen=True)
class Limit:
    """A def-2 plan limit: its name, the Plan field holding it, and the metrics whose sum it caps."""

    name: str
    plan_field: str
    metrics: tuple[str, ...]
    unit_size: int = 1  # metric units per limit unit (bytes per GB for storage_gb)

    def limit_of(self, plan: Plan) -> int | None:
        """The plan's limit in limit units (GB for storage_gb); None = unlimited."""
        limit: int | None = getattr(plan, self.plan_field)
        return limit


LIMITS = {
    limit.name: limit
    for limit in [
        Limit("records", "limit_records", ("records",)),
        # File and blob storage share the plan's storage allowance.
        Limit("storage_gb", "limit_storage_gb", ("storage_bytes", "blob_storage_bytes"), unit_size=GB),
        Limit("function_invocations", "limit_function_invocations", ("function_invocations",)),
        Limit("api_calls_per_month", "limit_api_calls_per_month", ("api_calls",)),
    ]
}

LIMIT_OF_METRIC = {metric: limit for limit in LIMITS.values() for metric in limit.metrics}


@dataclass(frozen=True)
class OverageRate:
    """A Plan overage rate (currency units per `unit_size` metric units) and the metric it prices.

    A metric with a limit is billed beyond it. A metric without one names the limited metric it
    is `billed_with`: it is billed for the share of that metric's usage past its limit.
    """

    metric: str
    plan_field: str
    unit_size: int = 1
    unit_label: str = ""
    billed_with: str | None = None

    def rate_of(self, plan: Plan) -> Decimal | None:
        """The plan's price per `unit_size` metric units; None = not priced (no overage)."""
        rate: Decimal | None = getattr(plan, self.plan_field)
        return rate


OVERAGE_RATES = {
    rate.metric: rate
    for rate in [
        OverageRate("function_invocations", "overage_rate_executions", unit_label="executions"),
        # Compute time of the executions past the invocation limit.
        OverageRate(
            "cpu_seconds", "overage_rate_cpu_seconds", unit_label="CPU seconds", billed_with="function_invocations"
        ),
        OverageRate(
            "memory_gb_seconds",
            "overage_rate_memory_gb_seconds",
            unit_label="GB-seconds",
            billed_with="function_invocations",
        ),
        OverageRate("storage_bytes", "overage_rate_storage_per_gb", unit_size=GB, unit_label="GB of file storage"),
        OverageRate(
            "blob_storage_bytes", "overage_rate_blob_storage_per_gb", unit_size=GB, unit_label="GB of blob storage"
        ),
    ]
}

ZERO = Decimal(0)
