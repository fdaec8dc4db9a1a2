"""State that Stripe's events drive: the plan a subscription bills, and the suspension an
uncollectible invoice imposes until it is paid.

These run inside the caller's transaction (the webhook's, so that the event's row and its
effects commit together) and are audited as whoever acts: the system, for webhooks.
Reconciliation repairs the same plan from Stripe's listing (services.reconciliation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from billing import selectors
from billing.models import BillingSuspension
from billing.services._common import locked_workspace, set_plan
from workspaces import services as workspace_services
from workspaces.models import WorkspaceStatus

if TYPE_CHECKING:
    from workspaces.models import Workspace


def apply_subscription_state(
    *, workspace: Workspace, subscription_data: Mapping[str, Any], reason: str = "Stripe subscription"
) -> bool:
    """Make the workspace's plan agree with a subscription Stripe reports. True when it changed.

    A live subscription means its price's plan; an ended one means the default plan,
    unless another live subscription still bills the workspace.
    """
    locked = locked_workspace(workspace)
    if subscription_data.get("status") in selectors.LIVE_SUBSCRIPTION_STATUSES:
        plan = selectors.plan_for_price(selectors.subscription_price_id(subscription_data))
    elif selectors.live_subscription(workspace=workspace) is None:
        plan = selectors.get_default_plan()
    else:
        plan = None
    if plan is not None and plan.pk != locked.plan_id:
        set_plan(locked, plan, subscription_id=subscription_data.get("id"), reason=reason)
        return True
    return False


def suspend_for_uncollectible_invoice(*, workspace: Workspace, invoice_id: str) -> None:
    """Suspend the workspace for an uncollectible invoice.

    A BillingSuspension row is kept only while the suspension is billing's own: when
    billing suspends an active workspace, or adds an invoice to a suspension billing
    already imposed. A workspace staff suspended (or one pending deletion) gets no row,
    so paying the invoice never lifts a suspension billing did not impose.
    """
    locked = locked_workspace(workspace)
    billing_holds_it = BillingSuspension.objects.filter(workspace=locked).exists()
    if locked.status == WorkspaceStatus.ACTIVE:
        workspace_services.suspend_workspace(workspace=locked, reason=f"invoice {invoice_id} is uncollectible")
    elif not (locked.status == WorkspaceStatus.SUSPENDED and billing_holds_it):
        return
    BillingSuspension.objects.get_or_create(workspace=locked, stripe_invoice_id=invoice_id)


def lift_suspension_for_paid_invoice(*, workspace: Workspace, invoice_id: str) -> None:
    """Back to active once no uncollectible invoice holds the workspace suspended (only
    billing's own suspensions have rows, see suspend_for_uncollectible_invoice)."""
    deleted, _ = BillingSuspension.objects.filter(workspace=workspace, stripe_invoice_id=invoice_id).delete()
    if deleted and not BillingSuspension.objects.filter(workspace=workspace).exists():
        workspace_services.unsuspend_workspace(workspace=workspace, reason=f"invoice {invoice_id} was paid")
