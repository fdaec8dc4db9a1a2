"""Writes of the billing app.

The rule for every change that involves Stripe: check, call Stripe outside any
transaction (nothing local is written if it fails), sync what Stripe answered into
dj-stripe's tables, then one short transaction that re-reads the locked workspace,
applies our own change and records the audit event. No database lock is held while
Stripe answers: the workspace row is what every audited write locks, and on SQLite an
open write transaction holds the whole database. Changes whose checks depend on each
other take turns through a BillingChangeLease instead (see `_billing_change`). A crash
between Stripe and the database is repaired by `reconcile_workspace` (nightly, or
`manage.py reconcile_billing`); creating calls carry idempotency keys so a retry after a
lost answer is harmless.
"""

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from audit.events import ActorType
from audit.services import record
from billing import gateway, selectors
from billing.gateway import (
    StripeObjectMissing,
    StripeUnavailable,
    StripeUpstreamError,
    stripe_call,
    translated_stripe_errors,
)
from billing.models import BillingChangeLease, BillingSuspension, OverageSettings
from centrali.errors import Conflict, InvalidInput, NotFound, Unavailable
from usage import selectors as usage_selectors
from workspaces import services as workspace_services
from workspaces.models import Workspace, WorkspaceStatus

logger = logging.getLogger(__name__)

UNSET = object()


def _locked(workspace):
    return Workspace.objects.select_for_update().select_related("plan").get(pk=workspace.pk)


def _sync(model, data):
    with translated_stripe_errors():
        return model.sync_from_stripe_data(data, api_key=gateway.api_key())


def _fresh(workspace):
    return Workspace.objects.select_related("plan").get(pk=workspace.pk)


# A change makes at most a handful of Stripe calls, each bounded by STRIPE_TIMEOUT_SECONDS.
LEASE_STRIPE_CALLS = 6


@contextlib.contextmanager
def _billing_change(workspace, operation):
    """Run one billing change of the workspace at a time, without a lock held across Stripe calls.

    Why a lease and not "re-check and compensate": a removed card cannot be re-attached
    in Stripe, so a card removal that raced an upgrade could not be undone; and Stripe's
    idempotency keys only make a retry of the same request safe. So the changes whose
    checks depend on each other (plan change, card removal, overage) take the workspace's
    lease in a short transaction, and a second one meanwhile answers 409. The lease
    expires after the longest the holder can wait for Stripe, so a dead worker cannot
    block the workspace.
    """
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        BillingChangeLease.objects.filter(workspace=workspace, expires_at__lte=now).delete()
        _, acquired = BillingChangeLease.objects.get_or_create(
            workspace=workspace,
            defaults={
                "token": token,
                "operation": operation,
                "expires_at": now + timedelta(seconds=settings.STRIPE_TIMEOUT_SECONDS * LEASE_STRIPE_CALLS),
            },
        )
    if not acquired:
        raise Conflict(
            "Another billing change of this workspace is in progress; try again in a moment.",
            code="BILLING_CHANGE_IN_PROGRESS",
        )
    try:
        yield
    finally:
        BillingChangeLease.objects.filter(workspace=workspace, token=token).delete()


# --- customer


def ensure_customer(*, workspace):
    """The workspace's Stripe customer, created in Stripe on first need (one per workspace).

    No lock: concurrent first uses send the same idempotency key, so Stripe answers both
    with one customer, and dj-stripe's sync tolerates the second insert of the same id.
    """
    customer = selectors.customer_for(workspace=workspace)
    if customer is not None:
        return customer
    data = stripe_call(
        stripe.Customer.create,
        email=workspace.email,
        name=workspace.name,
        metadata={"djstripe_subscriber": str(workspace.pk), "workspace_slug": workspace.slug},
        idempotency_key=f"workspace-customer-{workspace.pk}",
    )
    return _sync(Customer, data)


# --- payment methods


