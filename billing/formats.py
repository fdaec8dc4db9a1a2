"""How billing writes Stripe's data for people: card labels and amounts in currency units."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from djstripe.settings import djstripe_settings


def card_label(payment_method: Mapping[str, Any]) -> str:
    """ "visa •••• 4242": a Stripe payment method (its JSON) as the audit log and the console name it."""
    card = payment_method.get("card") or {}
    return f"{card.get('brand', 'card')} •••• {card.get('last4', '????')}"


def currency_units(amount: int | None, currency: str | None) -> float | None:
    """A Stripe amount (in the currency's smallest unit: cents) in currency units; None stays None."""
    if amount is None:
        return None
    divisor = 1 if (currency or "").lower() in djstripe_settings.ZERO_DECIMAL_CURRENCIES else 100
    return float(Decimal(amount) / divisor)
