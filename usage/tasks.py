from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from centrali.emails import render_subject
from usage import services
from usage.models import QuotaAlert
from usage.services.retention import maintain_raw_event_partitions
from workspaces.selectors import get_workspaces_by_refs


@shared_task(name="usage.check_quota_alerts")
def check_quota_alerts(*, workspace_ids: list[str]) -> None:
    """After an ingest: raise the 80%/100% quota alerts the new usage crossed."""
    for workspace in get_workspaces_by_refs(workspace_ids).values():
        services.raise_quota_alerts(workspace=workspace)


@shared_task(
    name="usage.send_quota_alert_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_quota_alert_email(*, alert_id: int) -> None:
    # Its own task and the sweep's may both deliver an alert: the row lock, held until the alert is
    # marked emailed, lets one of them send; the other finds the row locked or already emailed.
    with transaction.atomic():
        alert = (
            QuotaAlert.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("workspace__owner")
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:
            return
        context = {"alert": alert, "workspace": alert.workspace, "percent": alert.threshold}
        send_mail(
            subject=render_subject("usage/email/quota_alert_subject.txt", context),
            message=render_to_string("usage/email/quota_alert.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[alert.workspace.owner.email],
        )
        services.mark_alert_emailed(alert=alert)


@shared_task(name="usage.flush_api_calls")
def flush_api_calls() -> int:
    """This service's own API calls, counted in the cache by usage.middleware, into api_calls usage."""
    return services.flush_api_call_counts()


@shared_task(name="usage.prune_raw_events")
def prune_raw_events() -> int:
    return services.prune_raw_events()


@shared_task(name="usage.maintain_raw_event_partitions")
def maintain_raw_event_partitions_ahead() -> list[str]:
    """The raw events' day partitions for the days to come (PostgreSQL), created ahead."""
    return maintain_raw_event_partitions()


@shared_task(name="usage.resend_unsent_quota_alerts")
def resend_unsent_quota_alerts() -> int:
    """Quota alert emails whose publish failed (broker down) are published again."""
    return services.resend_unsent_quota_alerts()