def create_setup_session(*, workspace):
    """A SetupIntent for the browser to collect a card; returns its client secret."""
    customer = ensure_customer(workspace=workspace)
    # No idempotency key on purpose: a second SetupIntent is harmless, while replaying
    # the first one's answer would hand out a secret that was already used for a card.
    intent = stripe_call(
        stripe.SetupIntent.create,
        customer=customer.id,
        payment_method_types=["card"],
        usage="off_session",
        metadata={"workspace_id": str(workspace.pk)},
    )
    return intent["client_secret"]


def _sync_payment_methods(workspace, customer, listing, stripe_customer):
    """dj-stripe's copy := Stripe's list.

    A card no longer listed was detached outside this service (Stripe's dashboard,
    another integration): it loses its customer and its removal is audited here, once.
    The `payment_method.detached` event that follows then finds it already detached
    and records nothing (see webhooks._workspace_of).
    """
    ids = []
    for data in listing:
        _sync(PaymentMethod, data)
        ids.append(data["id"])
    with transaction.atomic():
        gone = PaymentMethod.objects.select_for_update().filter(customer=customer).exclude(id__in=ids)
        for card in gone:
            _record_card_removed(
                workspace,
                card.id,
                card.stripe_data,
                card.id == customer.default_payment_method_id,
                actor=None,
                actor_type=ActorType.SYSTEM,
            )
    _sync(Customer, stripe_customer)


def refresh_payment_methods(*, workspace):
    """The workspace's cards fresh from Stripe, synced into dj-stripe.

    Returns (methods, default_id, stale): when Stripe is unreachable, the last synced
    copy with stale=True.
    """
    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        return [], None, False
    try:
        listing = stripe_call(stripe.Customer.list_payment_methods, customer.id, type="card", limit=100)
        stripe_customer = stripe_call(stripe.Customer.retrieve, customer.id)
        _sync_payment_methods(workspace, customer, listing["data"], stripe_customer)
    except (StripeUnavailable, StripeUpstreamError):
        customer = selectors.customer_for(workspace=workspace)
        return selectors.payment_methods(workspace=workspace), customer.default_payment_method_id, True
    customer = selectors.customer_for(workspace=workspace)
    return selectors.payment_methods(workspace=workspace), customer.default_payment_method_id, False


def _owned_payment_method(workspace, payment_method_id):
    """(customer, Stripe payment method) when it is this workspace's card; 404 otherwise."""
    not_found = NotFound(f"Payment method '{payment_method_id}' not found.", code="PAYMENT_METHOD_NOT_FOUND")
    customer = selectors.customer_for(workspace=workspace)
    if customer is None or not payment_method_id.startswith("pm_"):
        raise not_found
    data = stripe_call(stripe.PaymentMethod.retrieve, payment_method_id, not_found=not_found)
    if data.get("customer") != customer.id:
        raise not_found
    return customer, data


def set_default_payment_method(*, workspace, payment_method_id, actor=None, actor_type=None):
    customer, payment_method = _owned_payment_method(workspace, payment_method_id)
    previous = customer.default_payment_method_id
    stripe_customer = stripe_call(
        stripe.Customer.modify, customer.id, invoice_settings={"default_payment_method": payment_method_id}
    )
    # dj-stripe may fetch related objects while syncing: outside the audit's transaction.
    _sync(PaymentMethod, payment_method)
    _sync(Customer, stripe_customer)
    with transaction.atomic():
        record(
            workspace=workspace,
            event_type="payment_method.default_changed",
            resource_type="payment_method",
            resource_id=payment_method_id,
            summary=f"Default payment method set to {_card_label(payment_method)}",
            actor=actor,
            actor_type=actor_type,
            metadata={"default_payment_method": {"before": previous, "after": payment_method_id}},
        )


def _default_is_required(workspace):
    return workspace.plan.is_paid or selectors.get_overage_settings(workspace=workspace).enabled


