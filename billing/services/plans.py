"""Plan changes: the subscription in Stripe first, then the workspace's plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import stripe
import structlog
from django.db import transaction
from djstripe.models import Customer, Invoice, Subscription

from audit.services import record
from billing import selectors
from billing.gateway import StripeUnavailable, StripeUpstreamError, stripe_call
from billing.models import Plan
from billing.services._common import billing_change, fresh_workspace, locked_workspace, set_plan, sync_from_stripe
from centrali.errors import InvalidInput, Unavailable
from usage import selectors as usage_selectors

if TYPE_CHECKING:
    from workspaces.models import Workspace

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PlanChange:
    previous_plan: Plan
    plan: Plan  # the plan the workspace is on after the request
    scheduled_plan: Plan | None  # the plan it moves to at the period end
    effective_at: datetime | None  # when the scheduled plan takes effect
    subscription: Subscription | None  # dj-stripe's copy
    interval: str | None  # how often the subscription bills ("month", "year"); None without one


def _price_id(plan: Plan, interval: str) -> str:
    """The Stripe price of `plan` billed every `interval` (sync_plans_to_stripe creates both)."""
    price = plan.stripe_price_yearly_id if interval == "year" else plan.stripe_price_monthly_id
    if not price:
        raise Unavailable(
            f"Plan '{plan.code}' is not available for purchase yet (not synced to Stripe).",
            code="PLAN_NOT_PURCHASABLE",
        )
    return price


def change_plan(*, workspace: Workspace, plan: Plan, interval: str | None = None, reason: str = "") -> PlanChange:
    """Move the workspace to `plan` billed every `interval` ("month" or "year"; by default the
    live subscription's interval, else "month"): Stripe first, then the database in the same
    request.

    free -> paid creates the subscription at the plan's price for the interval; paid -> paid,
    and the same paid plan at the other interval, swap its price with proration; paid -> free
    cancels it at the period end (the workspace keeps the paid plan until Stripe ends the
    subscription, see the `customer.subscription.deleted` webhook). The free plan has no
    interval.

    Two plan changes, or a plan change and the removal of the default card, never
    interleave: they take turns through the billing-change lease, and no database lock
    is held while Stripe answers. The final transaction re-reads the locked workspace and
    writes only what differs from it. If that write fails after Stripe answered,
    reconciliation brings the plan in line with Stripe. Audited as whoever acts, with `reason`
    when given (staff say why in the console).
    """
    with billing_change(workspace, "plan change"):
        change = _change_plan(fresh_workspace(workspace), plan, interval, reason)
    workspace.plan = change.plan
    return change


def _change_plan(workspace: Workspace, plan: Plan, interval: str | None, reason: str = "") -> PlanChange:
    previous = workspace.plan
    subscription = selectors.live_subscription(workspace=workspace)
    pending_cancel = subscription is not None and subscription.cancel_at_period_end
    billed_every = selectors.subscription_interval(subscription) if subscription is not None else None
    interval = interval or billed_every or "month"
    if interval not in selectors.BILLING_INTERVALS:
        raise InvalidInput.for_field(
            "interval", f"`interval` must be one of: {', '.join(selectors.BILLING_INTERVALS)}."
        )
    same_price = not plan.is_paid or subscription is None or billed_every == interval
    if plan.pk == previous.pk and same_price and not pending_cancel:
        return PlanChange(previous, previous, None, None, subscription, billed_every)

    exceeded = usage_selectors.limits_exceeded(workspace=workspace, plan=plan)
    if exceeded:
        raise InvalidInput(
            f"Current usage exceeds the limits of plan '{plan.code}': {', '.join(exceeded)}.",
            code="PLAN_LIMITS_EXCEEDED",
            details={"newPlan": [f"Usage exceeds the '{limit}' limit." for limit in exceeded]},
        )

    data: Mapping[str, Any] | None = None  # Stripe's answer for the subscription, when it changed
    new_plan = plan
    scheduled: Plan | None = None
    if plan.is_paid:
        customer = selectors.customer_for(workspace=workspace)
        if customer is None or customer.default_payment_method_id is None:
            raise _missing_default_card(workspace, customer)
        price = _price_id(plan, interval)
        metadata = {"workspace_id": str(workspace.pk), "plan": plan.code}
        if subscription is None:
            subscription = _unsynced_live_subscription(customer)
        if subscription is None:
            data = stripe_call(
                stripe.Subscription.create,
                customer=customer.id,
                items=[{"price": price}],
                payment_behavior="error_if_incomplete",
                metadata=metadata,
                idempotency_key=_subscription_key(workspace, customer),
            )
        else:
            data = stripe_call(
                stripe.Subscription.modify,
                subscription.id,
                items=[{"id": subscription.stripe_data["items"]["data"][0]["id"], "price": price}],
                proration_behavior="create_prorations",
                cancel_at_period_end=False,
                metadata=metadata,
            )
    elif subscription is not None:
        data = stripe_call(stripe.Subscription.modify, subscription.id, cancel_at_period_end=True)
        new_plan, scheduled = previous, plan

    if data is not None:
        subscription = sync_from_stripe(Subscription, data)
    effective_at = selectors.subscription_period(subscription)[1] if scheduled is not None else None
    with transaction.atomic():
        locked = locked_workspace(workspace)
        if new_plan.pk != locked.plan_id:
            set_plan(locked, new_plan, subscription_id=getattr(subscription, "id", None), reason=reason)
        elif scheduled is None and subscription is not None and billed_every not in (None, interval):
            record(
                workspace=locked,
                event_type="subscription.updated",
                resource_type="subscription",
                resource_id=subscription.id,
                summary=f"Plan '{new_plan.code}' now billed {interval}ly (was {billed_every}ly)",
                metadata={"interval": {"before": billed_every, "after": interval}},
            )
        if scheduled is not None and subscription is not None:
            record(
                workspace=locked,
                event_type="subscription.updated",
                resource_type="subscription",
                resource_id=subscription.id,
                summary=f"Change to plan '{scheduled.code}' scheduled for the end of the billing period"
                + (f" ({reason})" if reason else ""),
                metadata={
                    "scheduled_plan": scheduled.code,
                    "effective_at": effective_at.isoformat() if effective_at is not None else None,
                },
            )
    if data is not None:
        _sync_recent_invoices(str(data["customer"]))
    billed_every = selectors.subscription_interval(subscription) if subscription is not None else None
    return PlanChange(previous, new_plan, scheduled, effective_at, subscription, billed_every)


def _missing_default_card(workspace: Workspace, customer: Customer | None) -> InvalidInput:
    """Why a paid plan cannot be bought yet: no card at all, or cards of which none is the default."""
    if customer is None or not selectors.payment_methods(workspace=workspace):
        return InvalidInput(
            "A paid plan needs a default payment method; add a card first.",
            code="PAYMENT_METHOD_REQUIRED",
            details={"newPlan": ["No default payment method."]},
        )
    return InvalidInput(
        "A paid plan needs a default payment method: the workspace has cards but none is the default; "
        f"choose one with POST /{workspace.slug}/payment-methods/{{pmId}}/default.",
        code="DEFAULT_PAYMENT_METHOD_REQUIRED",
        details={"newPlan": ["No default payment method."]},
    )


def _unsynced_live_subscription(customer: Customer) -> Subscription | None:
    """A live subscription Stripe has for the customer but dj-stripe does not (a lost answer).

    Synced and returned, so a retry moves that subscription instead of creating another,
    whatever plan or card the retry asks for.
    """
    listing = stripe_call(stripe.Subscription.list, customer=customer.id, status="all", limit=10)
    for data in listing["data"]:
        if data.get("status") in selectors.LIVE_SUBSCRIPTION_STATUSES:
            return sync_from_stripe(Subscription, data)
    return None


def _subscription_key(workspace: Workspace, customer: Customer) -> str:
    """The idempotency key of creating the workspace's next subscription.

    Two identical requests in flight at once (a retry while the first is still running in
    Stripe) get one subscription; a retry after the answer was lost is caught first by
    `_unsynced_live_subscription`. The key counts the subscriptions synced so far (a new
    key after a cancellation) and names the default card: Stripe replays a key's first
    result for 24 hours, card declines included, so a new card must mean a new request.
    The target price is left out: the same key for another plan is refused (Conflict), not
    billed twice.
    """
    return (
        f"workspace-{workspace.pk}-subscription-{customer.subscriptions.count() + 1}"
        f"-{customer.default_payment_method_id}"
    )


def _sync_recent_invoices(customer_id: str) -> None:
    """The invoices a plan change just produced, so /invoices shows them at once.

    Best effort, after the plan change committed: the change already happened in Stripe
    and must not fail or roll back because of its invoices; a missed invoice arrives by
    webhook or reconciliation.
    """
    try:
        invoices = stripe_call(stripe.Invoice.list, customer=customer_id, limit=10)
    except (StripeUnavailable, StripeUpstreamError):
        logger.warning("billing.invoices_not_synced_after_plan_change", customer_id=customer_id, exc_info=True)
        return
    for invoice in invoices["data"]:
        try:
            sync_from_stripe(Invoice, invoice)
        except Exception:  # whatever dj-stripe trips on; reconciliation retries it
            logger.exception(
                "billing.invoice_not_synced_after_plan_change", invoice_id=invoice.get("id"), customer_id=customer_id
            )
