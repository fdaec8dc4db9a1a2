"""The workspace's Stripe customer and its cards: setup sessions, the default card, removal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe
from django.db import transaction
from djstripe.models import Customer, PaymentMethod

from audit.events import ActorType
from audit.services import record
from billing import selectors
from billing.formats import card_label
from billing.gateway import StripeUnavailable, StripeUpstreamError, stripe_call
from billing.services._common import billing_change, fresh_workspace, sync_from_stripe
from centrali.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from workspaces.models import Workspace


def ensure_customer(*, workspace: Workspace) -> Customer:
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
    return sync_from_stripe(Customer, data)


@dataclass(frozen=True)
class SetupSession:
    """A SetupIntent the browser confirms with card details (Stripe.js needs the client secret)."""

    client_secret: str
    setup_intent_id: str


def create_setup_session(*, workspace: Workspace) -> SetupSession:
    """A SetupIntent for the browser to collect a card."""
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
    return SetupSession(client_secret=str(intent["client_secret"]), setup_intent_id=str(intent["id"]))


def sync_payment_methods(
    *,
    workspace: Workspace,
    customer: Customer,
    listing: Iterable[Mapping[str, Any]],
    stripe_customer: Mapping[str, Any],
) -> None:
    """dj-stripe's copy := Stripe's list (also reconciliation's repair of the cards).

    A card no longer listed was detached outside this service (Stripe's dashboard,
    another integration): it loses its customer and its removal is audited here, once, as
    the system's finding whoever is looking. The `payment_method.detached` event that
    follows then finds it already detached and records nothing (see webhooks._workspace_of).
    """
    ids = []
    for data in listing:
        sync_from_stripe(PaymentMethod, data)
        ids.append(data["id"])
    with transaction.atomic():
        gone = PaymentMethod.objects.select_for_update().filter(customer=customer).exclude(id__in=ids)
        for card in gone:
            _record_card_removed(
                workspace,
                card.id,
                card.stripe_data,
                is_default=card.id == customer.default_payment_method_id,
                detached_elsewhere=True,
            )
    sync_from_stripe(Customer, stripe_customer)


def refresh_payment_methods(*, workspace: Workspace) -> tuple[list[PaymentMethod], str | None, bool]:
    """The workspace's cards fresh from Stripe, synced into dj-stripe.

    A card seen here for the first time becomes the default when the customer has none
    (the newest such card), audited as the system: see `make_first_card_default`.

    Returns (methods, default_id, stale): when Stripe is unreachable, the last synced
    copy with stale=True.
    """
    customer = selectors.customer_for(workspace=workspace)
    if customer is None:
        return [], None, False
    stale = False
    try:
        known = set(PaymentMethod.objects.filter(customer=customer).values_list("id", flat=True))
        listing = stripe_call(stripe.Customer.list_payment_methods, customer.id, type="card", limit=100)
        stripe_customer = stripe_call(stripe.Customer.retrieve, customer.id)
        new_cards = [card for card in listing["data"] if card["id"] not in known]
        adopted = None
        if new_cards and _default_of(stripe_customer) is None:
            adopted = max(new_cards, key=lambda card: card["created"])
            stripe_customer = _make_default(customer.id, adopted)
        sync_payment_methods(
            workspace=workspace, customer=customer, listing=listing["data"], stripe_customer=stripe_customer
        )
        if adopted is not None:
            with transaction.atomic():
                _record_first_card_default(workspace, adopted)
    except (StripeUnavailable, StripeUpstreamError):
        stale = True
    customer = selectors.customer_for(workspace=workspace)  # as just synced
    default_id = customer.default_payment_method_id if customer is not None else None
    return selectors.payment_methods(workspace=workspace), default_id, stale


def make_first_card_default(*, workspace: Workspace, payment_method_id: str) -> bool:
    """A card just attached (the `payment_method.attached` webhook) becomes the default when the
    customer has none, audited as the system; returns whether it did.

    So the card a customer adds first is the one a paid plan charges, with no second step;
    a customer who already has a default keeps it. Runs in the webhook's transaction, after
    dj-stripe synced the card: a card detached again meanwhile is left alone.
    """
    card = PaymentMethod.objects.filter(id=payment_method_id).first()
    customer = selectors.customer_for(workspace=workspace)
    if card is None or customer is None or card.customer_id != customer.id:
        return False
    if _default_of(stripe_call(stripe.Customer.retrieve, customer.id)) is not None:
        return False
    sync_from_stripe(Customer, _make_default(customer.id, card.stripe_data))
    _record_first_card_default(workspace, card.stripe_data)
    return True


def _default_of(stripe_customer: Mapping[str, Any]) -> str | None:
    """The id of the card Stripe charges the customer by default (Stripe's JSON), or None."""
    default = (stripe_customer.get("invoice_settings") or {}).get("default_payment_method")
    if isinstance(default, Mapping):
        default = default.get("id")
    return str(default) if default else None


def _make_default(customer_id: str, payment_method: Mapping[str, Any]) -> Mapping[str, Any]:
    """Stripe's customer after making `payment_method` its default."""
    customer: Mapping[str, Any] = stripe_call(
        stripe.Customer.modify, customer_id, invoice_settings={"default_payment_method": payment_method["id"]}
    )
    return customer


def _record_first_card_default(workspace: Workspace, payment_method: Mapping[str, Any]) -> None:
    record(
        workspace=workspace,
        event_type="payment_method.default_changed",
        resource_type="payment_method",
        resource_id=str(payment_method["id"]),
        summary=f"Default payment method set to {card_label(payment_method)}",
        actor_type=ActorType.SYSTEM,
        metadata={
            "default_payment_method": {"before": None, "after": payment_method["id"]},
            "reason": "first card of a customer without a default",
        },
    )


def _owned_payment_method(workspace: Workspace, payment_method_id: str) -> tuple[Customer, Mapping[str, Any]]:
    """(customer, Stripe payment method) when it is this workspace's card; NotFound otherwise."""
    not_found = NotFound(f"Payment method '{payment_method_id}' not found.", code="PAYMENT_METHOD_NOT_FOUND")
    customer = selectors.customer_for(workspace=workspace)
    if customer is None or not payment_method_id.startswith("pm_"):
        raise not_found
    data = stripe_call(stripe.PaymentMethod.retrieve, payment_method_id, not_found=not_found)
    if data.get("customer") != customer.id:
        raise not_found
    return customer, data


def set_default_payment_method(*, workspace: Workspace, payment_method_id: str) -> None:
    """Make one of the workspace's cards the one Stripe charges (audited as whoever acts)."""
    customer, payment_method = _owned_payment_method(workspace, payment_method_id)
    previous = customer.default_payment_method_id
    stripe_customer = stripe_call(
        stripe.Customer.modify, customer.id, invoice_settings={"default_payment_method": payment_method_id}
    )
    # dj-stripe may fetch related objects while syncing: outside the audit's transaction.
    sync_from_stripe(PaymentMethod, payment_method)
    sync_from_stripe(Customer, stripe_customer)
    with transaction.atomic():
        record(
            workspace=workspace,
            event_type="payment_method.default_changed",
            resource_type="payment_method",
            resource_id=payment_method_id,
            summary=f"Default payment method set to {card_label(payment_method)}",
            metadata={"default_payment_method": {"before": previous, "after": payment_method_id}},
        )


def _default_is_required(workspace: Workspace) -> bool:
    return workspace.plan.is_paid or selectors.get_overage_settings(workspace=workspace).enabled


def delete_payment_method(*, workspace: Workspace, payment_method_id: str) -> None:
    """Detach a card. The default card cannot go while a paid plan or overage billing needs it.

    Takes the billing-change lease like change_plan, so an upgrade cannot slip in
    between the check and the detach (a detached card cannot be re-attached).
    """
    with billing_change(workspace, "payment method removal"):
        workspace = fresh_workspace(workspace)
        customer, payment_method = _owned_payment_method(workspace, payment_method_id)
        stripe_customer = stripe_call(stripe.Customer.retrieve, customer.id)
        is_default = _default_of(stripe_customer) == payment_method_id
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
        sync_from_stripe(PaymentMethod, detached)
        sync_from_stripe(Customer, stripe_customer)
        with transaction.atomic():
            _record_card_removed(
                workspace, payment_method_id, payment_method, is_default=is_default, detached_elsewhere=False
            )


def _record_card_removed(
    workspace: Workspace,
    payment_method_id: str,
    payment_method: Mapping[str, Any],
    *,
    is_default: bool,
    detached_elsewhere: bool,
) -> None:
    """The card leaves the customer locally, audited: as the system when it was detached
    outside this service, otherwise as whoever acts."""
    PaymentMethod.objects.filter(id=payment_method_id).update(customer=None)
    record(
        workspace=workspace,
        event_type="payment_method.removed",
        resource_type="payment_method",
        resource_id=payment_method_id,
        summary=f"Payment method {card_label(payment_method)} removed",
        actor_type=ActorType.SYSTEM if detached_elsewhere else None,
        metadata={"was_default": is_default},
    )