def delete_payment_method(*, workspace, payment_method_id, actor=None, actor_type=None):
    """Detach a card. The default card cannot go while a paid plan or overage billing needs it.

    Takes the billing-change lease like change_plan, so an upgrade cannot slip in
    between the check and the detach (a detached card cannot be re-attached).
    """
    with _billing_change(workspace, "payment method removal"):
        workspace = _fresh(workspace)
        customer, payment_method = _owned_payment_method(workspace, payment_method_id)
        stripe_customer = stripe_call(stripe.Customer.retrieve, customer.id)
        is_default = (stripe_customer.get("invoice_settings") or {}).get("default_payment_method") == payment_method_id
        if is_default and _default_is_required(workspace):
            raise InvalidInput(
                "This is the default payment method and the plan or overage billing needs it; "
                "make another card the default first.",
                code="DEFAULT_PAYMENT_METHOD_REQUIRED",
                details={"pmId": ["The default payment method is in use."]},
            )
        if is_default:
            stripe_customer = stripe_call(
                stripe.Customer.modify, customer.id, invoice_settings={"default_payment_method": ""}
            )
        detached = stripe_call(stripe.PaymentMethod.detach, payment_method_id)
        _sync(PaymentMethod, detached)
        _sync(Customer, stripe_customer)
        with transaction.atomic():
            _record_card_removed(workspace, payment_method_id, payment_method, is_default, actor, actor_type)


def _record_card_removed(workspace, payment_method_id, payment_method, is_default, actor, actor_type):
    PaymentMethod.objects.filter(id=payment_method_id).update(customer=None)
    record(
        workspace=workspace,
        event_type="payment_method.removed",
        resource_type="payment_method",
        resource_id=payment_method_id,
        summary=f"Payment method {_card_label(payment_method)} removed",
        actor=actor,
        actor_type=actor_type,
        metadata={"was_default": is_default},
    )


def _card_label(payment_method):
    card = payment_method.get("card") or {}
    return f"{card.get('brand', 'card')} •••• {card.get('last4', '????')}"


# --- plan


@dataclass(frozen=True)
class PlanChange:
    previous_plan: object
    plan: object  # the plan the workspace is on after the request
    scheduled_plan: object  # the plan it moves to at the period end, or None
    effective_at: object
    subscription: object  # dj-stripe Subscription or None


def _price_id(plan):
    if not plan.stripe_price_monthly_id:
        raise Unavailable(
            f"Plan '{plan.code}' is not available for purchase yet (not synced to Stripe).",
            code="PLAN_NOT_PURCHASABLE",
        )
    return plan.stripe_price_monthly_id


def change_plan(*, workspace, plan, actor=None, actor_type=None):
    """Move the workspace to `plan`: Stripe first, then the database in the same request.

    free -> paid creates the subscription; paid -> paid swaps its price with proration;
    paid -> free cancels it at the period end (the workspace keeps the paid plan until
    Stripe ends the subscription, see the `customer.subscription.deleted` webhook).

    Two plan changes, or a plan change and the removal of the default card, never
    interleave: they take turns through the billing-change lease, and no database lock
    is held while Stripe answers. The final transaction re-reads the locked workspace and
    writes only what differs from it. If that write fails after Stripe answered,
    reconciliation brings the plan in line with Stripe.
    """
    with _billing_change(workspace, "plan change"):
        change = _change_plan(_fresh(workspace), plan, actor=actor, actor_type=actor_type)
    workspace.plan = change.plan
    return change


