"""The billing sections of a workspace's export archive (centrali.exports)."""

from centrali.exports import ExportSection
from workspaces.models import Workspace


def _invoices(workspace):
    from billing.selectors import workspace_invoices

    return workspace_invoices(workspace=workspace).order_by("created", "djstripe_id")


def _serialize_invoice(invoice):
    from billing.serializers import InvoiceSerializer

    return dict(InvoiceSerializer(invoice).data)


def _billing_state(workspace):
    return Workspace.objects.filter(pk=workspace.pk).select_related("plan")


def _serialize_billing_state(workspace):
    from billing import selectors

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
    ExportSection(name="billing", queryset=_billing_state, serialize=_serialize_billing_state),
    ExportSection(name="invoices", queryset=_invoices, serialize=_serialize_invoice),
)
