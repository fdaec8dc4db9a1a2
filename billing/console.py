"""Reads of the billing console: invoices as staff read them, the dashboard's billing figures and the
proration a plan change would bring.

Invoices are read from the JSON dj-stripe stored (`stripe_data`), never through dj-stripe's model
properties: those index the JSON directly and raise KeyError for any field the account's Stripe API
version leaves out (`paid`, `footer`, …). Every field here may be missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
import structlog
from django.db.models import Count, Q
from djstripe.models import Invoice

from billing import gateway, selectors
from billing.formats import currency_units
from billing.models import OverageCharge, StripeWebhookEvent, StripeWebhookFailure
from centrali.errors import DomainError

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from billing.models import Plan
    from workspaces.models import Workspace

logger = structlog.get_logger(__name__)

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
# Not a Stripe status: an open invoice whose due date passed or whose payment was attempted and failed.
PAST_DUE = "past_due"
# Webhook events reporting that a payment failed, shown on the dashboard.
FAILED_PAYMENT_EVENT_TYPES = ("invoice.payment_failed", "payment_intent.payment_failed", "charge.failed")
FAILED_EVENTS_WINDOW = timedelta(days=7)


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) and not isinstance(value, bool) else None


def _money(amount: Any, currency: str) -> str:
    if not isinstance(amount, int) or isinstance(amount, bool):
        return "—"
    return f"{currency_units(amount, currency):.2f} {currency.upper()}"


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: str
    quantity: Any
    period_start: datetime | None
    period_end: datetime | None
    proration: bool


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as the console shows it, whatever fields Stripe's JSON carries."""

    djstripe_id: int
    id: str
    number: str
    status: str
    currency: str
    total: str
    subtotal: str
    amount_due: str
    amount_paid: str
    amount_remaining: str
    created: datetime | None
    due_date: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    hosted_invoice_url: str
    invoice_pdf: str
    billing_reason: str
    past_due: bool
    workspace: Workspace | None
    lines: list[InvoiceLine] = field(default_factory=list)


def invoice_view(invoice: Invoice, *, now: datetime | None = None) -> InvoiceView:
    data: Mapping[str, Any] = invoice.stripe_data if isinstance(invoice.stripe_data, Mapping) else {}
    currency = str(data.get("currency") or "usd")
    raw_lines = data.get("lines")
    line_data = raw_lines.get("data") if isinstance(raw_lines, Mapping) else None
    lines = [
        _line(line, currency)
        for line in (line_data if isinstance(line_data, list) else [])
        if isinstance(line, Mapping)
    ]
    period_start, period_end = _timestamp(data.get("period_start")), _timestamp(data.get("period_end"))
    if lines and lines[0].period_start is not None:
        # The period the invoice bills is its lines' (the top-level period is when items accrued).
        period_start = min(line.period_start for line in lines if line.period_start is not None)
        period_end = max((line.period_end for line in lines if line.period_end is not None), default=period_end)
    status = str(data.get("status") or "")
    customer = invoice.customer if invoice.customer_id else None
    return InvoiceView(
        djstripe_id=invoice.djstripe_id,
        id=str(data.get("id") or invoice.id),
        number=str(data.get("number") or ""),
        status=status,
        currency=currency.upper(),
        total=_money(data.get("total"), currency),
        subtotal=_money(data.get("subtotal"), currency),
        amount_due=_money(data.get("amount_due"), currency),
        amount_paid=_money(data.get("amount_paid"), currency),
        amount_remaining=_money(data.get("amount_remaining"), currency),
        created=_timestamp(data.get("created")) or invoice.created,
        due_date=_timestamp(data.get("due_date")),
        period_start=period_start,
        period_end=period_end,
        hosted_invoice_url=str(data.get("hosted_invoice_url") or ""),
        invoice_pdf=str(data.get("invoice_pdf") or ""),
        billing_reason=str(data.get("billing_reason") or ""),
        past_due=_is_past_due(data, now or datetime.now(tz=UTC)),
        workspace=customer.subscriber if customer is not None else None,
        lines=lines,
    )


def _line(line: Mapping[str, Any], currency: str) -> InvoiceLine:
    raw_period = line.get("period")
    period: Mapping[str, Any] = raw_period if isinstance(raw_period, Mapping) else {}
    return InvoiceLine(
        description=str(line.get("description") or line.get("id") or ""),
        amount=_money(line.get("amount"), str(line.get("currency") or currency)),
        quantity=line.get("quantity"),
        period_start=_timestamp(period.get("start")),
        period_end=_timestamp(period.get("end")),
        proration=bool(line.get("proration")),
    )


def _is_past_due(data: Mapping[str, Any], now: datetime) -> bool:
    if data.get("status") != "open":
        return False
    due = _timestamp(data.get("due_date"))
    return bool(data.get("attempted")) or (due is not None and due < now)


def _past_due_q(now: datetime) -> Q:
    return Q(stripe_data__status="open") & (
        Q(stripe_data__attempted=True) | Q(stripe_data__due_date__lt=int(now.timestamp()))
    )


def invoices(*, status: str = "", workspace_slug: str = "", now: datetime | None = None) -> QuerySet[Invoice]:
    """Every invoice of a workspace of ours in the current mode, newest first; filtered by Stripe status
    (or `past_due`) and by workspace slug."""
    rows: QuerySet[Invoice] = Invoice.objects.filter(
        livemode=gateway.livemode(), customer__subscriber__isnull=False
    ).select_related("customer__subscriber")
    if status == PAST_DUE:
        rows = rows.filter(_past_due_q(now or datetime.now(tz=UTC)))
    elif status:
        rows = rows.filter(stripe_data__status=status)
    if workspace_slug:
        rows = rows.filter(customer__subscriber__slug=workspace_slug)
    return rows.order_by("-created", "-djstripe_id")


