"""Billing's periodic and deferred work (scheduled in CELERY_BEAT_SCHEDULE under `# -- billing`).

Each task runs as the system (centrali.celery.ContextTask); others publish them by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from celery import shared_task
from django.utils import timezone

from billing import gateway, selectors, services, webhooks
from billing.gateway import StripeUnavailable, StripeUpstreamError
from centrali.errors import DomainError
from workspaces import selectors as workspace_selectors

logger = structlog.get_logger(__name__)


@shared_task(name="billing.charge_overage_for_ended_periods")
def charge_overage_for_ended_periods(now: datetime | None = None) -> int:
    """Bill last period's overage of every workspace that had it on. Safe to run any number of times.

    `now` (default: the current time) says which periods have ended.
    """
    if not gateway.is_configured():
        return 0
    now = now or timezone.now()
    charged = 0
    for workspace in selectors.workspaces_billing_overage():
        period = selectors.previous_billing_period(workspace=workspace, now=now)
        try:
            charged += len(services.charge_overage(workspace=workspace, period=period))
        except DomainError:
            # Stripe unreachable or refusing: the next run retries; the others still get billed.
            logger.exception("billing.overage_charge_failed", workspace=workspace.slug)
    return charged


@shared_task(name="billing.reconcile_billing")
def reconcile_billing() -> int:
    """Nightly: repair drift between Stripe and the local billing state. Returns the drifts found."""
    if not gateway.is_configured():
        return 0
    drifts = 0
    for workspace in selectors.workspaces_with_billing():
        try:
            drifts += len(services.reconcile_workspace(workspace=workspace))
        except DomainError:
            logger.exception("billing.reconciliation_failed", workspace=workspace.slug)
    return drifts


@shared_task(
    name="billing.align_subscription_renewal",
    autoretry_for=(StripeUnavailable, StripeUpstreamError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=12,
)
def align_subscription_renewal(workspace_id: str) -> bool:
    """After a soft delete or restore (published by billing.receivers): stop or resume the
    subscription's renewal (see services.align_renewal_with_deletion). Retried while Stripe
    fails; reconcile_billing repairs it if it never ran."""
    workspace = workspace_selectors.get_workspace(workspace_id=workspace_id)
    if workspace is None or not gateway.is_configured():
        return False
    return services.align_renewal_with_deletion(workspace=workspace)


@shared_task(name="billing.apply_stripe_event", bind=True, max_retries=None)
def apply_stripe_event(self: Any, stripe_event_id: str) -> Any:
    """Apply a Stripe event POST /webhooks/stripe recorded (billing.webhooks.apply_event), once.

    A failed attempt is retried with exponential backoff; the attempts are counted on the
    event's row (so a worker lost mid-apply counts too), which bounds them, not Celery.
    """
    attempt = webhooks.apply_event(stripe_event_id=stripe_event_id)
    if attempt.retry_in is not None:
        # Queues the retry and ends this run; run eagerly (tests), apply() runs the retry at once.
        return self.retry(countdown=attempt.retry_in, throw=False)
    return attempt.outcome


@shared_task(name="billing.sweep_stripe_events")
def sweep_stripe_events() -> int:
    """Every minute: queue again the recorded Stripe events nobody applied in time (the broker
    was down when they arrived, a worker was lost, a retry could not be queued)."""
    return webhooks.sweep()
