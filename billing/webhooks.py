"""Stripe webhooks: acknowledged fast by the endpoint, applied once by the worker, as the system.

The endpoint (`receive`) verifies the signature and records the event (status `received`, the
verified payload) under its UNIQUE stripe_event_id, then queues `billing.apply_stripe_event` on
commit; it never calls Stripe, so Stripe gets its 2xx whatever Stripe's API is doing. A broker
outage leaves the event recorded and unqueued: `sweep` (beat, every minute) queues it again.

The worker (`apply_event`) applies an event in one transaction that never waits on Stripe:
dj-stripe's sync re-fetches the event's object (and what it refers to), so the apply is first
run with every Stripe request it makes answered from what was fetched before (`_StripeReads`);
a request not fetched yet rolls the attempt back, is sent outside any transaction, and the
apply runs again. Exactly once comes from the first statement of the applying transaction, a
conditional UPDATE of the event's row from `received` to `applied`:
- a redelivery of an applied event finds it applied and queues nothing;
- two workers applying the same event (a concurrent duplicate delivery, a sweep racing a
  retry): the second UPDATE waits on the first transaction's row lock (on SQLite, on the
  database's write lock), then matches no row, so the effects apply once;
- a crash or an error before commit rolls the status back with the effects; the retry
  (with backoff, `STRIPE_WEBHOOK_MAX_ATTEMPTS` at most) applies them then.
A write to Stripe an effect makes (making the first card the default) is sent the same way,
outside the transaction, once a rolled-back run of the apply has asked for it; Stripe's answer
then feeds the run that commits.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
from centrali.metrics import WEBHOOK_EVENTS, bounded
from centrali.tasks import publish_on_commit

logger = structlog.get_logger(__name__)

APPLY_TASK = "billing.apply_stripe_event"
Status = StripeWebhookEvent.Status
# A received event nobody applied within this long is queued again by the sweep (the broker was
# down at commit, a worker was lost); a redelivery of such an event queues it at once.
SWEEP_GRACE = timedelta(minutes=2)
# An attempt in progress keeps the sweep away this long (more than an attempt can take).
ATTEMPT_LEASE = timedelta(minutes=10)
RETRY_BACKOFF_MAX_SECONDS = 3600.0
# Fetch rounds of one attempt: each sends the Stripe requests the apply asked for and had not got.
MAX_FETCH_ROUNDS = 25


class InvalidSignature(InvalidInput):
    code = "INVALID_SIGNATURE"


def _count(event_type: str, outcome: str) -> None:
    WEBHOOK_EVENTS.labels(type=bounded(event_type, HANDLED_TYPES), outcome=outcome).inc()


def verify(*, payload, signature):
    """The event dict when `Stripe-Signature` is valid for the raw body; InvalidSignature otherwise."""
    try:
        return _verify(payload=payload, signature=signature)
    except InvalidInput:
        _count("other", "rejected")
        raise


def _verify(*, payload, signature):
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


# --- the endpoint: record once, queue on commit, answer


def receive(event) -> bool:
    """Record a verified event and queue its apply on commit. Returns whether it was known already.

    No Stripe call and one short transaction, so the answer is fast. A known event queues
    nothing when applied (or while an attempt or a retry is due); a failed one, which Stripe
    only sends again when someone resends it from Stripe's dashboard, starts a new round of
    attempts; one nobody picked up (the broker was down) is queued again.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            StripeWebhookEvent.objects.create(
                stripe_event_id=event["id"],
                type=event["type"][:250],
                livemode=bool(event.get("livemode")),
                stripe_created_at=_timestamp(event.get("created")),
                payload=event,
                sweep_after=now + SWEEP_GRACE,
            )
            _queue(event["id"])
        return False
    except IntegrityError as exc:
        conflict = exc
    with transaction.atomic():
        known = StripeWebhookEvent.objects.select_for_update().filter(stripe_event_id=event["id"]).first()
        if known is None:  # the IntegrityError was not about the event's id
            raise conflict
        _count(event["type"], "duplicate")
        if known.status == Status.FAILED:
            StripeWebhookEvent.objects.filter(pk=known.pk).update(
                status=Status.RECEIVED, attempts=0, payload=event, sweep_after=now + SWEEP_GRACE
            )
            _queue(event["id"])
        elif known.status == Status.RECEIVED and known.sweep_after is not None and known.sweep_after <= now:
            StripeWebhookEvent.objects.filter(pk=known.pk).update(sweep_after=now + SWEEP_GRACE)
            _queue(event["id"])
    return True


def retry_failed(*, stripe_event_ids) -> int:
    """Staff's retry of failed events (the console's action): a new round of attempts. Returns how many."""
    now = timezone.now()
    queued = 0
    for stripe_event_id in stripe_event_ids:
        with transaction.atomic():
            if StripeWebhookEvent.objects.filter(stripe_event_id=stripe_event_id, status=Status.FAILED).update(
                status=Status.RECEIVED, attempts=0, sweep_after=now + SWEEP_GRACE
            ):
                _queue(stripe_event_id)
                queued += 1
    return queued


