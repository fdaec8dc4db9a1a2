"""The one place billing talks to Stripe: configuration, keys, and error translation.

Every Stripe call of this app goes through `stripe_call()` (dj-stripe's syncs through
`translated_stripe_errors()`), so that a Stripe outage or rejection reaches the caller as
a domain error (centrali.errors), never as one of stripe-python's exceptions. The services
call Stripe before they write anything local, so such an error leaves nothing half done.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import stripe
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from centrali.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable, UpstreamError
from centrali.metrics import STRIPE_API_CALLS, STRIPE_API_DURATION, bounded

DEFAULT_API_BASE = "https://api.stripe.com"


class BillingNotConfigured(Unavailable):
    code = "BILLING_NOT_CONFIGURED"


def configure_stripe() -> None:
    """Point stripe-python (and so dj-stripe) at STRIPE_API_BASE; no hidden retries."""
    stripe.api_base = settings.STRIPE_API_BASE or DEFAULT_API_BASE
    stripe.max_network_retries = 0
    stripe.default_http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)


@receiver(setting_changed)
def _reconfigure_on_setting_change(sender: Any, setting: str, **kwargs: Any) -> None:
    if setting in {"STRIPE_API_BASE", "STRIPE_TIMEOUT_SECONDS"}:
        configure_stripe()


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def require_configured() -> None:
    if not is_configured():
        raise BillingNotConfigured("Billing is not configured on this service (no Stripe keys).")


def api_key() -> str:
    require_configured()
    return str(settings.STRIPE_SECRET_KEY)


# Secret keys and restricted keys of the live mode; anything else (sk_test_, rk_test_) is test mode.
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


def livemode() -> bool:
    """Whether STRIPE_SECRET_KEY opens the live mode (the mode of the objects this service reads)."""
    return bool(settings.STRIPE_SECRET_KEY.startswith(LIVE_KEY_PREFIXES))


class StripeUnavailable(Unavailable):
    code = "STRIPE_UNAVAILABLE"


class StripeUpstreamError(UpstreamError):
    code = "STRIPE_ERROR"


class StripeObjectMissing(NotFound):
    """Stripe answered 404 for an object we expected (raise it via `stripe_call(..., not_found=...)`)."""

    code = "STRIPE_OBJECT_MISSING"


_RECONCILED = (
    "Billing reconciliation brings this workspace in line with the payment provider; "
    "check the current state before trying again."
)


@contextlib.contextmanager
def translated_stripe_errors(*, not_found: DomainError | None = None) -> Iterator[None]:
    """Stripe's exceptions as domain errors.

    - Stripe unreachable, or no answer in time: StripeUnavailable;
    - an idempotency key reused for a different request: Conflict (BILLING_CHANGE_IN_PROGRESS);
    - a card refused: InvalidInput (CARD_DECLINED);
    - Stripe answers 404: `not_found` when given, else like any other refusal or failure of
      Stripe's: StripeUpstreamError.
    """
    try:
        yield
    except stripe.APIConnectionError as exc:
        # A timeout is an APIConnectionError too: Stripe may have applied the request before the answer was lost.
        raise StripeUnavailable(
            "The payment provider could not be reached or did not answer in time; the change may have been applied. "
            f"{_RECONCILED}"
        ) from exc
    except stripe.IdempotencyError as exc:
        raise Conflict(
            "An earlier request for a different billing change of this workspace is still being settled with the "
            f"payment provider. {_RECONCILED}",
            code="BILLING_CHANGE_IN_PROGRESS",
        ) from exc
    except stripe.CardError as exc:
        raise InvalidInput(exc.user_message or "The card was declined.", code="CARD_DECLINED") from exc
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404 and not_found is not None:
            raise not_found from exc
        raise StripeUpstreamError(f"The payment provider rejected the request: {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        raise StripeUpstreamError(
            f"The payment provider failed to answer; the change may have been applied. {_RECONCILED}"
        ) from exc


# The operations the service calls (centrali_stripe_api_calls_total's `operation` label): any other is `other`.
STRIPE_OPERATIONS = frozenset(
    {
        "Customer.create",
        "Customer.delete",
        "Customer.list",
        "Customer.list_payment_methods",
        "Customer.modify",
        "Customer.retrieve",
        "Invoice.create_preview",
        "Invoice.list",
        "InvoiceItem.create",
        "PaymentMethod.retrieve",
        "Price.create",
        "Price.modify",
        "Price.retrieve",
        "Product.create",
        "Product.modify",
        "SetupIntent.create",
        "Subscription.create",
        "Subscription.list",
        "Subscription.modify",
        "Subscription.retrieve",
    }
)


def _operation_of(function: Callable[..., Any]) -> str:
    """`Price.retrieve` for stripe.Price.retrieve (a class method bound to its resource)."""
    owner = getattr(function, "__self__", None)
    name = f"{getattr(owner, '__name__', '')}.{getattr(function, '__name__', '')}"
    return bounded(name, STRIPE_OPERATIONS)


def _outcome_of(error: BaseException | None) -> str:
    """How a call ended, in the closed set of centrali_stripe_api_calls_total's `outcome` label."""
    if error is None:
        return "ok"
    if isinstance(error, stripe.APIConnectionError):
        return "unavailable"
    if isinstance(error, stripe.IdempotencyError):
        return "conflict"
    if isinstance(error, stripe.CardError):
        return "card_declined"
    if isinstance(error, stripe.InvalidRequestError):
        return "not_found" if error.http_status == 404 else "rejected"
    return "error"


def stripe_call(function: Callable[..., Any], *args: Any, not_found: DomainError | None = None, **kwargs: Any) -> Any:
    """Call a stripe-python function with this service's key, translating its errors; each call is
    counted by operation and outcome, and timed (centrali.metrics)."""
    key = api_key()
    operation = _operation_of(function)
    error: BaseException | None = None
    started = time.perf_counter()
    try:
        with translated_stripe_errors(not_found=not_found):
            return function(*args, api_key=key, **kwargs)
    except BaseException as exc:
        error = exc.__cause__ if isinstance(exc, DomainError) and exc.__cause__ else exc  # the Stripe error
        raise
    finally:
        STRIPE_API_DURATION.labels(operation).observe(time.perf_counter() - started)
        STRIPE_API_CALLS.labels(operation, _outcome_of(error)).inc()
