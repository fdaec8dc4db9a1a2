"""Quota alerts: once per limit, billing period and threshold (80%, 100%), an email to the owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import record
from billing.selectors import current_billing_period
from centrali.metrics import QUOTA_ALERTS
from centrali.tasks import publish, publish_on_commit
from usage.models import QuotaAlert
from usage.selectors import LimitStatus, limit_statuses

if TYPE_CHECKING:
    from workspaces.models import Workspace

# An alert's email is published again if it is still unsent this long after the alert was raised
# (its publish failed, or its task gave up); after the window it is stale and left alone.
UNSENT_ALERT_GRACE = timedelta(minutes=1)
UNSENT_ALERT_WINDOW = timedelta(days=2)


def raise_quota_alerts(*, workspace: Workspace, now: datetime | None = None) -> list[QuotaAlert]:
    """Record (once per limit, period and threshold) that usage crossed 80% or 100% of a plan limit.

    Each new alert emails the owner after commit; reaching 100% is also an audit event.
    Returns the alerts created.
    """
    now = now or timezone.now()
    period = current_billing_period(workspace=workspace, now=now)
    already = set(
        QuotaAlert.objects.filter(workspace=workspace, period_start=period.start).values_list("limit", "threshold")
    )
    crossed: list[tuple[LimitStatus, Decimal, QuotaAlert.Threshold]] = []
    for status in limit_statuses(workspace=workspace, plan=workspace.plan, period=period):
        if status.limit is None or status.percent is None:
            continue  # unlimited
        crossed += [
            (status, status.limit, threshold)
            for threshold in QuotaAlert.Threshold
            if status.percent >= threshold and (status.name, threshold) not in already
        ]
    created = []
    for status, limit, threshold in crossed:
        with transaction.atomic():
            alert, is_new = QuotaAlert.objects.get_or_create(
                workspace=workspace,
                limit=status.name,
                period_start=period.start,
                threshold=threshold,
                defaults={"used": status.used, "limit_value": limit},
            )
            if not is_new:
                continue  # a concurrent check raised it first
            if threshold == QuotaAlert.Threshold.REACHED:
                record(
                    workspace=workspace,
                    event_type="quota.reached",
                    resource_type="quota",
                    resource_id=status.name,
                    summary=f"Plan limit '{status.name}' reached ({_plain(status.used)} of {_plain(limit)})",
                    metadata={
                        "limit": status.name,
                        "used": _plain(status.used),
                        "limit_value": _plain(limit),
                        "period_start": period.start.isoformat(),
                    },
                )

            # Not published (broker down): resend_unsent_quota_alerts publishes it again later.
            publish_on_commit("usage.send_quota_alert_email", alert_id=alert.pk)
        created.append(alert)
    return created


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def mark_alert_emailed(*, alert: QuotaAlert, now: datetime | None = None) -> None:
    if QuotaAlert.objects.filter(pk=alert.pk, emailed_at__isnull=True).update(emailed_at=now or timezone.now()):
        QUOTA_ALERTS.labels(QuotaAlert.Threshold(alert.threshold).name.lower()).inc()  # warning, reached


def resend_unsent_quota_alerts(*, now: datetime | None = None) -> int:
    """Publish the email task again for each alert not emailed yet; returns how many were published."""
    now = now or timezone.now()
    unsent = QuotaAlert.objects.filter(
        emailed_at__isnull=True,
        created_at__lt=now - UNSENT_ALERT_GRACE,
        created_at__gte=now - UNSENT_ALERT_WINDOW,
    ).values_list("pk", flat=True)
    published = 0
    for alert_id in unsent.iterator():
        if not publish("usage.send_quota_alert_email", alert_id=alert_id):
            break  # the broker is still down: the next sweep tries again
        published += 1
    return published