def _change_plan(workspace, plan, *, actor, actor_type):
    previous = workspace.plan
    subscription = selectors.live_subscription(workspace=workspace)
    pending_cancel = subscription is not None and subscription.cancel_at_period_end
    if plan.pk == previous.pk and not pending_cancel:
        return PlanChange(previous, previous, None, None, subscription)

    exceeded = usage_selectors.limits_exceeded(workspace=workspace, plan=plan)
    if exceeded:
        raise InvalidInput(
            f"Current usage exceeds the limits of plan '{plan.code}': {', '.join(exceeded)}.",
            code="PLAN_LIMITS_EXCEEDED",
            details={"newPlan": [f"Usage exceeds the '{limit}' limit." for limit in exceeded]},
        )

    data, new_plan, scheduled = None, plan, None
    if plan.is_paid:
        if not selectors.has_default_payment_method(workspace=workspace):
            raise InvalidInput(
                "A paid plan needs a default payment method; add a card first.",
                code="PAYMENT_METHOD_REQUIRED",
                details={"newPlan": ["No default payment method."]},
            )
        price = _price_id(plan)
        metadata = {"workspace_id": str(workspace.pk), "plan": plan.code}
        customer = selectors.customer_for(workspace=workspace)
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
        subscription = _sync(Subscription, data)
    effective_at = selectors.subscription_period(subscription)[1] if scheduled is not None else None
    with transaction.atomic():
        locked = _locked(workspace)
        if new_plan.pk != locked.plan_id:
            _set_plan(
                locked,
                new_plan,
                actor=actor,
                actor_type=actor_type,
                subscription_id=getattr(subscription, "id", None),
            )
        if scheduled is not None:
            record(
                workspace=locked,
                event_type="subscription.updated",
                resource_type="subscription",
                resource_id=subscription.id,
                summary=f"Change to plan '{scheduled.code}' scheduled for the end of the billing period",
                actor=actor,
                actor_type=actor_type,
                metadata={"scheduled_plan": scheduled.code, "effective_at": effective_at.isoformat()},
            )
    if data is not None:
        _sync_recent_invoices(subscription.customer_id)
    return PlanChange(previous, new_plan, scheduled, effective_at, subscription)


def _unsynced_live_subscription(customer):
    """A live subscription Stripe has for the customer but dj-stripe does not (a lost answer).

    Synced and returned, so a retry moves that subscription instead of creating another,
    whatever plan or card the retry asks for.
    """
    listing = stripe_call(stripe.Subscription.list, customer=customer.id, status="all", limit=10)
    for data in listing["data"]:
        if data.get("status") in selectors.LIVE_SUBSCRIPTION_STATUSES:
            return _sync(Subscription, data)
    return None


def _subscription_key(workspace, customer):
    """The idempotency key of creating the workspace's next subscription.

    Two identical requests in flight at once (a retry while the first is still running in
    Stripe) get one subscription; a retry after the answer was lost is caught first by
    `_unsynced_live_subscription`. The key counts the subscriptions synced so far (a new
    key after a cancellation) and names the default card: Stripe replays a key's first
    result for 24 hours, card declines included, so a new card must mean a new request.
    The target price is left out: the same key for another plan is refused (409), not
    billed twice.
    """
    return (
        f"workspace-{workspace.pk}-subscription-{customer.subscriptions.count() + 1}"
        f"-{customer.default_payment_method_id}"
    )


def _sync_recent_invoices(customer_id):
    """The invoices a plan change just produced, so /invoices shows them at once.

    Best effort, after the plan change committed: the change already happened in Stripe
    and must not fail or roll back because of its invoices; a missed invoice arrives by
    webhook or reconciliation.
    """
    try:
        invoices = stripe_call(stripe.Invoice.list, customer=customer_id, limit=10)
    except (StripeUnavailable, StripeUpstreamError):
        logger.warning("invoices of customer %s not synced after a plan change", customer_id, exc_info=True)
        return
    for invoice in invoices["data"]:
        try:
            _sync(Invoice, invoice)
        except Exception:  # whatever dj-stripe trips on; reconciliation retries it
            logger.exception("invoice %s of customer %s not synced after a plan change", invoice.get("id"), customer_id)


