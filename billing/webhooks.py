"""Stripe webhook processing: verify, record once, apply in one transaction, as the system.

Exactly-once comes from the UNIQUE stripe_event_id of StripeWebhookEvent, inserted in
the same transaction as the event's effects:
- a redelivery of an applied event hits the constraint and changes nothing;
- two concurrent deliveries: the second insert waits on the first transaction's row
  and then fails the constraint (PostgreSQL), so the effects apply once;
- a handler error rolls back the row with the effects, so Stripe's retry re-applies.
"""

from datetime import UTC, datetime

import stripe
import structlog
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from djstripe.models import Event, PaymentMethod, Subscription

from audit.services import record
from billing import gateway, selectors, services
from billing.formats import card_label
from billing.models import StripeWebhookEvent, StripeWebhookFailure
from billing.services.payment_methods import make_first_card_default
from centrali.api.parsers import loads_strict
from centrali.context import ActorType, acting
from centrali.errors import InvalidInput

logger = structlog.get_logger(__name__)


class InvalidSignature(InvalidInput):
    code = "INVALID_SIGNATURE"


def verify(*, payload, signature):
    """The event dict when `Stripe-Signature` is valid for the raw body; InvalidSignature otherwise."""
    gateway.require_configured()
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise gateway.BillingNotConfigured("Stripe webhooks are not configured (no STRIPE_WEBHOOK_SECRET).")
    if not signature:
        raise InvalidSignature("Missing Stripe-Signature header.", details={"Stripe-Signature": ["Required."]})
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature(
            "The Stripe-Signature header is invalid or too old.", details={"Stripe-Signature": [str(exc)]}
        ) from exc
    event = loads_strict(payload)
    well_formed = (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and 0 < len(event["id"]) <= 255
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    )
    if not well_formed:
        raise InvalidInput("The body is not a Stripe event.", code="MALFORMED_REQUEST")
    return event


def process(event):
    """Apply a verified event once. Returns False when it had already been applied.

    Stripe is nobody in particular: what an event changes is audited as the system.
    """
    with acting(actor_type=ActorType.SYSTEM):
        try:
            with transaction.atomic():
                recorded = StripeWebhookEvent.objects.create(
                    stripe_event_id=event["id"],
                    type=event["type"][:250],
                    livemode=bool(event.get("livemode")),
                    stripe_created_at=_timestamp(event.get("created")),
                )
                workspace = _workspace_of(event)
                # Events about no workspace of ours (other customers on the account, catalogue
                # changes) are acknowledged and recorded, not synced.
                if workspace is not None:
                    with gateway.translated_stripe_errors():
                        Event.process(data=event, api_key=gateway.api_key())
                    _apply(workspace, event)
                    recorded.workspace = workspace
                    recorded.save(update_fields=["workspace"])
                StripeWebhookFailure.objects.filter(stripe_event_id=event["id"]).delete()
        except IntegrityError:
            if StripeWebhookEvent.objects.filter(stripe_event_id=event["id"]).exists():
                return False
            _record_failure(event, "IntegrityError")
            raise
        except Exception as exc:
            _record_failure(event, f"{type(exc).__name__}: {getattr(exc, 'code', '')}".rstrip(": "))
            raise
    return True


def _record_failure(event, error):
    """Keep what failed for the staff console; never fails the answer (Stripe retries either way)."""
    try:
        failure, created = StripeWebhookFailure.objects.get_or_create(
            stripe_event_id=event["id"],
            defaults={"type": event["type"][:250], "error": error[:255], "last_failed_at": timezone.now()},
        )
        if not created:
            StripeWebhookFailure.objects.filter(pk=failure.pk).update(
                attempts=F("attempts") + 1, error=error[:255], last_failed_at=timezone.now()
            )
    except DatabaseError:
        logger.warning("billing.webhook_failure_not_recorded", stripe_event_id=event["id"], exc_info=True)


