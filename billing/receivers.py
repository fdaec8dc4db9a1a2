"""Billing's reactions to other apps' signals."""

import contextlib

import stripe
from django.dispatch import receiver

from billing import gateway, selectors, services
from billing.gateway import StripeObjectMissing, stripe_call
from centrali.tasks import publish
from workspaces.signals import workspace_purging, workspace_restored, workspace_soft_deleted


@receiver([workspace_soft_deleted, workspace_restored], dispatch_uid="billing-align-subscription-renewal")
def align_subscription_renewal(sender, workspace, **kwargs):
    """A deleted workspace stops paying after this period; a restored one renews again.

    Sent after the commit: Stripe is called from a Celery task, retried on Stripe errors;
    if the broker is down, reconcile_billing finds the difference and repairs it.
    """
    if gateway.is_configured() and selectors.live_subscription(workspace=workspace) is not None:
        publish("billing.align_subscription_renewal", str(workspace.pk))


@receiver(workspace_purging, dispatch_uid="billing-cancel-stripe-customer")
def cancel_stripe_customer(sender, workspace, **kwargs):
    """A purged workspace stops being billed: its subscriptions end now and its customer is deleted,
    in Stripe and in the local mirror (with the Stripe events kept about it scrubbed).

    Runs inside the purge transaction; if Stripe fails, the error aborts the purge, which
    is retried on its next run.
    """
    if gateway.is_configured():
        _delete_stripe_customer(workspace)
    services.erase_local_stripe_copies(workspace=workspace)


def _delete_stripe_customer(workspace):
    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        return
    subscriptions = stripe_call(stripe.Subscription.list, customer=customer.id, limit=100)
    for subscription in subscriptions["data"]:
        if subscription["status"] != "canceled":
            stripe_call(stripe.Subscription.cancel, subscription["id"])
    with contextlib.suppress(StripeObjectMissing):  # already deleted in Stripe: the goal is met
        stripe_call(stripe.Customer.delete, customer.id, not_found=StripeObjectMissing("customer"))