def _set_plan(workspace, plan, *, actor=None, actor_type=None, subscription_id=None, reason=""):
    """Within the caller's transaction, on a locked workspace row."""
    before = workspace.plan.code
    workspace.plan = plan
    workspace.save(update_fields=["plan", "updated_at"])
    record(
        workspace=workspace,
        event_type="plan.changed",
        resource_type="plan",
        resource_id=plan.pk,
        summary=f"Plan changed from '{before}' to '{plan.code}'" + (f" ({reason})" if reason else ""),
        actor=actor,
        actor_type=actor_type,
        metadata={"plan": {"before": before, "after": plan.code}, "subscription_id": subscription_id},
    )


# --- overage


def update_overage(*, workspace, enabled, spending_cap_cents=UNSET, actor=None, actor_type=None):
    """Turn overage billing on/off and set its cap (None = no cap; UNSET = keep).

    Takes the billing-change lease: enabling checks the default card, which a concurrent
    card removal must not take away in between.
    """
    with _billing_change(workspace, "overage change"), transaction.atomic():
        workspace = _locked(workspace)
        if enabled:
            if workspace.plan.overage_rates is None:
                raise InvalidInput(
                    f"Plan '{workspace.plan.code}' does not offer overage; upgrade first.",
                    code="OVERAGE_NOT_OFFERED",
                    details={"overageEnabled": ["Not offered on this plan."]},
                )
            if not selectors.has_default_payment_method(workspace=workspace):
                raise InvalidInput(
                    "Overage billing needs a default payment method; add a card first.",
                    code="PAYMENT_METHOD_REQUIRED",
                    details={"overageEnabled": ["No default payment method."]},
                )
        settings_row, _ = OverageSettings.objects.select_for_update().get_or_create(workspace=workspace)
        before = {"enabled": settings_row.enabled, "spending_cap_cents": settings_row.spending_cap_cents}
        if enabled and not settings_row.enabled:
            settings_row.enabled_at = timezone.now()
        elif not enabled:
            if settings_row.enabled and settings_row.unbilled_since is None:
                # The period's overage so far is still billed at its end (see charge_overage).
                settings_row.unbilled_since = selectors.current_billing_period(
                    workspace=workspace, now=timezone.now()
                ).start
            settings_row.enabled_at = None
        settings_row.enabled = enabled
        if spending_cap_cents is not UNSET:
            settings_row.spending_cap_cents = spending_cap_cents
        settings_row.save()
        after = {"enabled": settings_row.enabled, "spending_cap_cents": settings_row.spending_cap_cents}
        if before != after:
            record(
                workspace=workspace,
                event_type="overage.changed",
                resource_type="overage_settings",
                resource_id=workspace.pk,
                summary=f"Overage billing {'enabled' if enabled else 'disabled'}"
                + (
                    f", cap {after['spending_cap_cents']} cents"
                    if enabled and after["spending_cap_cents"] is not None
                    else ""
                ),
                actor=actor,
                actor_type=actor_type,
                metadata={
                    key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]
                },
            )
    return settings_row


# --- renewal while the workspace is pending deletion

# Subscription metadata marking a renewal stopped because the workspace was deleted, so a
# restore resumes only that, never a downgrade the customer scheduled themselves.
DELETION_CANCEL_KEY = "centrali_cancel_reason"
DELETION_CANCEL_REASON = "workspace_deleted"


def _renewal_stopped_for_deletion(subscription_data):
    return (subscription_data.get("metadata") or {}).get(DELETION_CANCEL_KEY) == DELETION_CANCEL_REASON


def renewal_out_of_line(*, workspace, subscription_data):
    """Whether a live subscription's renewal disagrees with the workspace's deletion state."""
    if workspace.is_pending_deletion:
        return not subscription_data.get("cancel_at_period_end")
    return bool(subscription_data.get("cancel_at_period_end")) and _renewal_stopped_for_deletion(subscription_data)


def align_renewal_with_deletion(*, workspace):
    """A workspace pending deletion stops renewing at the period end; a restored one renews again.

    Idempotent and driven by the workspace's current state (not by which signal asked),
    so repeated or reordered runs converge. Returns True when Stripe was changed.
    """
    workspace = _fresh(workspace)
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
    _sync(Subscription, data)
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


