"""Billing's part of a workspace's purge: no local copy of its Stripe customer is left.

Stripe keeps the customer's invoices for its own legal retention; locally, dj-stripe's
mirror of the customer (and what hangs off it: cards, charges, invoices, subscriptions) is
deleted, and the Stripe events kept about it (billing's webhook records, dj-stripe's Event
rows) are cut down to a stub: their ids still make a redelivery a duplicate, their
content names nobody. Runs inside the purge's transaction (its audit log goes with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from djstripe.models import Charge, Customer, Event, PaymentMethod, SetupIntent, Source

from billing.models import StripeWebhookEvent

if TYPE_CHECKING:
    from workspaces.models import Workspace

BATCH_SIZE = 500


def event_stub(event: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of a Stripe event nobody here acts on: its id, type and the id and kind of
    its object, still shaped as an event (applying it again finds no workspace and does nothing)."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    obj = obj if isinstance(obj, Mapping) else {}
    return {
        "id": event.get("id"),
        "object": "event",
        "type": event.get("type"),
        "livemode": bool(event.get("livemode")),
        "created": event.get("created"),
        "data": {"object": {"id": obj.get("id"), "object": obj.get("object")}},
        "erased": True,
    }


def erase_local_stripe_copies(*, workspace: Workspace) -> int:
    """Delete the local mirror of the workspace's Stripe customers and scrub the events about
    them. Returns how many customers were erased."""
    customer_ids = list(Customer.objects.filter(subscriber=workspace).values_list("id", flat=True))
    _scrub_events(workspace=workspace, customer_ids=customer_ids)
    if not customer_ids:
        return 0
    # Their link to the customer is SET NULL: deleted first, or they would outlive it.
    for model in (Charge, PaymentMethod, SetupIntent, Source):
        model.objects.filter(customer_id__in=customer_ids).delete()
    # Subscriptions, invoices (with their charges and items), payment intents and discounts cascade.
    Customer.objects.filter(id__in=customer_ids).delete()
    return len(customer_ids)


def _about(customer_ids: Iterable[str], prefix: str) -> Q:
    about = Q()
    for customer_id in customer_ids:
        about |= (
            Q(**{f"{prefix}__object__customer": customer_id})
            | Q(**{f"{prefix}__object__id": customer_id})
            | Q(**{f"{prefix}__previous_attributes__customer": customer_id})
        )
    return about


def _scrub_events(*, workspace: Workspace, customer_ids: list[str]) -> None:
    recorded = StripeWebhookEvent.objects.filter(Q(workspace=workspace) | _about(customer_ids, "payload__data"))
    rows = [row for row in recorded.only("pk", "payload") if not (row.payload or {}).get("erased")]
    for row in rows:
        row.payload = event_stub(row.payload or {})
    StripeWebhookEvent.objects.bulk_update(rows, ["payload"], batch_size=BATCH_SIZE)

    event_ids = {row.payload["id"] for row in rows if row.payload.get("id")}
    mirrored = Event.objects.filter(Q(id__in=event_ids) | _about(customer_ids, "data"))
    events = list(mirrored.only("pk", "id", "type", "livemode", "data", "stripe_data"))
    for event in events:
        stub = event_stub({"data": event.data, **(event.stripe_data or {}), "id": event.id, "type": event.type})
        event.stripe_data = stub
        event.data = stub["data"]
    Event.objects.bulk_update(events, ["stripe_data", "data"], batch_size=BATCH_SIZE)