def get_invoice(*, djstripe_id: int) -> Invoice | None:
    return invoices().filter(djstripe_id=djstripe_id).first()


def workspace_invoice_views(*, workspace: Workspace, limit: int = 10) -> list[InvoiceView]:
    return [invoice_view(invoice) for invoice in selectors.workspace_invoices(workspace=workspace)[:limit]]


def overage_charges(*, workspace: Workspace, limit: int = 20) -> list[OverageCharge]:
    return list(OverageCharge.objects.filter(workspace=workspace).order_by("-period_start", "metric")[:limit])


# --- the dashboard


@dataclass(frozen=True)
class BillingFigures:
    invoices_by_status: dict[str, int]
    past_due: int
    failed_payment_events: int
    failing_webhook_events: int  # events whose processing failed and has not succeeded since


def billing_figures(*, now: datetime, events_since: timedelta = FAILED_EVENTS_WINDOW) -> BillingFigures:
    """Invoice counts by status (and past due), payment failures reported by webhooks, and webhook
    events whose processing is failing: three queries."""
    counts = Invoice.objects.filter(livemode=gateway.livemode(), customer__subscriber__isnull=False).aggregate(
        past_due=Count("djstripe_id", filter=_past_due_q(now)),
        **{status: Count("djstripe_id", filter=Q(stripe_data__status=status)) for status in INVOICE_STATUSES},
    )
    failed = StripeWebhookEvent.objects.filter(
        type__in=FAILED_PAYMENT_EVENT_TYPES, processed_at__gte=now - events_since
    ).count()
    past_due = counts.pop("past_due")
    return BillingFigures(
        invoices_by_status=counts,
        past_due=past_due,
        failed_payment_events=failed,
        failing_webhook_events=StripeWebhookFailure.objects.count(),
    )


# --- the proration of a plan change


@dataclass(frozen=True)
class ProrationPreview:
    amount: str  # what the change would charge (negative: a credit), e.g. "12.34 USD"
    source: str  # "stripe": Stripe's invoice preview; "estimate": computed here
    note: str


def proration_preview(*, workspace: Workspace, plan: Plan, now: datetime) -> ProrationPreview:
    """What moving `workspace` to `plan` now would charge at once.

    Stripe's invoice preview when it answers; otherwise (localstripe has no proration preview,
    Stripe may be down) an estimate from the two plans' monthly prices and the part of the
    current period left, said so on the page.
    """
    current = workspace.plan
    subscription = selectors.live_subscription(workspace=workspace)
    currency = plan.currency
    if plan.pk == current.pk:
        return ProrationPreview(_money(0, currency), "estimate", "Same plan: nothing changes.")
    if not plan.is_paid:
        end = selectors.subscription_period(subscription)[1] if subscription is not None else None
        when = f" on {end:%Y-%m-%d}" if end else ""
        return ProrationPreview(
            _money(0, currency), "estimate", f"A free plan: the subscription is cancelled at the period end{when}."
        )
    if subscription is None:
        return ProrationPreview(
            _money(int(plan.price_monthly * 100), currency),
            "estimate",
            "A new subscription: the first month is charged at once.",
        )
    previewed = _stripe_proration(subscription_data=subscription.stripe_data, plan=plan, now=now)
    if previewed is not None:
        return ProrationPreview(
            _money(previewed, currency), "stripe", "Stripe's preview of the next invoice's prorations."
        )
    start, end = selectors.subscription_period(subscription)
    if start is None or end is None or end <= now:
        return ProrationPreview("—", "estimate", "The subscription's period is unknown; no estimate.")
    left = Decimal((end - now).total_seconds()) / Decimal((end - start).total_seconds())
    cents = int(((plan.price_monthly - current.price_monthly) * 100 * left).quantize(Decimal(1)))
    return ProrationPreview(
        _money(cents, currency),
        "estimate",
        f"Estimated here: Stripe's preview is not available (e.g. localstripe). The price difference "
        f"{plan.price_monthly - current.price_monthly:.2f} {currency.upper()} for the {left * 100:.0f}% "
        f"of the period left (until {end:%Y-%m-%d}).",
    )


def _stripe_proration(*, subscription_data: Mapping[str, Any], plan: Plan, now: datetime) -> int | None:
    """The sum of the proration lines of Stripe's invoice preview, or None when Stripe cannot tell."""
    items = (subscription_data.get("items") or {}).get("data") or []
    if not items or not plan.stripe_price_monthly_id:
        return None
    try:
        preview = gateway.stripe_call(
            stripe.Invoice.create_preview,
            customer=subscription_data.get("customer"),
            subscription=subscription_data.get("id"),
            subscription_details={
                "items": [{"id": items[0]["id"], "price": plan.stripe_price_monthly_id}],
                "proration_behavior": "create_prorations",
                "proration_date": int(now.timestamp()),
            },
        )
    except (DomainError, stripe.StripeError, KeyError, TypeError):
        logger.info("billing.proration_preview_unavailable", subscription_id=subscription_data.get("id"))
        return None
    lines = ((preview.get("lines") or {}).get("data")) or []
    prorations = [
        line
        for line in lines
        if line.get("proration") or (line.get("parent") or {}).get("subscription_item_details", {}).get("proration")
    ]
    if not prorations:
        return None
    return sum(int(line.get("amount") or 0) for line in prorations)
