"""Billing's part of workspace purge (Stripe stops billing) and of the export archive."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from djstripe.models import Charge, Customer, Event, Invoice, PaymentMethod, Subscription

from billing.gateway import StripeUnavailable
from billing.models import StripeWebhookEvent
from centrali.exports import export_sections
from centrali.formats import iso_utc
from tests.billing.helpers import stripe_event, subscribe
from tests.helpers import API, client_for
from tests.privacy.scan import tables_holding
from workspaces.models import Workspace
from workspaces.services import create_workspace, purge_workspace


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


def _billed_with_events(sandbox, workspace, deliver):
    """A paying workspace (a card, a paid subscription) whose customer and invoice Stripe reported by
    webhook; soft-deleted. Returns the customer as Stripe shows it (with the billing email)."""
    client = client_for(workspace.owner)
    subscribe(client, workspace, sandbox, plan="pro")
    customer = sandbox.get(f"customers/{workspace.djstripe_customers.get().id}")
    invoice = sandbox.get("invoices", customer=customer["id"])["data"][0]
    for event in (stripe_event("customer.updated", customer), stripe_event("invoice.paid", invoice)):
        assert deliver(event).status_code == 200
    assert StripeWebhookEvent.objects.filter(workspace=workspace, status="applied").count() == 2
    assert client.delete(f"{API}/{workspace.slug}").status_code == 200
    workspace.refresh_from_db()
    return customer


def _purge(workspace):
    purge_workspace(workspace=workspace, now=timezone.now() + timedelta(days=31))


def test_purge_deletes_the_local_copy_of_the_customer(stripe_sandbox, workspace, other_workspace, deliver):
    subscribe(client_for(other_workspace.owner), other_workspace, stripe_sandbox, plan="starter")
    customer = _billed_with_events(stripe_sandbox, workspace, deliver)
    assert PaymentMethod.objects.filter(customer_id=customer["id"]).exists()
    assert Charge.objects.filter(customer_id=customer["id"]).exists()

    _purge(workspace)

    assert not Customer.objects.filter(id=customer["id"]).exists()
    for model in (PaymentMethod, Charge, Invoice, Subscription):
        assert not model.objects.filter(customer_id=customer["id"]).exists(), model.__name__
        assert model.objects.filter(customer__subscriber=other_workspace).exists(), model.__name__


def test_purge_keeps_only_a_stub_of_the_stripe_events_about_the_customer(stripe_sandbox, workspace, deliver):
    customer = _billed_with_events(stripe_sandbox, workspace, deliver)
    event_ids = set(StripeWebhookEvent.objects.values_list("stripe_event_id", flat=True))

    _purge(workspace)

    for row in StripeWebhookEvent.objects.all():
        assert row.payload == {
            "id": row.stripe_event_id,
            "object": "event",
            "type": row.type,
            "livemode": False,
            "created": row.payload["created"],
            "data": {
                "object": {"id": row.payload["data"]["object"]["id"], "object": row.payload["data"]["object"]["object"]}
            },
            "erased": True,
        }
    assert set(StripeWebhookEvent.objects.values_list("stripe_event_id", flat=True)) == event_ids
    assert set(Event.objects.values_list("id", flat=True)) == event_ids
    for event in Event.objects.all():
        assert event.data == {"object": {"id": event.data["object"]["id"], "object": event.data["object"]["object"]}}
        assert customer["email"] not in str(event.stripe_data)


def test_a_redelivered_event_about_the_purged_customer_stays_a_duplicate(stripe_sandbox, workspace, deliver):
    customer = _billed_with_events(stripe_sandbox, workspace, deliver)
    update = stripe_event("customer.updated", customer)
    assert deliver(update).json()["duplicate"] is False
    _purge(workspace)

    assert deliver(update).json() == {"received": True, "duplicate": True}
    assert StripeWebhookEvent.objects.get(stripe_event_id=update["id"]).payload["erased"] is True


def test_customer_deleted_after_the_purge_stores_nothing_personal(stripe_sandbox, workspace, deliver):
    customer = _billed_with_events(stripe_sandbox, workspace, deliver)
    _purge(workspace)
    deleted = stripe_event("customer.deleted", customer)

    assert deliver(deleted).status_code == 200

    row = StripeWebhookEvent.objects.get(stripe_event_id=deleted["id"])
    assert (row.status, row.workspace_id) == ("applied", None)
    assert row.payload["data"] == {"object": {"id": customer["id"], "object": "customer"}}
    assert not Customer.objects.filter(id=customer["id"]).exists()
    assert not Event.objects.filter(id=deleted["id"]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_purged_billed_workspace_leaves_no_trace_of_its_billing_contact(stripe_sandbox, deliver):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL=postgres://..."
    workspace, owner = create_workspace(
        name="Billed Purge Corp",
        email="bella.billed.7f4@billed-purge.test",
        username="bella-billed-7f4",
        password="a-long-passphrase-1",
    )
    customer = _billed_with_events(stripe_sandbox, workspace, deliver)
    needles = [owner.email, workspace.name, workspace.slug]
    assert customer["email"] == owner.email
    holding = tables_holding(needles)
    assert {table for table, _, _ in holding} >= {
        "djstripe_customer",
        "djstripe_event",
        "billing_stripewebhookevent",
    }, holding  # the scan sees them before

    _purge(workspace)
    assert deliver(stripe_event("customer.deleted", customer)).status_code == 200

    assert tables_holding(needles) == set()


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
