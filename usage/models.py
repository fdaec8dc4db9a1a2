from __future__ import annotations

from django.db import models
from django.db.models import Q

from usage.metrics import METRICS

METRIC_CHOICES = [(name, metric.description) for name, metric in METRICS.items()]
# Every usage quantity (an event's value, a rollup, an alert's figures) is stored alike.
VALUE_MAX_DIGITS = 28
VALUE_DECIMAL_PLACES = 6
EVENT_ID_MAX_LENGTH = 128


class UsageEvent(models.Model):
    """One raw usage report from a platform service, kept for the retention window.

    `event_id` is the reporter's id for the event, unique within its workspace: the constraint makes
    ingestion idempotent (a replayed event is a duplicate, never counted twice), and one tenant's
    ids never collide with another's.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=EVENT_ID_MAX_LENGTH)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="usage_events")
    metric = models.CharField(max_length=64, choices=METRIC_CHOICES)
    value = models.DecimalField(max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=64, blank=True, default="", help_text="The reporting service.")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "occurred_at"], name="usage_event_ws_occurred"),
            models.Index(fields=["occurred_at"], name="usage_event_occurred"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "event_id"], name="usage_event_unique_per_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class DailyUsage(models.Model):
    """A workspace's usage of one metric on one UTC day: the counter's sum, or the gauge's last value.

    `last_event_at` is the timestamp of the newest event folded in, so that a late gauge
    report never overwrites a newer one.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="daily_usage")
    metric = models.CharField(max_length=64, choices=METRIC_CHOICES)
    day = models.DateField()
    value = models.DecimalField(max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES)
    last_event_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "daily usage"
        ordering = ["-day", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "metric", "day"], name="usage_daily_unique_window"),
            models.CheckConstraint(condition=Q(value__gte=0), name="usage_daily_value_non_negative"),
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="usage_daily_ws_day")]

    def __str__(self) -> str:
        return f"{self.metric} on {self.day}: {self.value}"


class QuotaAlert(models.Model):
    """A quota email owed or sent: at most one per workspace, limit, period and threshold."""

    class Threshold(models.IntegerChoices):
        WARNING = 80, "80%"
        REACHED = 100, "100%"

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="quota_alerts")
    limit = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField(choices=Threshold.choices)
    used = models.DecimalField(max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES)
    limit_value = models.DecimalField(max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "limit", "period_start", "threshold"], name="usage_quota_alert_once_per_period"
            ),
            models.CheckConstraint(condition=Q(threshold__in=[80, 100]), name="usage_quota_alert_threshold_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.limit} at {self.threshold}% for {self.workspace_id} from {self.period_start:%Y-%m-%d}"
