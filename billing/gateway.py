"""The one place billing talks to Stripe: configuration, keys, and error translation.

Every Stripe call of this app goes through `stripe_call()`, so that a Stripe outage
or rejection becomes a domain error (centrali.errors), raised before anything
local is written.
"""

import contextlib

import stripe
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from centrali.errors import Conflict, InvalidInput, NotFound, Unavailable, UpstreamError

DEFAULT_API_BASE = "https://api.stripe.com"


class BillingNotConfigured(Unavailable):
    code = "BILLING_NOT_CONFIGURED"


def configure_stripe():
    """Point stripe-python (and so dj-stripe) at STRIPE_API_BASE; no hidden retries."""
    stripe.api_base = settings.STRIPE_API_BASE or DEFAULT_API_BASE
    stripe.max_network_retries = 0
    stripe.default_http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)


@receiver(setting_changed)
def _reconfigure_on_setting_change(sender, setting, **kwargs):
    if setting in {"STRIPE_API_BASE", "STRIPE_TIMEOUT_SECONDS"}:
        configure_stripe()


def is_configured():
    return bool(settings.STRIPE_SECRET_KEY)


def require_configured():
    if not is_configured():
        raise BillingNotConfigured("Billing is not configured on this service (no Stripe keys).")


def api_key():
    require_configured()
    return settings.STRIPE_SECRET_KEY


# Secret keys and restricted keys of the live mode; anything else (sk_test_, rk_test_) is test mode.
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


def livemode():
    """Whether STRIPE_SECRET_KEY opens the live mode (the mode of the objects this service reads)."""
    return settings.STRIPE_SECRET_KEY.startswith(LIVE_KEY_PREFIXES)


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
def translated_stripe_errors(*, not_found=None):
    """Stripe's exceptions -> domain errors: unreachable 503, its own failures 502, card refusals 400.

    `not_found` is the error to raise when Stripe answers 404 (otherwise a 502).
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


def stripe_call(function, *args, not_found=None, **kwargs):
    """Call a stripe-python function with this service's key, translating its errors."""
    with translated_stripe_errors(not_found=not_found):
        return function(*args, api_key=api_key(), **kwargs)
