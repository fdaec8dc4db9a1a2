"""Billing's periodic and deferred work (scheduled in CELERY_BEAT_SCHEDULE under `# -- billing`).

Each task runs as the system (centrali.celery.ContextTask); others publish them by name.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from celery import shared_task
from django.utils import timezone

from billing import gateway, selectors, services
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
