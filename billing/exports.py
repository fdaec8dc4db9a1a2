"""The billing sections of a workspace's export archive (centrali.exports): snake_case keys,
written here rather than borrowed from the API's serializers, so the archive's shape is its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from djstripe.models import Invoice
from djstripe.utils import convert_tstamp

from billing import selectors
from billing.formats import currency_units
from centrali.exports import ExportSection
from centrali.formats import iso_utc
from workspaces import selectors as workspace_selectors

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from workspaces.models import Workspace


def _invoices(workspace: Workspace) -> QuerySet[Invoice]:
    return selectors.workspace_invoices(workspace=workspace).order_by("created", "djstripe_id")


def serialize_invoice(invoice: Invoice) -> dict[str, Any]:
    """An invoice as dj-stripe synced it: amounts in currency units, Stripe's ids, UTC times."""
    data = invoice.stripe_data
    currency = data.get("currency")
    return {
        "id": str(invoice.id),
        "workspace_id": str(invoice.customer.subscriber_id),
        "number": data.get("number"),
        "amount": currency_units(data.get("total"), currency),
        "amount_paid": currency_units(data.get("amount_paid"), currency),
        "amount_due": currency_units(data.get("amount_due"), currency),
        "currency": str(currency or "").upper(),
        "status": data.get("status"),
        "invoice_date": iso_utc(invoice.created),
        "due_date": iso_utc(convert_tstamp(data.get("due_date"))),
        "period_start": iso_utc(convert_tstamp(data.get("period_start"))),
        "period_end": iso_utc(convert_tstamp(data.get("period_end"))),
        "pdf_url": data.get("invoice_pdf") or data.get("hosted_invoice_url"),
        "hosted_invoice_url": data.get("hosted_invoice_url"),
    }


def _billing_state(workspace: Workspace) -> QuerySet[Workspace]:
    return workspace_selectors.workspaces_with_plans().filter(pk=workspace.pk).order_by("pk")


def serialize_billing_state(workspace: Workspace) -> dict[str, Any]:
    """The workspace's plan, Stripe customer, live subscription and overage settings."""
    overage = selectors.get_overage_settings(workspace=workspace)
    subscription = selectors.live_subscription(workspace=workspace)
    customer = selectors.customer_for(workspace=workspace)
    start, end = selectors.subscription_period(subscription) if subscription is not None else (None, None)
    return {
        "plan": workspace.plan.code,
        "stripe_customer_id": customer.id if customer is not None else None,
        "subscription": None
        if subscription is None
        else {
            "id": subscription.id,
            "status": subscription.status,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "current_period_start": start.isoformat() if start else None,
            "current_period_end": end.isoformat() if end else None,
        },
        "overage": {
            "enabled": overage.enabled,
            "spending_cap_cents": overage.spending_cap_cents,
            "enabled_at": overage.enabled_at.isoformat() if overage.enabled_at else None,
        },
    }


EXPORT_SECTIONS = (
    ExportSection(name="billing", queryset=_billing_state, serialize=serialize_billing_state),
    ExportSection(name="invoices", queryset=_invoices, serialize=serialize_invoice),
)
