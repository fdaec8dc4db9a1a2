"""Reconciliation: find where the local billing state drifted from Stripe's, and repair it.

Stripe is the source of truth. This repairs what a crash between a Stripe call and the
database left behind, and events whose webhook never arrived (nightly task,
`manage.py reconcile_billing`, the console's "sync from Stripe").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe
from django.db import transaction
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from audit.services import record
from billing import selectors
from billing.gateway import StripeObjectMissing, stripe_call
from billing.services._common import locked_workspace, set_plan, sync_from_stripe
from billing.services.payment_methods import sync_payment_methods
from billing.services.renewal import align_renewal_with_deletion, renewal_out_of_line

if TYPE_CHECKING:
    from workspaces.models import Workspace


@dataclass(frozen=True)
class Drift:
    workspace: str  # the workspace's slug
    # missing_customer, plan_mismatch, unsynced_invoice, unsynced_payment_method, customer_gone, renewal_mismatch
    kind: str
    detail: str
    repaired: bool


def _find_stripe_customer(workspace: Workspace) -> Mapping[str, Any] | None:
    """A Stripe customer created for this workspace but never synced (e.g. a crash after create)."""
    listing = stripe_call(stripe.Customer.list, email=workspace.email, limit=100)
    for data in listing["data"]:
        if (data.get("metadata") or {}).get("djstripe_subscriber") == str(workspace.pk):
            found: Mapping[str, Any] = data
            return found
    return None


def reconcile_workspace(*, workspace: Workspace, dry_run: bool = False) -> list[Drift]:
    """Compare the workspace's billing state with Stripe's; repair each drift unless dry_run.

    Stripe is the source of truth: its customer, cards, subscriptions and invoices are
    synced into dj-stripe, and the workspace's plan follows its live subscription. Plan
    repairs are audited as whoever acts (the system for the task and the command, the
    staff member for the console's sync).
    """
    drifts = []
    repair = not dry_run

    def drift(kind: str, detail: str, *, repairable: bool = True) -> None:
        drifts.append(Drift(workspace.slug, kind, detail, repair and repairable))

    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        data = _find_stripe_customer(workspace)
        if data is None:
            if workspace.plan.is_paid:
                drift("plan_mismatch", f"plan '{workspace.plan.code}' is paid but there is no Stripe customer")
                if repair:
                    with transaction.atomic():
                        set_plan(
                            locked_workspace(workspace),
                            selectors.get_default_plan(),
                            reason="reconciliation: no Stripe customer",
                        )
            return drifts
        drift("missing_customer", f"Stripe customer {data['id']} was not synced")
        if not repair:
            return drifts
        customer = sync_from_stripe(Customer, data)

    try:
        stripe_customer = stripe_call(stripe.Customer.retrieve, customer.id, not_found=StripeObjectMissing("customer"))
    except StripeObjectMissing:
        drift("customer_gone", f"Stripe customer {customer.id} no longer exists", repairable=False)
        return drifts
    if stripe_customer.get("deleted"):
        drift("customer_gone", f"Stripe customer {customer.id} was deleted", repairable=False)
        return drifts
    cards = stripe_call(stripe.Customer.list_payment_methods, customer.id, type="card", limit=100)["data"]
    subscriptions = stripe_call(stripe.Subscription.list, customer=customer.id, status="all", limit=100)["data"]
    invoices = stripe_call(stripe.Invoice.list, customer=customer.id, limit=100)["data"]

    local_cards = set(PaymentMethod.objects.filter(customer=customer).values_list("id", flat=True))
    for card in cards:
        if card["id"] not in local_cards:
            drift("unsynced_payment_method", f"card {card['id']} was not synced")
    for missing in local_cards - {card["id"] for card in cards}:
        drift("unsynced_payment_method", f"card {missing} is no longer attached in Stripe")
    local_invoices = dict(Invoice.objects.filter(customer=customer).values_list("id", "stripe_data__status"))
    for invoice in invoices:
        if local_invoices.get(invoice["id"], "<missing>") != invoice.get("status"):
            drift("unsynced_invoice", f"invoice {invoice['id']} ({invoice.get('status')}) was not synced")

    live = [s for s in subscriptions if s.get("status") in selectors.LIVE_SUBSCRIPTION_STATUSES]
    expected = (
        selectors.plan_for_price(selectors.subscription_price_id(live[0])) if live else selectors.get_default_plan()
    )
    if expected is not None and expected.pk != workspace.plan_id:
        drift("plan_mismatch", f"plan is '{workspace.plan.code}' but Stripe bills '{expected.code}'")
    renewal_drift = bool(live) and renewal_out_of_line(workspace=workspace, subscription_data=live[0])
    if renewal_drift:
        drift("renewal_mismatch", "the subscription's renewal does not follow the workspace's deletion state")

    if repair:
        # dj-stripe may fetch related objects while syncing: not under the workspace lock.
        sync_payment_methods(workspace=workspace, customer=customer, listing=cards, stripe_customer=stripe_customer)
        for subscription in subscriptions:
            sync_from_stripe(Subscription, subscription)
        for invoice in invoices:
            sync_from_stripe(Invoice, invoice)
        if expected is not None:
            with transaction.atomic():
                locked = locked_workspace(workspace)
                if expected.pk != locked.plan_id:
                    set_plan(
                        locked,
                        expected,
                        reason="reconciliation with Stripe",
                        subscription_id=live[0]["id"] if live else None,
                    )
        if renewal_drift:
            align_renewal_with_deletion(workspace=workspace)
    return drifts


def sync_workspace_from_stripe(*, workspace: Workspace) -> list[Drift]:
    """The console's "sync from Stripe": reconcile, and record who asked with what was found."""
    drifts = reconcile_workspace(workspace=workspace)
    with transaction.atomic():
        record(
            workspace=workspace,
            event_type="billing.synced",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Billing synced from Stripe: {len(drifts)} difference(s) repaired",
            metadata={"drifts": [{"kind": d.kind, "detail": d.detail} for d in drifts]},
        )
    return drifts
