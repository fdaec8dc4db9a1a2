"""A billing agent reads a customer's billing in the browser and changes their plan, with a reason."""

from __future__ import annotations

import re

import pytest

from audit.models import AuditEvent
from billing.models import Plan
from billing.roles import sync_billing_group
from billing.selectors import customer_for
from tests.billing.helpers import subscribe
from tests.browser.helpers import sign_in
from tests.factories import WorkspaceFactory
from tests.helpers import client_for
from workspaces.models import Workspace

REASON = "Customer asked to downgrade by phone (ticket 4521)"


@pytest.mark.django_db(transaction=True)
def test_a_billing_agent_reads_a_customer_page_opens_an_invoice_and_changes_the_plan(
    page, expect, live_server, screenshots, staff_in, stripe_sandbox
):
    workspace = WorkspaceFactory.create(name="Globex", slug="globex")
    subscribe(client_for(workspace.owner), workspace, stripe_sandbox, plan="pro")  # a Visa card, a paid invoice
    customer = customer_for(workspace=workspace)
    assert customer is not None
    invoice = customer.invoices.get()
    agent = staff_in(sync_billing_group, username="bea", first_name="Bea", last_name="Billing")

    sign_in(page, agent, screenshots)
    screenshots.take(page, "dashboard")

    # From the dashboard's count of workspaces on the plan to the workspace, then its customer page.
    page.get_by_role("link", name="Plan pro: 1").click()
    page.locator("#result_list").get_by_role("link", name="globex").click()
    expect(page.locator(".customer-page")).to_have_attribute("data-workspace", "globex")
    expect(page.locator("#workspace-plan")).to_contain_text("Pro")
    expect(page.locator("#section-billing #cards")).to_contain_text("4242")
    expect(page.locator("#section-billing #subscription")).to_contain_text("active")
    invoices = page.locator("#customer-invoices")
    expect(invoices).to_contain_text(invoice.number or invoice.id)
    screenshots.take(page, "customer page")

    invoices.get_by_role("link", name=invoice.number or invoice.id).click()
    summary = page.locator("#invoice-summary")
    expect(summary).to_contain_text(invoice.id)
    expect(page.locator("#invoice-status")).to_have_text("paid")
    expect(page.locator("#hosted-invoice-link")).to_have_attribute("href", re.compile(r"^https://"))
    expect(page.locator("#invoice-lines tbody tr")).not_to_have_count(0)
    screenshots.take(page, "invoice")

    # Back to the customer page from the invoice, and the plan change: current plan preselected, a
    # reason, the proration Stripe would charge, then confirm.
    page.locator("#invoice-workspace").click()
    page.locator("#action-change-plan").click()
    plan_choice = page.get_by_label("Plan")
    expect(plan_choice).to_have_value(str(Plan.objects.get(code="pro").pk))
    plan_choice.select_option(value=str(Plan.objects.get(code="starter").pk))
    page.get_by_label("Reason").fill(REASON)
    page.get_by_role("button", name="Preview the proration").click()
    expect(page.locator("#proration-preview .proration-amount")).not_to_be_empty()
    screenshots.take(page, "change plan preview")

    page.get_by_role("button", name="Confirm plan change").click()
    expect(page.locator(".messagelist")).to_contain_text("now on 'starter'")
    screenshots.take(page, "plan changed")

    assert Workspace.objects.get(pk=workspace.pk).plan.code == "starter"
    change = AuditEvent.objects.filter(workspace_id=workspace.pk, type="plan.changed").latest("id")
    assert (change.actor_type, change.actor_id) == ("staff", str(agent.pk))
    assert REASON in change.summary
