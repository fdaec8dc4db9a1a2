"""The plan catalogue in Stripe: each paid plan's product and its monthly and yearly prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from billing.gateway import StripeObjectMissing, stripe_call
from billing.models import Plan


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _ensure_price(plan: Plan, *, product_id: str, current_id: str, amount: Decimal, interval: str) -> tuple[str, bool]:
    """(id, created): an active Stripe price for `amount` per `interval`; a new price when it changed.

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
    return str(price["id"]), True


def sync_plan_to_stripe(*, plan: Plan) -> list[str]:
    """Create or update the plan's Stripe product and prices. Returns the list of changes made."""
    changes = []
    product_fields: dict[str, Any] = {
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
        product_id = str(stripe_call(stripe.Product.create, **product_fields)["id"])
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
    if created_monthly:
        changes.append(f"created monthly price {monthly}")
    if created_yearly:
        changes.append(f"created yearly price {yearly}")
    Plan.objects.filter(pk=plan.pk).update(
        stripe_product_id=product_id, stripe_price_monthly_id=monthly, stripe_price_yearly_id=yearly
    )
    plan.stripe_product_id, plan.stripe_price_monthly_id, plan.stripe_price_yearly_id = product_id, monthly, yearly
    return changes