def _timestamp(value):
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) else None


def _workspace_of(event):
    """The workspace an event is about, read before dj-stripe syncs the event's object.

    A detached payment method names its customer only in `previous_attributes`; and a
    card this service detached itself (DELETE /payment-methods/{id}, audited there) is
    already without a customer locally, so its event is not the workspace's news.
    """
    data = event["data"].get("object") or {}
    if event.get("type") == "payment_method.detached":
        customer = PaymentMethod.objects.filter(id=data.get("id")).values_list("customer_id", flat=True).first()
    elif data.get("object") == "customer":
        customer = data.get("id")
    else:
        customer = data.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return selectors.workspace_for_customer(customer_id=customer) if customer else None


def _apply(workspace, event):
    """Our own effects of an event, after dj-stripe has synced its object."""
    handler = HANDLERS.get(event.get("type"))
    if handler is not None:
        handler(workspace, event["data"].get("object") or {}, event)


def _record(workspace, event, event_type, resource_type, summary, metadata=None):
    data = event["data"]["object"]
    record(
        workspace=workspace,
        event_type=event_type,
        resource_type=resource_type,
        resource_id=data.get("id", ""),
        summary=summary,
        metadata={"stripe_event_id": event["id"], **(metadata or {})},
    )


def _money(data):
    return (
        f"{(data.get('amount_paid') or data.get('amount_due') or 0) / 100:.2f} {str(data.get('currency', '')).upper()}"
    )


def on_invoice_paid(workspace, data, event):
    _record(
        workspace, event, "invoice.paid", "invoice", f"Invoice {data.get('number') or data['id']} paid ({_money(data)})"
    )
    services.lift_suspension_for_paid_invoice(workspace=workspace, invoice_id=data["id"])


def on_invoice_payment_failed(workspace, data, event):
    _record(
        workspace,
        event,
        "invoice.payment_failed",
        "invoice",
        f"Payment of invoice {data.get('number') or data['id']} failed ({_money(data)})",
        {"attempt_count": data.get("attempt_count")},
    )


def on_invoice_uncollectible(workspace, data, event):
    _record(
        workspace,
        event,
        "invoice.uncollectible",
        "invoice",
        f"Invoice {data.get('number') or data['id']} marked uncollectible; workspace suspended",
    )
    services.suspend_for_uncollectible_invoice(workspace=workspace, invoice_id=data["id"])


def on_subscription_changed(workspace, data, event):
    verb = event["type"].rsplit(".", 1)[-1]  # created, updated, deleted
    _record(
        workspace,
        event,
        "subscription.deleted" if verb == "deleted" else "subscription.updated",
        "subscription",
        f"Subscription {data['id']} {'cancelled' if verb == 'deleted' else verb} (status {data.get('status')})",
        {"status": data.get("status"), "cancel_at_period_end": data.get("cancel_at_period_end")},
    )
    # Events can arrive out of order: follow the subscription as dj-stripe just re-fetched it, not the snapshot.
    synced = Subscription.objects.filter(id=data["id"]).values_list("stripe_data", flat=True).first()
    services.apply_subscription_state(workspace=workspace, subscription_data=synced or data)


def on_payment_method_attached(workspace, data, event):
    _record(workspace, event, "payment_method.added", "payment_method", f"Payment method {card_label(data)} added")
    # Stripe calls inside the event's transaction, like dj-stripe's own sync above: if one
    # fails, nothing of the event is applied and Stripe's retry makes the card the default.
    make_first_card_default(workspace=workspace, payment_method_id=data["id"])


def on_payment_method_detached(workspace, data, event):
    _record(workspace, event, "payment_method.removed", "payment_method", f"Payment method {card_label(data)} removed")


HANDLERS = {
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "invoice.marked_uncollectible": on_invoice_uncollectible,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "payment_method.attached": on_payment_method_attached,
    "payment_method.detached": on_payment_method_detached,
}
