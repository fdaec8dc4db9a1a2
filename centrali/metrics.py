"""The service's business metrics: one place that names every Prometheus family the apps count.

Services, tasks and webhooks import these and count what they do; `centrali.api.metrics`
renders them (merged across gunicorn workers under PROMETHEUS_MULTIPROC_DIR). Label values
are closed sets chosen by the code (task names, outcomes, metric names, event types), never
slugs, ids or emails, so the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime

from django.utils import timezone
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from centrali.prometheus_dir import ensure_multiprocess_dir

ensure_multiprocess_dir()

_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)

CELERY_TASKS = Counter(
    "centrali_celery_tasks_total", "Celery tasks finished, by task name and outcome", ["task", "outcome"]
)
CELERY_TASK_DURATION = Histogram(
    "centrali_celery_task_duration_seconds", "Celery task run time", ["task"], buckets=_DURATION_BUCKETS
)
# A gauge in multiprocess mode needs a mode: `livesum` adds up the live processes' values and
# drops a dead one's (gunicorn's child_exit hook, the worker's process shutdown mark it dead).
CELERY_TASKS_RUNNING = Gauge(
    "centrali_celery_tasks_running", "Celery tasks running now", ["task"], multiprocess_mode="livesum"
)

WEBHOOK_EVENTS = Counter(
    "centrali_stripe_webhook_events_total",
    "Stripe webhook deliveries, by event type and outcome (applied, duplicate, rejected, failed)",
    ["type", "outcome"],
)

EXPORTS = Counter("centrali_exports_total", "Workspace exports finished, by outcome", ["outcome"])
EXPORT_DURATION = Histogram(
    "centrali_export_duration_seconds", "Workspace export run time", ["outcome"], buckets=_DURATION_BUCKETS
)
EXPORT_ROWS = Counter("centrali_export_rows_total", "Rows written into workspace exports")

PROVISIONING_ATTEMPTS = Counter(
    "centrali_provisioning_attempts_total",
    "Provisioning attempts, by platform service and outcome",
    ["service", "outcome"],
)
PROVISIONING_DURATION = Histogram(
    "centrali_provisioning_duration_seconds", "Provisioning attempt time", ["service"], buckets=_DURATION_BUCKETS
)

USAGE_EVENTS = Counter(
    "centrali_usage_events_total",
    "Usage events ingested, by metric and outcome (accepted, duplicate, rejected)",
    ["metric", "outcome"],
)

STRIPE_API_CALLS = Counter(
    "centrali_stripe_api_calls_total", "Calls to Stripe's API, by operation and outcome", ["operation", "outcome"]
)
STRIPE_API_DURATION = Histogram(
    "centrali_stripe_api_duration_seconds",
    "Latency of calls to Stripe's API",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

QUOTA_ALERTS = Counter("centrali_quota_alerts_total", "Quota alerts sent, by level", ["level"])

AUDIT_EVENTS = Counter("centrali_audit_events_total", "Audit events recorded, by event type", ["type"])


EXPORT_OUTCOMES = frozenset({"completed", "failed"})
PROVISIONING_OUTCOMES = frozenset({"ready", "retry", "failed"})


def _seconds_since(started_at: datetime | None) -> float | None:
    return None if started_at is None else max(0.0, (timezone.now() - started_at).total_seconds())


def observe_export(*, outcome: str, started_at: datetime | None, rows: int = 0) -> None:
    """An export finished (`completed` or `failed`); the duration counts from when a worker claimed it."""
    EXPORTS.labels(outcome).inc()
    if rows:
        EXPORT_ROWS.inc(rows)
    duration = _seconds_since(started_at)
    if duration is not None:  # failed before a worker started it (never queued, swept while queued)
        EXPORT_DURATION.labels(outcome).observe(duration)


def observe_provisioning(*, service: str, outcome: str, started_at: datetime | None) -> None:
    """A provisioning attempt of `service` ended: `ready`, `retry` (transient failure) or `failed`."""
    PROVISIONING_ATTEMPTS.labels(service, outcome).inc()
    duration = _seconds_since(started_at)
    if duration is not None:
        PROVISIONING_DURATION.labels(service).observe(duration)


# Kombu's Redis transport keeps one list per queue and priority step: the queue's name for
# priority 0, `<name>\x06\x16<step>` for the others (its default steps).
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"


class QueueLengthCollector:
    """`centrali_celery_queue_length{queue}`: messages waiting in each Celery queue, read from the
    broker at scrape time (LLEN on the Redis lists: a handful of O(1) commands in one round trip,
    with a short timeout). A broker that does not answer gives `centrali_celery_broker_up 0` and
    no queue lengths, never a failed scrape. Without REDIS_URL (the filesystem broker) it yields nothing."""

    FAMILIES = ("centrali_celery_queue_length", "centrali_celery_broker_up")

    def __init__(self, *, redis_url: str, queues: Iterable[str], timeout: float = 0.5) -> None:
        self.redis_url = redis_url
        self.queues = tuple(queues)
        self.timeout = timeout

    def _keys(self, queue: str) -> list[str]:
        return [queue if step == 0 else f"{queue}{_REDIS_PRIORITY_SEPARATOR}{step}" for step in _REDIS_PRIORITY_STEPS]

    def collect(self) -> Iterator[Metric]:
        if not self.redis_url:
            return
        import redis

        up = GaugeMetricFamily("centrali_celery_broker_up", "Whether the broker answered the queue-length read")
        try:
            client = redis.Redis.from_url(
                self.redis_url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            with client.pipeline(transaction=False) as pipe:
                for queue in self.queues:
                    for key in self._keys(queue):
                        pipe.llen(key)
                lengths = pipe.execute()
            client.close()
        except (redis.RedisError, OSError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        gauge = GaugeMetricFamily(
            "centrali_celery_queue_length", "Messages waiting in a Celery queue", labels=["queue"]
        )
        steps = len(_REDIS_PRIORITY_STEPS)
        for index, queue in enumerate(self.queues):
            gauge.add_metric([queue], sum(lengths[index * steps : (index + 1) * steps]))
        yield gauge

    def describe(self) -> list[Metric]:
        return []  # registration must not reach for the broker


def bounded(value: str, allowed: Collection[str], *, other: str = "other") -> str:
    """`value` when it is one of `allowed`, else `other`: a label never takes a caller's free text."""
    return value if value in allowed else other
