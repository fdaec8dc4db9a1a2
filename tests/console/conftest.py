"""A realistic back-office for the console tests: a paying customer (card, paid plan, invoices, overage
charges), support threads, export jobs, provisioning, usage and audit events, and the staff who work
on them (a superuser and one member of each staff group)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from audit.services import record
from billing.models import OverageCharge, OverageSettings, Plan, StripeWebhookEvent
from billing.roles import sync_billing_group
from support.roles import sync_support_group
from support.services import add_internal_note, add_staff_reply
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.support.factories import CommentFactory, StaffFactory, SupportIssueFactory
from usage.models import DailyUsage, QuotaAlert
from workspaces import services as workspace_services
from workspaces.models import ExportJob, ExportStatus, ProvisioningStatus, ServiceProvisioning

# Fields recent Stripe API versions leave out of an invoice, which dj-stripe's properties index anyway.
INVOICE_FIELDS_STRIPE_MAY_OMIT = ("paid", "footer", "number", "period_start", "period_end", "due_date")


@pytest.fixture
def support_group(db):
    return sync_support_group(group_model=Group, permission_model=Permission)


@pytest.fixture
def billing_group(db):
    return sync_billing_group(group_model=Group, permission_model=Permission)


@pytest.fixture
def superuser(db):
    return UserFactory.create(username="root", email="root@centrali.test", is_staff=True, is_superuser=True)


@pytest.fixture
def support_agent(support_group):
    agent = StaffFactory.create(username="sam", email="sam@centrali.test")
    agent.groups.add(support_group)
    return agent


@pytest.fixture
def second_support_agent(support_group):
    agent = StaffFactory.create(username="kim", email="kim@centrali.test", first_name="Kim")
    agent.groups.add(support_group)
    return agent


@pytest.fixture
def billing_agent(billing_group):
    agent = StaffFactory.create(username="bea", email="bea@centrali.test", first_name="Bea")
    agent.groups.add(billing_group)
    return agent


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_for():
    return logged_in


def _stripe_rows(workspace, plan, now):
    """dj-stripe's rows for a customer on `plan` with a default card, shaped as the sandbox (and Stripe)
    sends them: a paid invoice with every field, one without those newer API versions leave out, an open
    past-due one and an uncollectible one. No Stripe is needed to read them."""
    start, end = int((now - timedelta(days=10)).timestamp()), int((now + timedelta(days=20)).timestamp())
    customer = Customer.objects.create(
        id="cus_console1",
        livemode=False,
        subscriber=workspace,
        stripe_data={"id": "cus_console1", "object": "customer"},
    )
    card = PaymentMethod.objects.create(
        id="pm_console1",
        livemode=False,
        customer=customer,
        stripe_data={
            "id": "pm_console1",
            "object": "payment_method",
            "type": "card",
            "customer": customer.id,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034},
        },
    )
    Customer.objects.filter(pk=customer.pk).update(default_payment_method=card)
    Subscription.objects.create(
        id="sub_console1",
        livemode=False,
        customer=customer,
        stripe_data={
            "id": "sub_console1",
            "object": "subscription",
            "customer": customer.id,
            "status": "active",
            "cancel_at_period_end": False,
            "items": {
                "data": [
                    {
                        "id": "si_console1",
                        "price": {"id": plan.stripe_price_monthly_id or "price_pro"},
                        "current_period_start": start,
                        "current_period_end": end,
                    }
                ]
            },
        },
    )

    def invoice(number, status, **fields):
        data = {
            "id": f"in_console{number}",
            "object": "invoice",
            "customer": customer.id,
            "number": f"CONSOLE-000{number}",
            "status": status,
            "currency": "usd",
            "total": 9900,
            "subtotal": 9900,
            "amount_due": 9900,
            "amount_paid": 9900 if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else 9900,
            "paid": status == "paid",
            "footer": None,
            "created": start,
            "period_start": start,
            "period_end": start,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/in_console{number}",
            "lines": {
                "data": [
                    {
                        "id": f"il_{number}",
                        "description": "1 × Pro",
                        "amount": 9900,
                        "quantity": 1,
                        "period": {"start": start, "end": end},
                        "proration": False,
                    }
                ]
            },
            **fields,
        }
        return Invoice.objects.create(id=data["id"], livemode=False, customer=customer, stripe_data=data)

    invoice(1, "paid")
    lean = invoice(2, "paid")
    lean.stripe_data = {
        key: value for key, value in lean.stripe_data.items() if key not in INVOICE_FIELDS_STRIPE_MAY_OMIT
    }
    lean.save()
    invoice(3, "open", attempted=True, due_date=start)
    invoice(4, "uncollectible")
    return lean


@pytest.fixture
def paying_customer(support_agent):
    """acme: owner and an admin member, a card, the pro plan, invoices, overage on and charged,
    an urgent thread waiting on staff and one answered, a failed and a completed export, a failed
    service, 30 days of usage, a quota alert, and a payment-failed webhook."""
    workspace = WorkspaceFactory.create(name="Acme", slug="acme")
    MembershipFactory.create(workspace=workspace, role="admin")
    pro = Plan.objects.get(code="pro")
    now = timezone.now()
    type(workspace).objects.filter(pk=workspace.pk).update(plan=pro)
    workspace.refresh_from_db()
    record(
        workspace=workspace,
        event_type="plan.changed",
        resource_type="plan",
        resource_id=pro.pk,
        summary="Plan changed from 'free' to 'pro'",
        actor=workspace.owner,
        metadata={"plan": {"before": "free", "after": "pro"}},
    )
    workspace.lean_invoice = _stripe_rows(workspace, pro, now)  # type: ignore[attr-defined]  # handed to the tests beside it

    OverageSettings.objects.update_or_create(
        workspace=workspace, defaults={"enabled": True, "enabled_at": now - timedelta(days=40)}
    )
    OverageCharge.objects.create(
        workspace=workspace,
        period_start=now - timedelta(days=60),
        period_end=now - timedelta(days=30),
        metric="function_invocations",
        units=Decimal("1200"),
        amount_cents=240,
        description="Function invocations over the plan",
        stripe_invoice_item_id="ii_test_overage",
    )
    urgent = SupportIssueFactory.create(workspace=workspace, title="Production is down", priority="urgent")
    CommentFactory.create(issue=urgent, body="Still down after an hour.")
    answered = SupportIssueFactory.create(workspace=workspace, title="How do I export?", priority="high")
    add_staff_reply(issue=answered, staff=support_agent, body="Use the export button.")
    add_internal_note(issue=answered, staff=support_agent, body="Customer on pro, be nice.")
    SupportIssueFactory.create(workspace=workspace, title="Old question", status="closed", closed_at=now)

    ExportJob.objects.create(workspace=workspace, status=ExportStatus.FAILED, error_message="disk full")
    ExportJob.objects.create(
        workspace=workspace,
        status=ExportStatus.COMPLETED,
        file_name="exports/acme.zip",
        expires_at=now + timedelta(days=7),
        rows_done=10,
        rows_total=10,
    )
    ServiceProvisioning.objects.update_or_create(
        workspace=workspace,
        service="compute",
        defaults={"status": ProvisioningStatus.FAILED, "attempts": 5, "last_error": "quota exceeded upstream"},
    )
    today = now.date()
    DailyUsage.objects.bulk_create(
        [
            DailyUsage(
                workspace=workspace,
                metric=metric,
                day=today - timedelta(days=offset),
                value=value,
                last_event_at=now,
                updated_at=now,
            )
            for offset in range(30)
            for metric, value in (("records", 1000 + 50 * (30 - offset)), ("api_calls", 300), ("storage_bytes", 2**30))
        ]
    )
    QuotaAlert.objects.create(
        workspace=workspace,
        limit="api_calls_per_month",
        period_start=now - timedelta(days=10),
        threshold=80,
        used=Decimal(8000),
        limit_value=Decimal(10000),
    )
    StripeWebhookEvent.objects.create(
        stripe_event_id="evt_failed_1", type="invoice.payment_failed", workspace=workspace
    )
    return workspace


@pytest.fixture
def lean_invoice(paying_customer):
    """One of acme's invoices as a newer Stripe API version sends it: without the fields dj-stripe's
    properties read (paid, footer, ...)."""
    return paying_customer.lean_invoice


@pytest.fixture
def back_office(paying_customer, lean_invoice, superuser, support_agent, billing_agent):
    """Every kind of row the console shows, for several workspaces in several states."""
    suspended = WorkspaceFactory.create(name="Globex", slug="globex")
    workspace_services.suspend_workspace_by_staff(workspace=suspended, reason="Abuse report #42 under review")
    leaving = WorkspaceFactory.create(name="Initech", slug="initech")
    workspace_services.soft_delete_workspace(workspace=leaving)
    SupportIssueFactory.create(workspace=leaving, title="Please keep my data", priority="high")
    return {"customer": paying_customer, "suspended": suspended, "leaving": leaving, "invoice": lean_invoice}