# --- state driven by Stripe (webhooks, reconciliation)


def workspace_for_customer(customer_id):
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first()
    return customer.subscriber if customer is not None else None


def apply_subscription_state(
    *, workspace, subscription_data, actor_type=ActorType.SYSTEM, reason="Stripe subscription"
):
    """Make the workspace's plan agree with a subscription Stripe reports (inside a transaction).

    A live subscription means its price's plan; an ended one means the default plan,
    unless another live subscription still bills the workspace.
    """
    locked = _locked(workspace)
    if subscription_data.get("status") in selectors.LIVE_SUBSCRIPTION_STATUSES:
        plan = selectors.plan_for_price(selectors.subscription_price_id(subscription_data))
    elif selectors.live_subscription(workspace=workspace) is None:
        plan = selectors.get_default_plan()
    else:
        plan = None
    if plan is not None and plan.pk != locked.plan_id:
        _set_plan(locked, plan, actor_type=actor_type, subscription_id=subscription_data.get("id"), reason=reason)
        return True
    return False


def suspend_for_uncollectible_invoice(*, workspace, invoice_id):
    """Suspend the workspace for an uncollectible invoice (inside the webhook's transaction).

    A BillingSuspension row is kept only while the suspension is billing's own: when
    billing suspends an active workspace, or adds an invoice to a suspension billing
    already imposed. A workspace staff suspended (or one pending deletion) gets no row,
    so paying the invoice never lifts a suspension billing did not impose.
    """
    locked = _locked(workspace)
    billing_holds_it = BillingSuspension.objects.filter(workspace=locked).exists()
    if locked.status == WorkspaceStatus.ACTIVE:
        workspace_services.suspend_workspace(
            workspace=locked, actor_type=ActorType.SYSTEM, reason=f"invoice {invoice_id} is uncollectible"
        )
    elif not (locked.status == WorkspaceStatus.SUSPENDED and billing_holds_it):
        return
    BillingSuspension.objects.get_or_create(workspace=locked, stripe_invoice_id=invoice_id)


def lift_suspension_for_paid_invoice(*, workspace, invoice_id):
    """Back to active once no uncollectible invoice holds the workspace suspended (only
    billing's own suspensions have rows, see suspend_for_uncollectible_invoice)."""
    deleted, _ = BillingSuspension.objects.filter(workspace=workspace, stripe_invoice_id=invoice_id).delete()
    if deleted and not BillingSuspension.objects.filter(workspace=workspace).exists():
        workspace_services.unsuspend_workspace(
            workspace=workspace, actor_type=ActorType.SYSTEM, reason=f"invoice {invoice_id} was paid"
        )


# --- catalogue -> Stripe


def _cents(amount):
    return int((amount * 100).to_integral_value())


def _ensure_price(plan, *, product_id, current_id, amount, interval):
    """The id of an active Stripe price for `amount` per `interval`; a new price when it changed.

    Stripe prices are immutable, so a changed amount means a new price and the old one
    archived (existing subscriptions keep it until they are moved).
    """
    wanted = {"unit_amount": _cents(amount), "currency": plan.currency, "interval": interval}
    current = None
    if current_id:
        try:
            current = stripe_call(stripe.Price.retrieve, current_id, not_found=StripeObjectMissing("price"))
        except StripeObjectMissing:
            current = None
    if current is not None:
        same = (
            current["active"]
            and current["unit_amount"] == wanted["unit_amount"]
            and current["currency"] == wanted["currency"]
            and (current.get("recurring") or {}).get("interval") == interval
            and current["product"] == product_id
        )
        if same:
            return current_id, False
        stripe_call(stripe.Price.modify, current_id, active=False)
    price = stripe_call(
        stripe.Price.create,
        product=product_id,
        unit_amount=wanted["unit_amount"],
        currency=plan.currency,
        recurring={"interval": interval},
        nickname=f"{plan.name} ({interval}ly)",
        metadata={"plan_code": plan.code, "interval": interval},
    )
    return price["id"], True


