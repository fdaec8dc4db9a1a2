"""The subscription's renewal follows the workspace's deletion: a workspace pending deletion
stops renewing at the period end, a restored one renews again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import stripe
from django.db import transaction
from djstripe.models import Subscription

from audit.events import ActorType
from audit.services import record
from billing import selectors
from billing.gateway import stripe_call
from billing.services._common import fresh_workspace, sync_from_stripe

if TYPE_CHECKING:
    from workspaces.models import Workspace

# Subscription metadata marking a renewal stopped because the workspace was deleted, so a
# restore resumes only that, never a downgrade the customer scheduled themselves.
DELETION_CANCEL_KEY = "centrali_cancel_reason"
DELETION_CANCEL_REASON = "workspace_deleted"


def _renewal_stopped_for_deletion(subscription_data: Mapping[str, Any]) -> bool:
    return bool((subscription_data.get("metadata") or {}).get(DELETION_CANCEL_KEY) == DELETION_CANCEL_REASON)


def renewal_out_of_line(*, workspace: Workspace, subscription_data: Mapping[str, Any]) -> bool:
    """Whether a live subscription's renewal disagrees with the workspace's deletion state."""
    if workspace.is_pending_deletion:
        return not subscription_data.get("cancel_at_period_end")
    return bool(subscription_data.get("cancel_at_period_end")) and _renewal_stopped_for_deletion(subscription_data)


def align_renewal_with_deletion(*, workspace: Workspace) -> bool:
    """A workspace pending deletion stops renewing at the period end; a restored one renews again.

    Idempotent and driven by the workspace's current state (not by which signal asked),
    so repeated or reordered runs converge. Returns True when Stripe was changed. Audited
    as the system whoever triggered it (the deletion's task, or a staff member's sync).
    """
    workspace = fresh_workspace(workspace)
    subscription = selectors.live_subscription(workspace=workspace)
    if subscription is None:
        return False
    data = stripe_call(stripe.Subscription.retrieve, subscription.id)  # the local copy may lag
    if not renewal_out_of_line(workspace=workspace, subscription_data=data):
        return False
    stop = workspace.is_pending_deletion
    data = stripe_call(
        stripe.Subscription.modify,
        subscription.id,
        cancel_at_period_end=stop,
        metadata={DELETION_CANCEL_KEY: DELETION_CANCEL_REASON if stop else ""},
    )
    sync_from_stripe(Subscription, data)
    with transaction.atomic():
        record(
            workspace=workspace,
            event_type="subscription.updated",
            resource_type="subscription",
            resource_id=subscription.id,
            summary="Subscription set to end at the period end: workspace deleted"
            if stop
            else "Subscription renews again: workspace restored",
            actor_type=ActorType.SYSTEM,
            metadata={"cancel_at_period_end": stop},
        )
    return True
