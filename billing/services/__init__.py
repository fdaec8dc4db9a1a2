"""Writes of the billing app, one module per concern; this package re-exports their public names.

- payment_methods: the workspace's Stripe customer, setup sessions, the default card, removal;
- plans: plan changes (the subscription in Stripe, then the workspace's plan);
- overage: the overage settings; overage_charging: billing the overage of ended periods;
- renewal: the subscription's renewal follows the workspace's deletion;
- stripe_state: what Stripe's events drive (the plan of a subscription, suspension for
  uncollectible invoices);
- catalogue_sync: the plan catalogue as Stripe products and prices;
- reconciliation: drift between the local state and Stripe's, repaired;
- erasure: a purged workspace's local copies of its Stripe customer, deleted or scrubbed.

The rule for every change that involves Stripe: check, call Stripe outside any
transaction (nothing local is written if it fails), sync what Stripe answered into
dj-stripe's tables, then one short transaction that re-reads the locked workspace,
applies our own change and records the audit event. No database lock is held while
Stripe answers: the workspace row is what every audited write locks, and on SQLite an
open write transaction holds the whole database. Changes whose checks depend on each
other take turns through a BillingChangeLease instead (see `_common.billing_change`). A
crash between Stripe and the database is repaired by `reconcile_workspace` (nightly, or
`manage.py reconcile_billing`); creating calls carry idempotency keys so a retry after a
lost answer is harmless.

Who acts comes from the acting context (centrali.context): the user of an API request,
the staff member of an admin action, the system for webhooks, tasks and commands. A
service names an actor type itself only where the domain says otherwise (a card detached
outside this service, a renewal aligned with a deletion: the system, whoever looks).
"""

from billing.services.catalogue_sync import sync_plan_to_stripe
from billing.services.erasure import erase_local_stripe_copies, event_stub
from billing.services.overage import UNSET, update_overage
from billing.services.overage_charging import charge_overage
from billing.services.payment_methods import (
    create_setup_session,
    delete_payment_method,
    ensure_customer,
    refresh_payment_methods,
    set_default_payment_method,
)
from billing.services.plans import PlanChange, change_plan
from billing.services.reconciliation import Drift, reconcile_workspace, sync_workspace_from_stripe
from billing.services.renewal import align_renewal_with_deletion, renewal_out_of_line
from billing.services.stripe_state import (
    apply_subscription_state,
    lift_suspension_for_paid_invoice,
    suspend_for_uncollectible_invoice,
)

__all__ = [
    "UNSET",
    "Drift",
    "PlanChange",
    "align_renewal_with_deletion",
    "apply_subscription_state",
    "change_plan",
    "charge_overage",
    "create_setup_session",
    "delete_payment_method",
    "ensure_customer",
    "erase_local_stripe_copies",
    "event_stub",
    "lift_suspension_for_paid_invoice",
    "reconcile_workspace",
    "refresh_payment_methods",
    "renewal_out_of_line",
    "set_default_payment_method",
    "suspend_for_uncollectible_invoice",
    "sync_plan_to_stripe",
    "sync_workspace_from_stripe",
    "update_overage",
]