def sync_plan_to_stripe(*, plan):
    """Create or update the plan's Stripe product and prices. Returns the list of changes made."""
    from billing.models import Plan

    changes = []
    product_fields = {
        "name": plan.name,
        "description": plan.description or plan.name,
        "metadata": {"plan_code": plan.code, "plan_id": str(plan.pk)},
    }
    product_id = plan.stripe_product_id
    if product_id:
        try:
            stripe_call(stripe.Product.modify, product_id, not_found=StripeObjectMissing("product"), **product_fields)
        except StripeObjectMissing:
            product_id = ""
    if not product_id:
        product_id = stripe_call(stripe.Product.create, **product_fields)["id"]
        changes.append(f"created product {product_id}")
    monthly, created_monthly = _ensure_price(
        plan,
        product_id=product_id,
        current_id=plan.stripe_price_monthly_id,
        amount=plan.price_monthly,
        interval="month",
    )
    yearly, created_yearly = _ensure_price(
        plan, product_id=product_id, current_id=plan.stripe_price_yearly_id, amount=plan.price_yearly, interval="year"
    )
    changes += [f"created monthly price {monthly}"] * created_monthly + [
        f"created yearly price {yearly}"
    ] * created_yearly
    Plan.objects.filter(pk=plan.pk).update(
        stripe_product_id=product_id, stripe_price_monthly_id=monthly, stripe_price_yearly_id=yearly
    )
    plan.stripe_product_id, plan.stripe_price_monthly_id, plan.stripe_price_yearly_id = product_id, monthly, yearly
    return changes


# --- reconciliation


@dataclass(frozen=True)
class Drift:
    workspace: str
    kind: str  # missing_customer, plan_mismatch, unsynced_invoice, unsynced_payment_method, customer_gone,
    # renewal_mismatch
    detail: str
    repaired: bool


def _find_stripe_customer(workspace):
    """A Stripe customer created for this workspace but never synced (e.g. a crash after create)."""
    listing = stripe_call(stripe.Customer.list, email=workspace.email, limit=100)
    for data in listing["data"]:
        if (data.get("metadata") or {}).get("djstripe_subscriber") == str(workspace.pk):
            return data
    return None


def reconcile_workspace(*, workspace, dry_run=False, actor=None, actor_type=ActorType.SYSTEM):
    """Compare the workspace's billing state with Stripe's; repair each drift unless dry_run.

    Stripe is the source of truth: its customer, cards, subscriptions and invoices are
    synced into dj-stripe, and the workspace's plan follows its live subscription.
    """
    drifts = []
    repair = not dry_run

    def drift(kind, detail, *, repairable=True):
        drifts.append(Drift(workspace.slug, kind, detail, repair and repairable))

    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        data = _find_stripe_customer(workspace)
        if data is None:
            if workspace.plan.is_paid:
                drift("plan_mismatch", f"plan '{workspace.plan.code}' is paid but there is no Stripe customer")
                if repair:
                    with transaction.atomic():
                        _set_plan(
                            _locked(workspace),
                            selectors.get_default_plan(),
                            actor=actor,
                            actor_type=actor_type,
                            reason="reconciliation: no Stripe customer",
                        )
            return drifts
        drift("missing_customer", f"Stripe customer {data['id']} was not synced")
        if not repair:
            return drifts
        customer = _sync(Customer, data)

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
        _sync_payment_methods(workspace, customer, cards, stripe_customer)
        for subscription in subscriptions:
            _sync(Subscription, subscription)
        for invoice in invoices:
            _sync(Invoice, invoice)
        if expected is not None:
            with transaction.atomic():
                locked = _locked(workspace)
                if expected.pk != locked.plan_id:
                    _set_plan(
                        locked,
                        expected,
                        actor=actor,
                        actor_type=actor_type,
                        reason="reconciliation with Stripe",
                        subscription_id=live[0]["id"] if live else None,
                    )
        if renewal_drift:
            align_renewal_with_deletion(workspace=workspace)
    return drifts


