"""Billing's reactions to other apps' signals."""

import stripe
from django.dispatch import receiver

from billing import gateway, selectors
from billing.gateway import StripeObjectMissing, stripe_call
from workspaces.signals import workspace_purging


@receiver(workspace_purging, dispatch_uid="billing-cancel-stripe-customer")
def cancel_stripe_customer(sender, workspace, **kwargs):
    """A purged workspace stops being billed: its subscriptions end now and its customer is deleted.

    Runs inside the purge transaction; if Stripe fails, the error aborts the purge, which
    is retried on its next run.
    """
    if not gateway.is_configured():
        return
    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        return
    subscriptions = stripe_call(stripe.Subscription.list, customer=customer.id, limit=100)
    for subscription in subscriptions["data"]:
        if subscription["status"] != "canceled":
            stripe_call(stripe.Subscription.cancel, subscription["id"])
    try:
        stripe_call(stripe.Customer.delete, customer.id, not_found=StripeObjectMissing("customer"))
    except StripeObjectMissing:
        pass  # already deleted in Stripe: the goal is met