def _queue(stripe_event_id: str) -> None:
    def not_queued() -> None:
        # The broker is down: the sweep (or the next redelivery) queues it as soon as it can.
        StripeWebhookEvent.objects.filter(stripe_event_id=stripe_event_id, status=Status.RECEIVED).update(
            sweep_after=timezone.now()
        )

    publish_on_commit(APPLY_TASK, stripe_event_id, on_failure=not_queued)


def sweep(*, now=None) -> int:
    """Queue again the received events nobody applied in time; returns how many."""
    now = now or timezone.now()
    stuck = list(
        StripeWebhookEvent.objects.filter(status=Status.RECEIVED, sweep_after__lte=now).values_list(
            "stripe_event_id", flat=True
        )[:1000]
    )
    for stripe_event_id in stuck:
        with transaction.atomic():
            moved = StripeWebhookEvent.objects.filter(
                stripe_event_id=stripe_event_id, status=Status.RECEIVED, sweep_after__lte=now
            ).update(sweep_after=now + SWEEP_GRACE)
            if moved:
                _queue(stripe_event_id)
    return len(stuck)


# --- the worker: fetch outside, apply inside, once


@dataclass(frozen=True)
class Attempt:
    outcome: str  # applied, duplicate (nothing to do), retry, failed
    retry_in: float | None = None


def apply_event(*, stripe_event_id: str) -> Attempt:
    """One attempt to apply a recorded event (billing.apply_stripe_event). Never raises for the
    event's own failure: it is recorded for staff and the caller retries after `retry_in` s."""
    started = StripeWebhookEvent.objects.filter(stripe_event_id=stripe_event_id, status=Status.RECEIVED).update(
        attempts=F("attempts") + 1, sweep_after=timezone.now() + ATTEMPT_LEASE
    )
    row = StripeWebhookEvent.objects.filter(stripe_event_id=stripe_event_id).first()
    if not started or row is None:
        return Attempt("duplicate")
    if row.attempts > settings.STRIPE_WEBHOOK_MAX_ATTEMPTS:
        # Attempts that never finished (a worker lost mid-apply, its task redelivered) count too.
        return _failed_attempt(row, error="AttemptsExhausted")
    event = row.payload
    try:
        with acting(actor_type=ActorType.SYSTEM):
            applied = _apply_with_stripe_fetched_first(row.pk, event)
    except Exception as exc:
        return _failed_attempt(row, error=f"{type(exc).__name__}: {getattr(exc, 'code', '')}".rstrip(": "))
    if not applied:
        return Attempt("duplicate")
    _count(row.type, "applied")
    return Attempt("applied")


def _failed_attempt(row: StripeWebhookEvent, *, error: str) -> Attempt:
    logger.warning(
        "billing.webhook_attempt_failed", stripe_event_id=row.stripe_event_id, attempt=row.attempts, error=error
    )
    _record_failure(row, error)
    if row.attempts >= settings.STRIPE_WEBHOOK_MAX_ATTEMPTS:
        StripeWebhookEvent.objects.filter(pk=row.pk, status=Status.RECEIVED).update(status=Status.FAILED)
        _count(row.type, "failed")
        return Attempt("failed")
    delay = min(settings.STRIPE_WEBHOOK_RETRY_BASE_SECONDS * 2 ** (row.attempts - 1), RETRY_BACKOFF_MAX_SECONDS)
    StripeWebhookEvent.objects.filter(pk=row.pk, status=Status.RECEIVED).update(
        sweep_after=timezone.now() + timedelta(seconds=delay) + SWEEP_GRACE
    )
    return Attempt("retry", retry_in=delay)


def _record_failure(row: StripeWebhookEvent, error: str) -> None:
    """Keep what failed for the staff console; never fails the attempt's bookkeeping."""
    try:
        failure, created = StripeWebhookFailure.objects.get_or_create(
            stripe_event_id=row.stripe_event_id,
            defaults={"type": row.type, "error": error[:255], "last_failed_at": timezone.now()},
        )
        if not created:
            StripeWebhookFailure.objects.filter(pk=failure.pk).update(
                attempts=F("attempts") + 1, error=error[:255], last_failed_at=timezone.now()
            )
    except DatabaseError:
        logger.warning("billing.webhook_failure_not_recorded", stripe_event_id=row.stripe_event_id, exc_info=True)


def _apply_with_stripe_fetched_first(row_pk: int, event: dict[str, Any]) -> bool:
    """Apply in one transaction whose Stripe requests are answered from responses fetched
    before it began; True when this call applied it, False when it was applied already."""
    reads = _StripeReads()
    for _ in range(MAX_FETCH_ROUNDS):
        with reads.answering():
            try:
                return _apply_in_one_transaction(row_pk, event, reads)
            except _NotFetchedYet:
                pass
        reads.fetch_missing()  # outside any transaction
    raise TooManyStripeRequests(f"Applying the event needed more than {MAX_FETCH_ROUNDS} rounds of Stripe requests.")