def sync_workspace_from_stripe(*, workspace, actor, actor_type=ActorType.STAFF):
    """The admin's "sync from Stripe": reconcile and record who asked, with what was found."""
    drifts = reconcile_workspace(workspace=workspace, actor=actor, actor_type=actor_type)
    with transaction.atomic():
        record(
            workspace=workspace,
            event_type="billing.synced",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Billing synced from Stripe: {len(drifts)} difference(s) repaired",
            actor=actor,
            actor_type=actor_type,
            metadata={"drifts": [{"kind": d.kind, "detail": d.detail} for d in drifts]},
        )
    return drifts


# --- overage charging


def charge_overage(*, workspace, period):
    """Bill a workspace's overage for an ended period: one Stripe invoice item per line, once.

    The unique (workspace, period start, metric) row is inserted in the same transaction
    as the Stripe call's result, and the Stripe idempotency key repeats the same triple,
    so a rerun — or a crash after Stripe answered — never bills a line twice.
    """
    from billing.models import OverageCharge

    lines = _billable_overage(workspace, period)
    already = set(
        OverageCharge.objects.filter(workspace=workspace, period_start=period.start).values_list("metric", flat=True)
    )
    lines = [line for line in lines if line.metric not in already and line.amount_cents > 0]
    customer = selectors.customer_for(workspace=workspace)
    if not lines or customer is None:
        _settle_unbilled(workspace, period)
        return []
    charged = []
    for line in lines:
        key = f"overage-{workspace.pk}-{period.start:%Y%m%dT%H%M%S}-{line.metric}"
        item = stripe_call(
            stripe.InvoiceItem.create,
            customer=customer.id,
            amount=line.amount_cents,
            currency=workspace.plan.currency,
            description=line.description,
            metadata={
                "workspace_id": str(workspace.pk),
                "metric": line.metric,
                "period_start": period.start.isoformat(),
            },
            idempotency_key=key,
        )
        with transaction.atomic():
            charge, created = OverageCharge.objects.get_or_create(
                workspace=workspace,
                period_start=period.start,
                metric=line.metric,
                defaults={
                    "period_end": period.end,
                    "units": line.units,
                    "amount_cents": line.amount_cents,
                    "description": line.description[:500],
                    "stripe_invoice_item_id": item["id"],
                },
            )
            if created:
                record(
                    workspace=workspace,
                    event_type="overage.charged",
                    resource_type="overage_charge",
                    resource_id=charge.pk,
                    summary=f"Overage charged: {line.description}",
                    actor_type=ActorType.SYSTEM,
                    metadata={
                        "metric": line.metric,
                        "units": str(line.units),
                        "amount_cents": line.amount_cents,
                        "period_start": period.start.isoformat(),
                        "period_end": period.end.isoformat(),
                        "stripe_invoice_item_id": item["id"],
                    },
                )
                charged.append(charge)
    _settle_unbilled(workspace, period)
    return charged


def _billable_overage(workspace, period):
    """The overage lines of an ended period: overage is on, or was on in it and turned off since.

    Billing only workspaces that have overage on at charge time let a workspace run past
    its limits all period and turn overage off just before the charge.
    """
    settings_row = selectors.get_overage_settings(workspace=workspace)
    owed_after_turning_off = settings_row.unbilled_since is not None and settings_row.unbilled_since <= period.start
    if not (settings_row.enabled or owed_after_turning_off):
        return []
    return usage_selectors.overage_for_period(workspace=workspace, period=period)


def _settle_unbilled(workspace, period):
    """The periods up to `period` are billed: forget that overage was owed for them."""
    OverageSettings.objects.filter(workspace=workspace, unbilled_since__lte=period.start).update(unbilled_since=None)
