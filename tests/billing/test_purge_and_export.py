"""Billing's part of workspace purge (Stripe stops billing) and of the export archive."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.gateway import StripeUnavailable
from centrali.exports import export_sections
from centrali.formats import iso_utc
from tests.billing.helpers import subscribe
from tests.helpers import API, client_for
from workspaces.models import Workspace
from workspaces.services import purge_workspace


@pytest.fixture
def deleted_subscriber(stripe_sandbox, workspace):
    client = client_for(workspace.owner)
    subscribe(client, workspace, stripe_sandbox, plan="pro")
    assert client.delete(f"{API}/{workspace.slug}").status_code == 200
    workspace.refresh_from_db()
    return workspace


def test_purge_cancels_the_subscription_and_deletes_the_customer(deleted_subscriber, stripe_sandbox):
    customer = deleted_subscriber.djstripe_customers.get().id
    [subscription] = stripe_sandbox.get("subscriptions", customer=customer)["data"]

    purge_workspace(workspace=deleted_subscriber, now=timezone.now() + timedelta(days=31))

    assert stripe_sandbox.get(f"subscriptions/{subscription['id']}")["status"] == "canceled"
    assert stripe_sandbox.get("customers")["data"] == []
    assert not Workspace.objects.filter(pk=deleted_subscriber.pk).exists()


def test_purge_waits_while_stripe_is_down(deleted_subscriber, stripe_unreachable):
    with pytest.raises(StripeUnavailable):
        purge_workspace(workspace=deleted_subscriber, now=timezone.now() + timedelta(days=31))
    assert Workspace.objects.filter(pk=deleted_subscriber.pk).exists()


def test_purge_without_billing_configured_just_proceeds(workspace, settings):
    settings.STRIPE_SECRET_KEY = ""
    Workspace.objects.filter(pk=workspace.pk).update(
        status="cancelled",
        deleted_at=timezone.now() - timedelta(days=40),
        restore_deadline=timezone.now() - timedelta(days=10),
    )
    workspace.refresh_from_db()
    purge_workspace(workspace=workspace, now=timezone.now())
    assert not Workspace.objects.filter(pk=workspace.pk).exists()


def _section(name, workspace):
    section = next(s for s in export_sections() if s.name == name)
    return [section.serialize(row) for row in section.queryset(workspace).iterator()]


def test_the_export_holds_the_invoices_and_the_billing_state(stripe_sandbox, workspace, other_workspace):
    subscribe(client_for(workspace.owner), workspace, stripe_sandbox, plan="pro")
    subscribe(client_for(other_workspace.owner), other_workspace, stripe_sandbox, plan="starter")

    [invoice] = _section("invoices", workspace)
    [state] = _section("billing", workspace)

    stored = workspace.djstripe_customers.get().invoices.get()
    assert invoice == {
        "id": stored.id,
        "workspace_id": str(workspace.pk),
        "number": stored.stripe_data.get("number"),
        "amount": 99.0,
        "amount_paid": 99.0,
        "amount_due": 99.0,
        "currency": "USD",
        "status": "paid",
        "invoice_date": iso_utc(stored.created),
        "due_date": None,
        "period_start": invoice["period_start"],
        "period_end": invoice["period_end"],
        "pdf_url": stored.stripe_data.get("invoice_pdf") or stored.stripe_data.get("hosted_invoice_url"),
        "hosted_invoice_url": stored.stripe_data.get("hosted_invoice_url"),
    }
    assert invoice["period_start"].endswith("Z") and invoice["period_end"].endswith("Z")
    assert state["plan"] == "pro"
    assert state["stripe_customer_id"] == stored.customer.id
    assert state["subscription"]["status"] == "active"
    assert state["overage"] == {"enabled": False, "spending_cap_cents": None, "enabled_at": None}