class TooManyStripeRequests(RuntimeError):
    code = "TOO_MANY_STRIPE_REQUESTS"


def _apply_in_one_transaction(row_pk: int, event: dict[str, Any], reads: "_StripeReads") -> bool:
    with transaction.atomic():
        if not StripeWebhookEvent.objects.filter(pk=row_pk, status=Status.RECEIVED).update(
            status=Status.APPLIED, applied_at=timezone.now(), sweep_after=None
        ):
            return False
        workspace = _workspace_of(event)
        # Events about no workspace of ours (other customers on the account, a purged
        # workspace's deleted customer, catalogue changes) are acknowledged, not synced, and
        # kept as a stub (the id still dedupes redeliveries): nothing personal stays of them.
        if workspace is not None:
            with gateway.translated_stripe_errors():
                Event.process(data=event, api_key=gateway.api_key())
            _apply(workspace, event)
            StripeWebhookEvent.objects.filter(pk=row_pk).update(workspace=workspace)
        else:
            StripeWebhookEvent.objects.filter(pk=row_pk).update(payload=services.event_stub(event))
        StripeWebhookFailure.objects.filter(stripe_event_id=event["id"]).delete()
        reads.raise_if_any_missing()  # dj-stripe swallows some errors: a missing answer must still roll back
    return True


class _NotFetchedYet(BaseException):  # noqa: N818 -- control flow, not an error
    """A Stripe request made inside the applying transaction that has no fetched answer yet.

    A BaseException so that dj-stripe's `except Exception` (line items, product features)
    cannot swallow it; `_StripeReads.raise_if_any_missing` catches what it might still hide.
    """


class _StripeReads:
    """Stripe's answers to the requests one event's apply makes, fetched outside its transaction."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, Any], tuple[Any, int, Any]] = {}
        self.missing: dict[tuple[str, str, Any], tuple[str, str, Any, Any]] = {}

    def answering(self) -> "_Answering":
        return _Answering(self)

    def answer(self, method: str, url: str, headers: Any, post_data: Any) -> tuple[Any, int, Any]:
        key = (method, url, post_data)
        if key in self.answers:
            return self.answers[key]
        self.missing[key] = (method, url, headers, post_data)
        raise _NotFetchedYet(f"{method} {url}")

    def raise_if_any_missing(self) -> None:
        if self.missing:
            raise _NotFetchedYet(", ".join(f"{method} {url}" for method, url, _ in self.missing))

    def fetch_missing(self) -> None:
        client = _ReplayingClient.installed()
        for key, (method, url, headers, post_data) in list(self.missing.items()):
            with gateway.translated_stripe_errors():
                self.answers[key] = client.inner.request_with_retries(method, url, headers, post_data, 0)
            del self.missing[key]


_answering = threading.local()


class _Answering:
    def __init__(self, reads: _StripeReads) -> None:
        self.reads = reads

    def __enter__(self) -> None:
        _ReplayingClient.installed()
        _answering.reads = self.reads

    def __exit__(self, *exc_info: Any) -> None:
        _answering.reads = None


class _ReplayingClient(stripe.HTTPClient):
    """stripe-python's HTTP client, answering from `_StripeReads` in a thread that is applying an event.

    Other threads and other code pass through to the configured client unchanged.
    """

    def __init__(self, inner: stripe.HTTPClient) -> None:
        super().__init__()
        self.inner = inner

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.inner.name)

    @classmethod
    def installed(cls) -> "_ReplayingClient":
        current = stripe.default_http_client
        if isinstance(current, cls):
            return current
        if current is None:
            gateway.configure_stripe()
            current = stripe.default_http_client
        client = cls(current)  # type: ignore[arg-type]
        stripe.default_http_client = client
        return client

    def request_with_retries(
        self, method: str, url: str, headers: Any, post_data: Any = None, max_network_retries: Any = None, **kwargs: Any
    ) -> tuple[Any, int, Any]:
        reads = getattr(_answering, "reads", None)
        if reads is not None:
            return reads.answer(method, url, headers, post_data)
        return self.inner.request_with_retries(method, url, headers, post_data, max_network_retries, **kwargs)

    def request_stream_with_retries(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.request_stream_with_retries(*args, **kwargs)

    def close(self) -> None:
        self.inner.close()


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
    # Its Stripe requests are answered from responses fetched before the transaction, like dj-stripe's
    # sync above: if one fails, nothing of the event is applied and the retry makes the card the default.
    make_first_card_default(workspace=workspace, payment_method_id=data["id"])


def on_payment_method_detached(workspace, data, event):
    _record(workspace, event, "payment_method.removed", "payment_method", f"Payment method {card_label(data)} removed")


HANDLERS: dict[str, Any] = {
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "invoice.marked_uncollectible": on_invoice_uncollectible,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "payment_method.attached": on_payment_method_attached,
    "payment_method.detached": on_payment_method_detached,
}

# The event types a metric label may name (the rest count as "other").
HANDLED_TYPES = frozenset(HANDLERS)
